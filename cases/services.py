"""Every write on cases: deductions opened from a payment's short applications, disputes opened
by customer service, claims, notes, and resolutions (a credit memo, the amount left owed, or a
write-off) with their root cause. Each locked, audited and checked against the user's queues."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import FINAL_STATES, CreditReason, Invoice, InvoiceLine
from billing.services import credit_memo_create, credit_memo_tier
from core.audit import save_audited
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.mentions import mentioned_colleagues
from core.models import NoticeKind
from core.money import ZERO, round_money
from core.pgcopy import copy_create, copy_history
from core.roles import Role, get_system_user, has_role, is_model_user, is_system_user
from core.uploads import check_upload
from receivables.models import Application, Payment
from receivables.services import write_off_create

from .models import (
    ACTIVE_STATES,
    OPEN_STATES,
    Case,
    CaseAttachment,
    CaseNote,
    CaseReason,
    CaseState,
    Category,
    RootCause,
)
from .selectors import (
    CREDIT_APPROVER_ROLES,
    DISPUTE_ROLES,
    case_queues_for_user,
    cases_for_user,
    customer_of_login,
    other_reason,
    reasons_for_codes,
)
from .signals import customer_to_be_told

_CONFLICT = "Someone else changed this case a moment ago; reload to see it."


class Outcome:
    VALID = "valid"  # credited in full
    PARTLY = "partly"  # part credited, the rest still owed
    INVALID = "invalid"  # the customer still owes it all
    WRITTEN_OFF = "written_off"

    choices = [
        (VALID, "Valid: credit memo"),
        (PARTLY, "Partly valid: credit part, the rest stays owed"),
        (INVALID, "Invalid: the customer still owes it"),
        (WRITTEN_OFF, "Write off"),
    ]


def credit_reason_of(category: str) -> str:
    """The credit memo's reason code for a case of ``category`` (the codes share their names;
    an unauthorised deduction credited anyway is booked as "other")."""
    return category if category in CreditReason.values else CreditReason.OTHER


def _note(case: Case, author, text: str, at=None) -> CaseNote:
    return save_audited(
        CaseNote(case=case, author=author, text=text, created_at=at or timezone.now()),
        actor=author,
        reason="Note added",
        conflict=_CONFLICT,
    )


def _case(
    *,
    actor,
    kind: str,
    invoice,
    amount: Decimal,
    reason: CaseReason,
    code: str,
    now,
    payment: Payment | None = None,
    application: Application | None = None,
) -> Case:
    """A new case about ``invoice``, unsaved: routed to its reason's queue, due by its SLA."""
    return Case(
        kind=kind,
        customer_id=invoice.customer_id,
        invoice=invoice,
        payment=payment,
        application=application,
        amount=amount,
        currency=invoice.currency,
        reason=reason,
        remittance_code=code[:32],
        queue=reason.queue,
        opened_at=now,
        opened_by=actor,
        due_at=now + timedelta(hours=reason.sla_hours),
        correlation_id=invoice.correlation_id,
    )


def _open(*, actor, note: str, **case) -> Case:
    """A new case (``_case``'s arguments) saved with its history, and ``note`` as its first."""
    now = timezone.now()
    opened = _case(actor=actor, now=now, **case)
    save_audited(opened, actor=actor, reason=note.splitlines()[0][:100], conflict=_CONFLICT)
    _note(opened, actor, note, now)
    return opened


def cases_from_payment(payment: Payment, applications: list[Application] | None = None) -> list:
    """Open a deduction for every live application of ``payment`` the customer paid short (one
    case per application: a repeat opens nothing). See ``deductions_open``."""
    if applications is None:
        applications = list(payment.applications.filter(reversed_at__isnull=True))
    return deductions_open([(payment, applications)])


