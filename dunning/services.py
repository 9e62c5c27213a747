"""Collections' writes: each customer's account by age and credit standing refreshed from the
invoices, the nightly dunning run (each step once per past-due invoice), promises to pay kept or
broken, the contact log and collectors' tasks. Every change leaves history."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Case, Count, F, Min, Q, Sum, When
from django.utils import timezone

from billing.models import Invoice
from billing.models.invoice import RECEIVABLE_STATES
from core.deliveries import deliveries_enqueue, mail_enqueue, mail_message
from core.errors import ApplicationError, Conflict
from core.money import ZERO
from core.pgcopy import copy_history, update_rows
from core.roles import get_system_user
from orders.models import Customer
from receivables.models import Application

from .models import (
    CollectionAccount,
    CollectionContact,
    CollectionTask,
    ContactLog,
    CustomerStanding,
    DunningEvent,
    DunningPolicy,
    DunningStep,
    PromiseState,
    PromiseToPay,
    Standing,
    TaskState,
)

#: How much the customer's standing weighs on the worklist's order until the triage model gives
#: a predicted risk: a customer already late enough to be watched is likelier to stay late.
RISK_OF_STANDING = {
    Standing.OK: Decimal("1"),
    Standing.WATCH: Decimal("1.25"),
    Standing.BLOCKED: Decimal("1.5"),
}
#: A promise cannot be dated further out than this: beyond it, it is a payment plan.
PROMISE_HORIZON_DAYS = 90


#: An account's age columns: days past due, newest and oldest (None: no end), as
#: ``accounts_refresh`` sums open invoices into them and ``accounts_settle`` takes cash off.
AGE_COLUMNS = (
    ("days_1_30", 1, 30),
    ("days_31_60", 31, 60),
    ("days_61_90", 61, 90),
    ("days_over_90", 91, None),
)


def dunning_policy() -> DunningPolicy:
    return DunningPolicy.objects.order_by("pk").first() or DunningPolicy()


def _open_expression():
    return F("total") - F("settled_amount") - F("credited_amount")


def _standing_of(days: int, policy: DunningPolicy) -> str:
    if days > policy.block_after_days:
        return Standing.BLOCKED
    if days > policy.watch_after_days:
        return Standing.WATCH
    return Standing.OK


def account_score(past_due: Decimal, days: int, risk: Decimal, late_risk: Decimal) -> Decimal:
    """The worklist's order: past due × days past due × the standing's risk, raised by up to
    double by the chance the open invoices are paid late."""
    return (past_due * days * risk * (1 + late_risk)).quantize(Decimal("0.01"))


@transaction.atomic
def accounts_refresh(*, customer_ids=None, today: date | None = None, actor=None) -> dict:
    """Recompute what each customer owes by age (one grouped query over their open invoices) and
    their standing from the oldest past-due invoice: watch beyond the policy's watch days, blocked
    beyond its block days, OK again when paid up. ``customer_ids`` None: every customer. A
    standing that changes gets a history row saying why. Returns counts."""
    today = today or timezone.localdate()
    actor = actor or get_system_user()
    policy = dunning_policy()
    # The accounts first, locked in key order, then the invoices read: cash applied meanwhile
    # adjusts an account in its own transaction (``accounts_settle``), and one that committed
    # before this read is in it, one after waits for these rows and adjusts what is written.
    locked = CollectionAccount.objects.select_for_update().order_by("customer_id", "currency")
    if customer_ids is not None:
        locked = locked.filter(customer_id__any=sorted(customer_ids))
    list(locked.values_list("pk", flat=True))
    now = timezone.now()  # after the lock: the rows this refresh did not write are older
    open_ = _open_expression()
    invoices = Invoice.objects.filter(state__in=RECEIVABLE_STATES).annotate(open=open_)
    if customer_ids is not None:
        invoices = invoices.filter(customer_id__any=list(customer_ids))
    invoices = invoices.filter(open__gt=0)

    def due_between(newest: int, oldest: int | None):
        condition = Q(due_date__lte=today - timedelta(days=newest))
        if oldest is not None:
            condition &= Q(due_date__gte=today - timedelta(days=oldest))
        return Sum(Case(When(condition, then=F("open")), default=ZERO))

    rows = (
        invoices.values("customer_id", "currency")
        .annotate(
            open_amount=Sum("open"),
            past_due=Sum(Case(When(due_date__lt=today, then=F("open")), default=ZERO)),
            **{column: due_between(newest, oldest) for column, newest, oldest in AGE_COLUMNS},
            open_invoices=Count("pk"),
            oldest_due_on=Min("due_date", filter=Q(due_date__lt=today)),
        )
        .order_by()
    )
    worst_days: dict[int, int] = defaultdict(int)
    found = []
    for row in rows:
        oldest = row["oldest_due_on"]
        days = (today - oldest).days if oldest and row["past_due"] >= policy.minimum_past_due else 0
        worst_days[row["customer_id"]] = max(worst_days[row["customer_id"]], days)
        found.append((row, days))
    scope = set(customer_ids) if customer_ids is not None else None
    # Standings change under a lock, in customer order (two workers applying cash for the same
    # customers cannot deadlock); a missing row is first inserted or left to whoever inserted it.
    wanted = sorted(
        cid for cid, days in worst_days.items() if _standing_of(days, policy) != Standing.OK
    )
    if wanted:
        CustomerStanding.objects.bulk_create(
            [CustomerStanding(customer_id=cid, since=now) for cid in wanted],
            ignore_conflicts=True,
        )
    standings = {
        s.customer_id: s
        for s in CustomerStanding.objects.select_for_update()
        .filter(**({"customer_id__any": sorted(scope)} if scope is not None else {}))
        .order_by("customer_id")
    }
    # customers whose standing is not OK but who no longer owe anything past due come back
    for customer_id in standings:
        worst_days.setdefault(customer_id, 0)
    moved, older = [], []
    for customer_id, days in worst_days.items():
        status = _standing_of(days, policy)
        standing = standings.get(customer_id)
        if standing is None:
            continue  # OK, and never was otherwise: no row
        if standing.status == status:
            if standing.days_past_due != days:
                standing.days_past_due = days
                older.append(standing)  # a day older: no history event
            continue
        # (a row just inserted above says OK until here: its first history row is this change)
        standing.status, standing.since, standing.days_past_due = status, now, days
        standing._history_user = actor
        standing._change_reason = (
            f"{standing.get_status_display()}: oldest past-due invoice {days} days late "
            f"(watch after {policy.watch_after_days}, block after {policy.block_after_days})"
            if status != Standing.OK
            else "OK: nothing past due beyond the policy's days"
        )
        moved.append(standing)
    # set-wise: a first refresh moves thousands of customers at once
    CustomerStanding.objects.bulk_update(moved, ["status", "since", "days_past_due"], 2000)
    copy_history(CustomerStanding, moved, update=True, default_user=actor, default_date=now)
    CustomerStanding.objects.bulk_update(older, ["days_past_due"], batch_size=2000)
    # the payment-risk model's share stays as triage last wrote it (it is not in the upsert)
    known = CollectionAccount.objects.all()
    if scope is not None:
        known = known.filter(customer_id__any=list(scope))
    late_risks = {(c, cur): r for c, cur, r in known.values_list("customer_id", "currency",
                                                                 "late_risk")}  # fmt: skip
    accounts = []
    for row, days in found:
        risk = RISK_OF_STANDING[_standing_of(worst_days[row["customer_id"]], policy)]
        late = late_risks.get((row["customer_id"], row["currency"]), ZERO)
        accounts.append(
            CollectionAccount(
                customer_id=row["customer_id"],
                currency=row["currency"],
                open_amount=row["open_amount"],
                past_due=row["past_due"],
                days_1_30=row["days_1_30"],
                days_31_60=row["days_31_60"],
                days_61_90=row["days_61_90"],
                days_over_90=row["days_over_90"],
                open_invoices=row["open_invoices"],
                oldest_due_on=row["oldest_due_on"],
                days_past_due=days,
                risk=risk,
                score=account_score(row["past_due"], days, risk, late),
                refreshed_at=now,
            )
        )
    # upserted in key order (concurrent refreshes of one customer neither collide nor
    # deadlock), then the rows this refresh did not touch, of customers it covered, removed
    accounts.sort(key=lambda a: (a.customer_id, a.currency))
    CollectionAccount.objects.bulk_create(
        accounts,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["customer", "currency"],
        update_fields=_ACCOUNT_FIELDS,
    )
    stale = CollectionAccount.objects.filter(refreshed_at__lt=now)
    if scope is not None:
        stale = stale.filter(customer_id__any=list(scope))
    stale.delete()
    return {"accounts": len(accounts), "standings_changed": len(moved)}


@dataclass(frozen=True)
class Settled:
    """Cash settled on one invoice by the transaction at hand, as its customer's account counts
    it: ``amount`` (cash and discount) came off the invoice, which is ``still_open`` or not."""

    customer_id: int
    currency: str
    due_date: date
    amount: Decimal
    still_open: bool
    created_at: datetime


def _age_bucket(due_date: date, today: date) -> str | None:
    """The account's column an invoice due on ``due_date`` is aged in (as ``accounts_refresh``
    sums them); None when it is not past due."""
    days = (today - due_date).days
    for column, newest, oldest in AGE_COLUMNS:
        if days >= newest and (oldest is None or days <= oldest):
            return column
    return None


_SETTLED_FIELDS = [
    "open_amount",
    "past_due",
    "days_1_30",
    "days_31_60",
    "days_61_90",
    "days_over_90",
    "open_invoices",
    "score",
]


def accounts_settle(settled: list[Settled], *, today: date | None = None) -> set[int]:
    """Take cash just applied off its customers' accounts, in the applying transaction: each
    amount off what is owed, off its age column, and the invoices it paid off out of the count.
    Exact, and a few rows to write where ``accounts_refresh`` reads each customer's open
    invoices again (~95 a payer at the bench's full scale: a fifth of PostgreSQL's time in a run
    of bank files). Returns the customers this cannot settle exactly, for a refresh after the
    commit: an account missing or not refreshed today (its ages are another day's), an invoice
    newer than the account, and a standing that may move (the oldest past-due invoice paid off,
    or past due falling below the policy's minimum). Accounts are locked in key order."""
    if not settled:
        return set()
    today = today or timezone.localdate()
    by_account: dict[tuple[int, str], list[Settled]] = defaultdict(list)
    for item in settled:
        by_account[(item.customer_id, item.currency)].append(item)
    accounts = {
        (account.customer_id, account.currency): account
        for account in CollectionAccount.objects.select_for_update()
        .filter(customer_id__any=sorted({customer for customer, _ in by_account}))
        .order_by("customer_id", "currency")
    }
    minimum = dunning_policy().minimum_past_due
    refresh: set[int] = set()
    changed: dict[tuple[int, str], CollectionAccount] = {}
    for key, items in by_account.items():
        account = accounts.get(key)
        if (
            account is None
            or timezone.localtime(account.refreshed_at).date() != today
            or any(item.created_at > account.refreshed_at for item in items)
        ):
            refresh.add(key[0])
            continue
        values = {name: getattr(account, name) for name in _SETTLED_FIELDS}
        oldest_paid = False
        for item in items:
            values["open_amount"] -= item.amount
            column = _age_bucket(item.due_date, today)
            if column is not None:
                values[column] -= item.amount
                values["past_due"] -= item.amount
            if not item.still_open:
                values["open_invoices"] -= 1
                oldest_paid |= item.due_date == account.oldest_due_on
        days = account.days_past_due if values["past_due"] >= minimum else 0
        if (
            oldest_paid
            or days != account.days_past_due
            or min(v for name, v in values.items() if name != "score") < 0
        ):
            refresh.add(key[0])
            continue
        values["score"] = account_score(values["past_due"], days, account.risk, account.late_risk)
        for name, value in values.items():
            setattr(account, name, value)
        changed[key] = account
    # a customer refreshed after the commit is refreshed whole: its other currencies too
    kept = [a for key, a in sorted(changed.items()) if key[0] not in refresh]
    update_rows(CollectionAccount, [a for a in kept if a.open_invoices], _SETTLED_FIELDS)
    paid_up = [a.pk for a in kept if not a.open_invoices]  # as a refresh leaves them: no row
    if paid_up:
        CollectionAccount.objects.filter(pk__any=paid_up).delete()
    return refresh


_ACCOUNT_FIELDS = [
    "open_amount",
    "past_due",
    "days_1_30",
    "days_31_60",
    "days_61_90",
    "days_over_90",
    "open_invoices",
    "oldest_due_on",
    "days_past_due",
    "risk",
    "score",
    "refreshed_at",
]


def _letter(step: DunningStep, customer: Customer, invoices: list[Invoice]) -> str:
    owed = defaultdict(lambda: ZERO)
    for invoice in invoices:
        owed[invoice.currency] += invoice.open_amount
    amount = ", ".join(f"{total:,.2f} {currency}" for currency, total in sorted(owed.items()))
    numbers = ", ".join(invoice.number for invoice in invoices[:20])
    if len(invoices) > 20:
        numbers += f" and {len(invoices) - 20} more"
    try:
        return step.message.format(customer=customer.name, invoices=numbers, amount=amount)
    except (KeyError, IndexError, ValueError):  # a placeholder the admin mistyped
        return f"{step.message}\n\nInvoices: {numbers}. Amount: {amount}."


@transaction.atomic
def dunning_run(*, today: date | None = None) -> dict:
    """Take every active step that is due and not yet taken, once per past-due invoice: invoices
    of one customer reaching one step together get one reminder or one task. A reminder goes by
    email to the customer's collections contact and into the contact log; with no contact
    address, a task says so. Then promises are reviewed and accounts refreshed."""
    today = today or timezone.localdate()
    now = timezone.now()
    actor = get_system_user()
    counts = {"reminders": 0, "tasks": 0, "invoices": 0}
    steps = list(DunningStep.objects.filter(active=True).order_by("days_past_due"))
    open_ = _open_expression()
    mails = []
    for step in steps:
        due = (
            Invoice.objects.filter(
                state__in=RECEIVABLE_STATES,
                due_date__lte=today - timedelta(days=step.days_past_due),
            )
            .annotate(open=open_)
            .filter(open__gt=0)
            .exclude(dunning_events__step=step)
            .select_related("customer")
            .order_by("customer_id", "due_date", "pk")
        )
        by_customer: dict[int, list[Invoice]] = defaultdict(list)
        for invoice in due:
            by_customer[invoice.customer_id].append(invoice)
        contacts = (
            CollectionContact.objects.in_bulk(list(by_customer), field_name="customer_id")
            if by_customer
            else {}
        )
        events = []
        for customer_id, invoices in by_customer.items():
            customer = invoices[0].customer
            text = _letter(step, customer, invoices)
            contact = contacts.get(customer_id)
            if step.action == DunningStep.Action.REMINDER and contact and contact.email:
                _logged(
                    customer_id=customer_id,
                    channel=ContactLog.Channel.REMINDER,
                    summary=f"{step.name} sent to {contact.email}:\n{text}",
                    actor=actor,
                    at=now,
                    reason=f"Dunning step {step.name}",
                )
                mails.append(
                    mail_message(
                        to=contact.email, subject=f"{step.name}: {customer.name}", body=text
                    )
                )
                outcome = f"reminder sent to {contact.email}"
                counts["reminders"] += 1
            else:
                kind = (
                    CollectionTask.Kind.DUNNING
                    if step.action == DunningStep.Action.TASK
                    else CollectionTask.Kind.NO_CONTACT
                )
                if kind == CollectionTask.Kind.NO_CONTACT:
                    text = (
                        f"{step.name}: no collections contact with an email to send it to.\n{text}"
                    )
                task = CollectionTask(
                    customer=customer, kind=kind, text=text, due_on=today, created_at=now
                )
                task._history_user, task._change_reason = actor, f"Dunning step {step.name}"
                task.save()
                outcome = f"task {task.pk} created"
                counts["tasks"] += 1
            for invoice in invoices:
                events.append(
                    DunningEvent(
                        step=step,
                        invoice=invoice,
                        customer=customer,
                        taken_at=now,
                        days_past_due=(today - invoice.due_date).days,
                        outcome=outcome,
                    )
                )
        DunningEvent.objects.bulk_create(events, ignore_conflicts=True)
        counts["invoices"] += len(events)
    # Letters are deliveries written with the run: sent after commit, retried, never dropped.
    deliveries_enqueue(mails)
    counts |= promises_review(today=today)
    counts |= accounts_refresh(today=today, actor=actor)
    return counts


def _paid_since(promise: PromiseToPay) -> Decimal:
    return (
        Application.objects.filter(
            invoice__customer_id=promise.customer_id,
            invoice__currency=promise.currency,
            applied_at__gte=promise.created_at,
            reversed_at__isnull=True,
        ).aggregate(paid=Sum("amount"))["paid"]
        or ZERO
    )


@transaction.atomic
def promises_review(*, today: date | None = None, customer_ids=None) -> dict:
    """Open promises: kept once the cash applied to the customer's invoices since the promise
    reaches its amount; broken when its date has passed short of that, which opens a task."""
    today = today or timezone.localdate()
    now = timezone.now()
    actor = get_system_user()
    promises = (
        PromiseToPay.objects.select_for_update(of=("self",))
        .filter(state=PromiseState.OPEN)
        .order_by("pk")  # locked in one order: concurrent reviews cannot deadlock
    )
    if customer_ids is not None:
        promises = promises.filter(customer_id__any=list(customer_ids))
    kept = broken = 0
    for promise in promises.select_related("customer"):
        paid = _paid_since(promise)
        promise.paid_amount = paid
        if paid >= promise.amount:
            promise.state, promise.settled_at = PromiseState.KEPT, now
            promise._change_reason = f"Kept: {paid:,.2f} {promise.currency} applied since"
            kept += 1
        elif promise.promised_for < today:
            promise.state, promise.settled_at = PromiseState.BROKEN, now
            promise._change_reason = (
                f"Broken: {paid:,.2f} of {promise.amount:,.2f} {promise.currency} by "
                f"{promise.promised_for:%Y-%m-%d}"
            )
            task = CollectionTask(
                customer=promise.customer,
                kind=CollectionTask.Kind.BROKEN_PROMISE,
                text=(
                    f"{promise.customer.name} promised {promise.amount:,.2f} {promise.currency} "
                    f"by {promise.promised_for:%Y-%m-%d}; {paid:,.2f} came. Call them."
                ),
                due_on=today,
                created_at=now,
                promise=promise,
            )
            task._history_user, task._change_reason = actor, "Promise to pay broken"
            task.save()
            broken += 1
        else:
            continue
        promise._history_user = actor
        promise.save()
    return {"promises_kept": kept, "promises_broken": broken}


@transaction.atomic
def promise_create(
    *, actor, customer_id: int, amount: Decimal, currency: str, promised_for: date, note: str = ""
) -> PromiseToPay:
    today = timezone.localdate()
    if amount is None or amount <= 0:
        raise ApplicationError("A promise is for an amount above zero.", {"field": "amount"})
    if promised_for < today:
        raise ApplicationError(
            f"A promise is for today or later, not {promised_for:%Y-%m-%d}.",
            {"field": "promised_for"},
        )
    if promised_for > today + timedelta(days=PROMISE_HORIZON_DAYS):
        raise ApplicationError(
            f"A promise is for the next {PROMISE_HORIZON_DAYS} days; a later date is a payment "
            "plan.",
            {"field": "promised_for"},
        )
    owed = CollectionAccount.objects.filter(customer_id=customer_id, currency=currency).first()
    if owed is not None and amount > owed.open_amount:
        raise ApplicationError(
            f"{amount:,.2f} {currency} is more than the {owed.open_amount:,.2f} {currency} the "
            "customer owes.",
            {"field": "amount"},
        )
    promise = PromiseToPay(
        customer_id=customer_id,
        amount=amount,
        currency=currency,
        promised_for=promised_for,
        note=note.strip(),
        created_at=timezone.now(),
        created_by=actor,
    )
    promise._history_user, promise._change_reason = actor, "Promise to pay logged"
    promise.save()
    _logged(
        customer_id=customer_id,
        channel=ContactLog.Channel.PHONE,
        summary=f"Promised {amount:,.2f} {currency} by {promised_for:%Y-%m-%d}."
        + (f" {promise.note}" if promise.note else ""),
        actor=actor,
        at=promise.created_at,
        reason="Promise to pay logged",
    )
    return promise


def customer_notify(*, customer_id: int, subject: str, text: str, actor=None) -> str:
    """Tell the customer of a decision: mailed after commit to their collections contact and
    logged as a notice; with no address, a task for a collector to tell them. Says which."""
    actor = actor or get_system_user()
    now = timezone.now()
    contact = CollectionContact.objects.filter(customer_id=customer_id).first()
    if contact and contact.email:
        _logged(
            customer_id=customer_id,
            channel=ContactLog.Channel.NOTICE,
            summary=f"{subject} (sent to {contact.email}):\n{text}",
            actor=actor,
            at=now,
            reason=subject,
        )
        mail_enqueue(to=contact.email, subject=subject, body=text)
        return f"mailed to {contact.email}"
    task = CollectionTask(
        customer_id=customer_id,
        kind=CollectionTask.Kind.NOTICE,
        text=f"{subject}: no collections contact with an email; tell them.\n{text}",
        due_on=timezone.localdate(),
        created_at=now,
    )
    task._history_user, task._change_reason = actor, subject
    task.save()
    return "task for a collector"


def _logged(*, customer_id: int, channel: str, summary: str, actor, at, reason: str):
    """A contact log entry, its history row naming who and why."""
    entry = ContactLog(customer_id=customer_id, channel=channel, summary=summary, at=at, by=actor)
    entry._history_user, entry._change_reason = actor, reason
    entry.save()
    return entry


def contact_log(*, actor, customer_id: int, channel: str, summary: str) -> ContactLog:
    summary = (summary or "").strip()
    if not summary:
        raise ApplicationError("Say what was discussed.", {"field": "summary"})
    if channel not in ContactLog.Channel.values or channel == ContactLog.Channel.REMINDER:
        raise ApplicationError("Pick how you were in touch.", {"field": "channel"})
    return _logged(
        customer_id=customer_id,
        channel=channel,
        summary=summary,
        actor=actor,
        at=timezone.now(),
        reason="Contact logged",
    )


@transaction.atomic
def task_complete(*, actor, task_id: int, note: str) -> CollectionTask:
    note = (note or "").strip()
    if not note:
        raise ApplicationError("Say what was done.", {"field": "note"})
    task = CollectionTask.objects.select_for_update().filter(pk=task_id).first()
    if task is None:
        raise ApplicationError("No such task.")
    if task.state != TaskState.OPEN:
        who = task.done_by.get_username() if task.done_by else "someone"
        raise Conflict(f"Task {task.pk} was already done by {who}.")
    task.state, task.done_at, task.done_by, task.done_note = (
        TaskState.DONE,
        timezone.now(),
        actor,
        note,
    )
    task._history_user, task._change_reason = actor, f"Done: {note}"
    task.save()
    return task