def deductions_open(applied: list[tuple[Payment, list[Application]]]) -> list[Case]:
    """The deductions of payments applied together: one case per live application paid short
    that has none yet, each with its opening note, written set-wise (a few queries for a bank
    file's shorts, not a dozen each). The reason is what the customer's code is mapped to; a code
    nobody mapped opens the case under "other", naming the code."""
    short = [
        (payment, application)
        for payment, applications in applied
        for application in applications
        if application.short_amount > 0 and application.reversed_at is None
    ]
    if not short:
        return []
    already = set(
        Case.objects.filter(application_id__any=[a.pk for _, a in short]).values_list(
            "application_id", flat=True
        )
    )
    short = [(payment, a) for payment, a in short if a.pk not in already]
    if not short:
        return []
    actor = get_system_user()
    # the invoices the applications were made with (cash applied them under lock just now);
    # read only for an application given without its invoice
    invoices = {a.invoice_id: a.invoice for _, a in short if Application.invoice.is_cached(a)}
    invoices |= Invoice.objects.in_bulk({a.invoice_id for _, a in short} - set(invoices))
    reasons = reasons_for_codes(
        {(invoices[a.invoice_id].customer_id, a.short_reason) for _, a in short}
    )
    other = None
    now = timezone.now()
    cases, notes = [], []
    for payment, application in short:
        invoice = invoices[application.invoice_id]
        code = application.short_reason
        reason = reasons.get((invoice.customer_id, code))
        deduction = (
            f"Deduction of {application.short_amount:,.2f} {invoice.currency} on {invoice.number}"
        )
        if reason is not None:
            note = f"{deduction}, code {code}: {reason.name}."
        else:
            reason = other = other or other_reason()
            note = (
                f"{deduction}: "
                + (f"code {code} is not mapped" if code else "no reason code given")
                + "; map it in admin (reason code mappings) to route such cases."
            )
        case = _case(
            actor=actor,
            kind=Case.Kind.DEDUCTION,
            invoice=invoice,
            amount=application.short_amount,
            reason=reason,
            code=code,
            now=now,
            payment=payment,
            application=application,
        )
        case._change_reason = note.splitlines()[0][:100]
        cases.append(case)
        notes.append(note)
    copy_create(Case, cases)
    copy_history(Case, cases, default_user=actor, default_date=now, stored=True)
    # made once the cases have their ids (a note made with an unsaved case keeps no case id)
    notes = [
        CaseNote(case=case, author=actor, text=text, created_at=now)
        for case, text in zip(cases, notes, strict=True)
    ]
    copy_create(CaseNote, notes)
    copy_history(
        CaseNote,
        notes,
        default_user=actor,
        default_date=now,
        default_change_reason="Note added",
        stored=True,
    )
    return cases


def case_withdraw_for_application(application: Application) -> Case | None:
    """The short application a deduction came from was reversed: its case, if still undecided,
    is withdrawn (a re-application opens a new one); a decided case keeps its outcome."""
    case = (
        Case.objects.select_for_update(of=("self",))
        .filter(application_id=application.pk, state__in=ACTIVE_STATES)
        .first()
    )
    if case is None:
        return None
    actor = get_system_user()
    case.withdraw(at=timezone.now())
    save_audited(case, actor=actor, reason="Application reversed", conflict=_CONFLICT)
    _note(
        case,
        actor,
        f"Withdrawn: the payment's application to {case.invoice.number} "
        f"was reversed ({application.reversal_reason}).",
    )
    return case


@transaction.atomic
def dispute_open(*, actor, invoice_id: int, amount: Decimal, reason_code: str, note: str) -> Case:
    """Customer service opens a dispute from a customer's complaint about an invoice, or the
    customer raises one through the API with its customer login (on its own invoices)."""
    from billing.selectors import invoices_for_user

    note = require_reason(note)
    customer = customer_of_login(actor)
    if customer is not None:  # the customer itself, through the API: its own invoices only
        invoice = Invoice.objects.filter(
            customer=customer, pk=invoice_id, state__in=FINAL_STATES
        ).first()
    elif is_system_user(actor) or has_role(actor, *DISPUTE_ROLES):
        invoice = invoices_for_user(actor).filter(pk=invoice_id).first()
    else:
        raise PermissionDenied("Disputes are opened by customer service.")
    if invoice is None:
        raise ApplicationError("No such invoice.", {"field": "invoice"})
    if amount is None or amount <= 0:
        raise ApplicationError("A dispute's amount must be more than zero.", {"field": "amount"})
    if amount > invoice.open_amount:
        raise ApplicationError(
            f"{amount:,.2f} is more than the {invoice.open_amount:,.2f} {invoice.currency} still "
            f"owed on {invoice.number}.",
            {"field": "amount"},
        )
    reason = CaseReason.objects.filter(code=reason_code).first()
    if reason is None:
        raise ApplicationError("Choose a reason.", {"field": "reason"})
    return _open(
        actor=actor,
        kind=Case.Kind.DISPUTE,
        invoice=invoice,
        amount=amount,
        reason=reason,
        code="",
        note=(
            f"Dispute raised by the customer through the API ({actor.get_username()}): {note}"
            if customer is not None
            else f"Dispute opened by {actor.get_username()}: {note}"
        ),
    )


def _lock(actor, case_id: int) -> Case:
    if not case_queues_for_user(actor):
        raise PermissionDenied("Cases are worked by the team that owns their queue.")
    case = cases_for_user(actor).select_for_update(of=("self",)).filter(pk=case_id).first()
    if case is None:
        raise PermissionDenied("No such case in your queues.", {"case_id": case_id})
    return case


def _still_open(case: Case) -> None:
    if case.state not in OPEN_STATES:
        who = case.resolved_by.get_username() if case.resolved_by else "someone"
        raise Conflict(
            f"This case is already {case.get_state_display().lower()} (by {who}); nothing was "
            "changed.",
            {"state": case.state},
        )


@transaction.atomic
def case_claim(*, actor, case_id: int) -> Case:
    case = _lock(actor, case_id)
    if case.state == CaseState.CLAIMED:
        raise Conflict(
            f"{case.claimed_by.get_username() if case.claimed_by else 'Someone'} claimed this "
            "case already; nothing was changed."
        )
    _still_open(case)
    case.claim(by=actor, at=timezone.now())
    return save_audited(
        case, actor=actor, reason=f"Claimed by {actor.get_username()}", conflict=_CONFLICT
    )


def _route(case: Case, *, actor, reason_code: str, note: str) -> Case:
    reason = CaseReason.objects.filter(code=reason_code).first()
    if reason is None:
        raise ApplicationError("Choose a reason.", {"field": "reason"})
    if reason.pk == case.reason_id:
        raise Conflict(f"This case is under “{reason.name}” already; nothing was changed.")
    was = case.reason.name
    now = timezone.now()
    case.route(reason=reason, at=now)
    save_audited(
        case,
        actor=actor,
        reason=f"Routed from {was} to {reason.name} by {_who(actor)}: {note}",
        conflict=_CONFLICT,
    )
    _note(case, actor, f"Routed from {was} to {reason.name}: {note}", now)
    _tell(
        _queue_people(case),
        f"{case.get_kind_display()} {case.pk} ({case.amount:,.2f} {case.currency} on "
        f"{case.invoice.number}) was routed to {case.get_queue_display().lower()} by "
        f"{_who(actor)}: {note}",
        kind=NoticeKind.ASSIGNMENT,
        actor=actor,
    )
    return case


def _queue_people(case: Case) -> list:
    """Who owns a case routed to its queue: the active people of the queue's role who may open
    it (their territories)."""
    people = get_user_model().objects.filter(groups__name=case.queue, is_active=True)
    return [p for p in people if cases_for_user(p).filter(pk=case.pk).exists()]


def _tell(people: list, message: str, *, kind: str, actor) -> None:
    from exceptions.notifications import notify_people

    notify_people(people, message, kind=kind, actor=actor)


def _who(user) -> str:
    return user.get_full_name() or user.get_username()


@transaction.atomic
def case_route(*, actor, case_id: int, reason_code: str, note: str) -> Case:
    """A person moves an open case to another reason and its queue (where it waits unclaimed,
    due by that reason's SLA); a model's routing is undone the same way."""
    note = require_reason(note)
    case = _lock(actor, case_id)
    _still_open(case)
    return _route(case, actor=actor, reason_code=reason_code, note=note)


@transaction.atomic
def case_auto_route(*, actor, case_id: int, reason_code: str, note: str) -> Case:
    """A model in act mode routes a case its customer's code did not route (it waits under
    "other"), and only while nobody has claimed it. Anything else is refused, changing nothing."""
    if not is_model_user(actor):
        raise PermissionDenied("Only a model in act mode routes cases automatically.")
    note = require_reason(note)
    case = (
        Case.objects.select_for_update(of=("self",)).select_related("reason")
        .filter(pk=case_id).first()
    )  # fmt: skip
    if case is None:
        raise PermissionDenied("No such case.", {"case_id": case_id})
    if case.state != CaseState.OPEN:
        raise Conflict(f"Not routed: it is {case.get_state_display().lower()}: a person has it.")
    if case.reason.category != Category.OTHER:
        raise Conflict(f"Not routed: its code routed it to “{case.reason.name}” already.")
    return _route(case, actor=actor, reason_code=reason_code, note=note)


@transaction.atomic
def case_note_add(*, actor, case_id: int, text: str) -> CaseNote:
    """A note on a case; each colleague it @-mentions (who may open the case) is told, in the
    app and by mail after commit. A mention of someone who could not read it saves nothing."""
    from exceptions.notifications import notify_people

    text = require_reason(text)
    case = _lock(actor, case_id)
    people = mentioned_colleagues(
        text,
        actor=actor,
        can_see=lambda user: cases_for_user(user).filter(pk=case.pk).exists(),
        where=f"case {case.pk}",
    )
    note = _note(case, actor, text)
    if people:
        excerpt = text if len(text) <= 160 else f"{text[:157]}..."
        notify_people(
            people,
            f"{_who(actor)} mentioned you on case {case.pk}: {excerpt}",
            kind=NoticeKind.MENTION,
            actor=actor,
        )
    note.told = people
    return note


#: What may be attached to a case: documents, images, spreadsheets and mail, by extension.
ATTACHMENT_TYPES = frozenset(
    {
        "pdf",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "tif",
        "tiff",
        "csv",
        "txt",
        "xlsx",
        "xls",
        "docx",
        "eml",
        "msg",
    }
)


@transaction.atomic
def case_attach(*, actor, case_id: int, upload) -> CaseAttachment:
    """Add a file to a case (its queue's people, while it is active or closed alike). Refused,
    storing nothing, when empty, too large, of a type not listed, or not what its name says."""
    case = _lock(actor, case_id)
    checked = check_upload(
        upload, allowed=ATTACHMENT_TYPES, limit=settings.O2C_ATTACHMENT_MAX_BYTES, where="cases"
    )
    name = checked.name
    attachment = CaseAttachment(
        case=case,
        name=name,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    attachment.file.save(checked.stored_name(), upload, save=False)
    try:
        save_audited(attachment, actor=actor, reason=f"Attached {name}", conflict=_CONFLICT)
        _note(case, actor, f"Attached {name} ({upload.size:,} bytes).")
    except Exception:
        # no row points at the file: remove it (a rollback after this returns leaves an
        # unlinked file behind, which nothing can reach)
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


def credit_value(invoice_id: int, quantities: dict[int, Decimal]) -> Decimal:
    """What crediting ``quantities`` of the invoice's lines comes to, tax included, priced as
    billing prices a credit memo (a line's whole remainder credits its exact remaining amount);
    zero for no quantities. A case's agreed amount and a return's receipt are checked with it."""
    total = ZERO
    if not quantities:
        return total
    lines = InvoiceLine.objects.filter(invoice_id=invoice_id, pk__in=list(quantities)).annotate(
        credited_qty=Sum("credit_lines__quantity"),
        credited_amount=Sum("credit_lines__amount"),
        credited_tax=Sum("credit_lines__tax_amount"),
    )
    for line in lines:
        quantity = quantities[line.pk] or ZERO
        left_amount = line.amount - (line.credited_amount or ZERO)
        left_tax = line.tax_amount - (line.credited_tax or ZERO)
        if quantity >= line.quantity - (line.credited_qty or ZERO):
            total += left_amount + left_tax
        else:
            amount = min(round_money(quantity * line.unit_price), left_amount)
            total += amount + min(round_money(amount * line.tax_rate), left_tax)
    return total


def _require_root_cause(root_cause: str, note: str) -> tuple[str, str]:
    if root_cause not in RootCause.values:
        raise ApplicationError("Choose the root cause.", {"field": "root_cause"})
    if root_cause == RootCause.OTHER and not (note or "").strip():
        raise ApplicationError("Say what caused it.", {"field": "note"})
    return root_cause, (note or "").strip()


@transaction.atomic
def case_resolve(
    *,
    actor,
    case_id: int,
    outcome: str,
    amount: Decimal | None,
    root_cause: str,
    note: str,
    quantities: dict[int, Decimal] | None = None,
) -> Case:
    """Close a case with its root cause.

    - valid / partly: a credit memo of ``quantities`` (invoice line id -> quantity) for the
      agreed ``amount``; refused with the numbers when the amount is above the case's, or the
      memo would credit more than the amount agreed. Valid credits the whole case; partly
      credits less and the rest stays owed on the invoice.
    - invalid: nothing is credited, the amount stays owed; ``note`` (what the customer was told)
      is required.
    - written off: a write-off of ``amount`` (the case's by default) through cash application's
      write-off, under its maker-checker above the cash policy's limit."""
    root_cause, text = _require_root_cause(root_cause, note)
    case = _lock(actor, case_id)
    _still_open(case)
    now = timezone.now()
    who = actor.get_username()
    closing = {"by": actor, "at": now, "root_cause": root_cause, "text": text}
    if outcome == Outcome.INVALID:
        if not text:
            raise ApplicationError("Say what the customer was told.", {"field": "note"})
        case.resolve_invalid(amount=ZERO, **closing)
        save_audited(case, actor=actor, reason=f"Invalid, by {who}", conflict=_CONFLICT)
        _note(
            case,
            actor,
            f"Invalid: charged back to {case.invoice.number}, where the customer still owes "
            f"{case.amount:,.2f} {case.currency} (collections follows it up). Customer told "
            f"why: {text}",
            now,
        )
        customer_to_be_told.send(
            sender=Case,
            customer_id=case.customer_id,
            subject=f"Deduction on {case.invoice.number} not accepted",
            text=f"The {case.amount:,.2f} {case.currency} deducted from invoice "
            f"{case.invoice.number} ({case.reason.name.lower()}) was not accepted: {text}\n"
            f"It remains due on {case.invoice.number}.",
        )
        return case
    amount = case.amount if amount is None and outcome != Outcome.PARTLY else amount
    if amount is None or amount <= 0:
        raise ApplicationError("Enter the amount agreed.", {"field": "amount"})
    if amount > case.amount:
        raise ApplicationError(
            f"{amount:,.2f} is more than this case allows: {case.amount:,.2f} {case.currency}.",
            {"field": "amount", "allowed": str(case.amount)},
        )
    if outcome == Outcome.WRITTEN_OFF:
        write_off = write_off_create(
            actor=actor,
            invoice_id=case.invoice_id,
            amount=amount,
            reason=f"Case {case.pk} ({case.reason.name}): {text or root_cause}",
            payment_id=case.payment_id,
        )
        case.write_off = write_off
        case.resolve_written_off(amount=amount, **closing)
        save_audited(case, actor=actor, reason=f"Written off by {who}", conflict=_CONFLICT)
        pending = write_off.state == write_off.State.PENDING
        _note(
            case,
            actor,
            f"Write-off of {amount:,.2f} {case.currency}"
            + (" waits for a second person (above the cash policy's limit)." if pending else "."),
            now,
        )
        return case
    if outcome not in (Outcome.VALID, Outcome.PARTLY):
        raise ApplicationError("Choose an outcome.", {"field": "outcome"})
    if outcome == Outcome.VALID and amount != case.amount:
        raise ApplicationError(
            f"A valid case credits its whole {case.amount:,.2f} {case.currency}; for "
            f"{amount:,.2f} choose partly valid.",
            {"field": "outcome"},
        )
    if outcome == Outcome.PARTLY and amount >= case.amount:
        raise ApplicationError(
            f"Partly valid credits less than the case's {case.amount:,.2f}; choose valid.",
            {"field": "outcome"},
        )
    quantities = quantities or {}
    credit = credit_value(case.invoice_id, quantities)
    if credit > amount:
        raise ApplicationError(
            f"Those quantities credit {credit:,.2f}, more than the {amount:,.2f} "
            f"{case.currency} agreed; nothing was credited.",
            {"field": "lines", "credited": str(credit), "agreed": str(amount)},
        )
    tier = credit_memo_tier(credit)
    if tier:
        case.propose_credit(
            by=actor,
            proposal={
                "outcome": outcome,
                "amount": str(amount),
                "quantities": {str(k): str(v) for k, v in quantities.items()},
                "root_cause": root_cause,
                "note": text,
                "credit": str(credit),
                "tier": tier,
            },
        )
        save_audited(case, actor=actor, reason=f"Credit proposed by {who}", conflict=_CONFLICT)
        _note(
            case,
            actor,
            f"Credit of {credit:,.2f} {case.currency} agreed by {who}; it waits for "
            + ("a second person" if tier == 1 else "two more people")
            + f" in finance (credit memo tier {tier}).",
            now,
        )
        return case
    return _credit(
        case, actor=actor, agreed_by=actor, outcome=outcome, quantities=quantities, closing=closing
    )


def _credit(case: Case, *, actor, agreed_by, outcome: str, quantities: dict, closing: dict) -> Case:
    """Issue the credit memo of ``quantities`` and close the case valid or partly. The memo is
    issued on the case's authority by the system identity (billing lets only finance issue
    memos by hand); its reason names who agreed it."""
    text = closing["text"]
    memo = credit_memo_create(
        invoice_id=case.invoice_id,
        actor=get_system_user(),
        quantities=quantities,
        reason_code=credit_reason_of(case.reason.category),
        reason=f"Case {case.pk} ({case.reason.name}) {outcome}, agreed by "
        f"{agreed_by.get_username()}: {text or RootCause(closing['root_cause']).label}",
    )
    case.credit_memo = memo
    if outcome == Outcome.VALID:
        case.resolve_valid(amount=memo.total, **closing)
    else:
        case.resolve_partly(amount=memo.total, **closing)
    save_audited(
        case,
        actor=actor,
        reason=f"{case.get_state_display()}, by {actor.get_username()}",
        conflict=_CONFLICT,
    )
    rest = case.amount - memo.total
    _note(
        case,
        actor,
        f"Credited {memo.total:,.2f} {case.currency} by {memo.number}"
        + (f"; {rest:,.2f} stays owed on {case.invoice.number}." if rest > 0 else "."),
        closing["at"],
    )
    return case


def _lock_awaiting(actor, case_id: int) -> Case:
    if not has_role(actor, *CREDIT_APPROVER_ROLES):
        raise PermissionDenied("Credits above the policy's limit are approved by finance.")
    case = cases_for_user(actor).select_for_update(of=("self",)).filter(pk=case_id).first()
    if case is None:
        raise PermissionDenied("No such case.", {"case_id": case_id})
    if case.state != CaseState.AWAITING:
        raise Conflict(
            f"This case is {case.get_state_display().lower()}: no credit waits for approval; "
            "nothing was changed.",
            {"state": case.state},
        )
    return case


@transaction.atomic
def case_credit_approve(*, actor, case_id: int, reason: str) -> Case:
    """Maker-checker: a second person (never the one who agreed the credit, superusers too)
    issues the credit memo as proposed and closes the case."""
    reason = require_reason(reason)
    case = _lock_awaiting(actor, case_id)
    if case.proposed_by_id == actor.pk:
        raise PermissionDenied("You agreed this credit; someone else must approve it.")
    if case.first_approver_id == actor.pk:
        raise PermissionDenied("You gave the first approval; someone else must give the second.")
    proposal = case.proposal
    proposer = case.proposed_by
    if proposal.get("tier", 1) >= 2 and case.first_approver_id is None:
        case.first_approver = actor
        save_audited(
            case,
            actor=actor,
            reason=f"First approval by {actor.get_username()}",
            conflict=_CONFLICT,
        )
        _note(
            case,
            actor,
            f"First approval by {actor.get_username()}: {reason}. A credit of "
            f"{Decimal(proposal['credit']):,.2f} {case.currency} (tier 2) needs a second "
            "approver.",
        )
        _tell_proposer(case, actor, "had its first of two approvals", reason)
        return case
    _note(case, actor, f"Credit approved by {actor.get_username()}: {reason}")
    _tell_proposer(case, actor, "was approved", reason)
    return _credit(
        case,
        actor=actor,
        agreed_by=proposer,
        outcome=proposal["outcome"],
        quantities={int(k): Decimal(v) for k, v in proposal["quantities"].items()},
        closing={
            "by": proposer,
            "at": timezone.now(),
            "root_cause": proposal["root_cause"],
            "text": proposal["note"],
        },
    )


@transaction.atomic
def case_credit_reject(*, actor, case_id: int, reason: str) -> Case:
    """The credit is not approved: the case goes back to the person who proposed it."""
    reason = require_reason(reason)
    case = _lock_awaiting(actor, case_id)
    case.reject_credit()
    save_audited(
        case, actor=actor, reason=f"Credit rejected by {actor.get_username()}", conflict=_CONFLICT
    )
    _note(case, actor, f"Credit rejected by {actor.get_username()}: {reason}")
    _tell_proposer(case, actor, "was rejected; the case is back with you", reason)
    return case


def _tell_proposer(case: Case, actor, outcome: str, reason: str) -> None:
    """Maker-checker: the person who agreed a credit hears what the approver decided."""
    _tell(
        [case.proposed_by],
        f"The credit you agreed on {case.get_kind_display().lower()} {case.pk} ({case.invoice.number}) "
        f"{outcome} by {_who(actor)}: {reason}",
        kind=NoticeKind.APPROVAL,
        actor=actor,
    )


def cases_escalate_overdue(*, now=None) -> int:
    """Beat task body: raise each case still active past its due time one level per SLA period
    overdue, noting it and telling the managers (as holds are). Idempotent: a case already at
    its level is left alone; each case in a transaction of its own."""
    from exceptions.notifications import notify_users

    now = now or timezone.now()
    system = get_system_user()
    escalated = 0
    overdue = Case.objects.filter(state__in=ACTIVE_STATES, due_at__lt=now).values_list(
        "pk", flat=True
    )
    for case_id in list(overdue):
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("reason", "invoice")
                .filter(pk=case_id, state__in=ACTIVE_STATES)
                .first()
            )
            if case is None:
                continue
            sla = timedelta(hours=max(case.reason.sla_hours, 1))
            level = 1 + int((now - case.due_at) / sla)
            if case.escalation_level >= level:
                continue
            case.escalation_level = level
            message = (
                f"{case.get_kind_display()} {case.pk} ({case.reason.name}, {case.amount:,.2f} "
                f"{case.currency} on {case.invoice.number}) escalated to level {level}: its "
                f"{case.reason.sla_hours} h SLA passed in {case.get_queue_display().lower()}."
            )
            save_audited(
                case, actor=system, reason=f"Escalated to level {level}", conflict=_CONFLICT
            )
            _note(case, system, message, now)
            # the managers, and whoever has the case (an escalation concerns them first)
            notify_users(
                Role.MANAGER,
                message,
                kind=NoticeKind.ESCALATION,
                actor=system,
                also=[case.claimed_by] if case.claimed_by_id else [],
            )
            escalated += 1
    return escalated
