"""A bank file's payments written set-wise: stored with their remittances, routed to the queue, or
applied where matching is sure, in a fixed number of queries per file rather than a dozen per
payment. The rules are the one-payment services' (``applying.apply_locked``), checked here for
the whole batch under one lock of its invoices."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import DecimalField

from billing.models import Invoice
from billing.models.invoice import RECEIVABLE_STATES
from billing.services import invoices_settle
from core.gathered import on_commit_with
from core.money import ZERO
from core.pgcopy import allocate_ids, copy_create, copy_history, update_rows
from orders.models import Customer

from ..models import (
    APPLICABLE_STATES,
    Application,
    Payment,
    RemittanceAdvice,
    RemittanceLine,
    UnappliedCash,
)
from ..signals import cash_applied_together
from .applying import Allocation, _judge_held_orders

#: The payment fields matching and applying change.
PAYMENT_FIELDS = [
    "state",
    "outcome",
    "candidates",
    "confidence",
    "explanation",
    "matched_at",
    "customer",
    "applied_amount",
    "unapplied_amount",
    "applied_at",
    "applied_by",
    "automatic",
]


@dataclass
class Remittance:
    """A payment's remittance advice and its lines, unsaved, to store beside it."""

    payment: Payment
    advice: RemittanceAdvice
    lines: list


@dataclass(frozen=True)
class AutoApplication:
    """Matching's sure candidate for a locked, still open payment."""

    payment: Payment
    customer_id: int | None
    allocations: list[Allocation]
    explanation: str
    note: str


def _as_stored(model, objs: list) -> None:
    """Give ``objs``' decimals the places their columns keep (a parsed "100.5" is stored and read
    back as 100.50), so matching them unread gives what matching them read back would."""
    fields = [f for f in model._meta.concrete_fields if isinstance(f, DecimalField)]
    for obj in objs:
        for field in fields:
            value = getattr(obj, field.attname)
            if value is not None:
                setattr(obj, field.attname, value.quantize(_PLACES[field.decimal_places]))


_PLACES = {places: Decimal(1).scaleb(-places) for places in range(10)}


def payments_create(
    *, payments: list[Payment], remittances: list[Remittance], actor, at, insert: bool = True
) -> None:
    """Insert new payments, their remittance advices and lines, and the payments' and advices'
    "+" history rows (each payment's ``_change_reason`` says where it came from). The objects
    are left with their values as stored, to be matched without a read back. ``insert=False``:
    the payments are given ids but not written (``payments_save(..., insert=True)`` writes them
    once matched: foreign keys are checked at commit, so rows that refer to them may come first)."""
    _as_stored(Payment, payments)
    if insert:
        copy_create(Payment, payments)
    else:
        unnumbered = [p for p in payments if p.pk is None]
        for payment, pk in zip(unnumbered, allocate_ids(Payment, len(unnumbered)), strict=True):
            payment.pk = pk
    copy_history(Payment, payments, default_user=actor, default_date=at)
    for remittance in remittances:
        remittance.advice.payment = remittance.payment
    advices = [remittance.advice for remittance in remittances]
    copy_create(RemittanceAdvice, advices)
    copy_history(
        RemittanceAdvice,
        advices,
        default_user=actor,
        default_date=at,
        default_change_reason="Received with its payment",
        stored=True,
    )
    lines = []
    for remittance in remittances:
        for line in remittance.lines:
            line.advice = remittance.advice
            lines.append(line)
    if lines:
        _as_stored(RemittanceLine, lines)
        copy_create(RemittanceLine, lines)


def payments_save(payments: list[Payment], *, actor, at, insert: bool = False) -> None:
    """Write locked payments changed in memory (state by their transitions), with a history row
    each giving its ``_change_reason``. ``insert``: payments made by ``payments_create(...,
    insert=False)``, written now in the state matching left them: one COPY, where storing them
    first and updating them after wrote each row twice (6 % of PostgreSQL's time in a run of
    bank files)."""
    if not payments:
        return
    if insert:
        copy_create(Payment, payments)
    else:
        update_rows(Payment, payments, PAYMENT_FIELDS)
    for payment in payments:
        payment._update_initial_state()  # saved: a later save() checks from this state
    copy_history(Payment, payments, update=True, default_user=actor, default_date=at, stored=True)


def _refusal(item: AutoApplication, invoices: dict[int, Invoice], owed: dict) -> str | None:
    """Why ``item`` cannot apply as matching read it (the rules of ``apply_locked`` and
    ``invoices_settle``), or None."""
    payment = item.payment
    if payment.state not in APPLICABLE_STATES:
        return f"the payment is {payment.get_state_display().lower()}"
    if any(a.amount < 0 or a.discount < 0 or a.short < 0 for a in item.allocations):
        return "amounts cannot be negative"
    applied = sum((a.amount for a in item.allocations), ZERO)
    if applied > payment.open_amount:
        return f"{applied:,.2f} is more than the payment's {payment.open_amount:,.2f}"
    settles: dict[int, Decimal] = {}
    for allocation in item.allocations:
        invoice = invoices.get(allocation.invoice_id)
        if invoice is None:
            return f"invoice {allocation.invoice_id} does not exist"
        if invoice.currency != payment.currency:
            return f"invoice {invoice.number} is in {invoice.currency}"
        if invoice.state not in RECEIVABLE_STATES:
            return f"invoice {invoice.number} is {invoice.get_state_display().lower()}"
        settles[invoice.pk] = (
            settles.get(invoice.pk, ZERO) + allocation.amount + allocation.discount
        )
    for invoice_id, amount in settles.items():
        if amount > owed[invoice_id]:
            invoice = invoices[invoice_id]
            return (
                f"Invoice {invoice.number} has {owed[invoice_id]:,.2f} {invoice.currency} open; "
                f"{amount:,.2f} cannot be applied to it."
            )
    if payment.open_amount - applied > 0 and item.customer_id is None and not item.allocations:
        return "no customer to hold the money"
    return None


def payments_apply_auto(
    items: list[AutoApplication], *, actor, at, save: bool = True
) -> list[tuple[AutoApplication, str]]:
    """Apply matching's sure candidates of locked payments: the batch's invoices locked once (in
    id order, as ``invoices_settle`` does, so two workers cannot deadlock) and settled together,
    the applications, any rest on the customer's account, and the payments written set-wise; then
    ``cash_applied_together`` once for them all. A candidate an invoice no
    longer allows (settled meanwhile by another payment of the file or another worker) is not
    applied: it is returned with the reason, and its payment left as it was. ``save=False``: the
    payments are left for the caller to write (``payments_save``)."""
    items = [
        AutoApplication(
            item.payment,
            item.customer_id,
            [a for a in item.allocations if a.amount or a.discount],
            item.explanation,
            item.note,
        )
        for item in items
    ]
    ids = sorted({a.invoice_id for item in items for a in item.allocations})
    invoices = {
        invoice.pk: invoice
        for invoice in Invoice.objects.select_for_update(of=("self",))
        .filter(pk__any=ids)
        .order_by("pk")
    }
    owed = {pk: invoice.open_amount for pk, invoice in invoices.items()}
    refused, fitting = [], []
    for item in items:
        why = _refusal(item, invoices, owed)
        if why is not None:
            refused.append((item, why))
            continue
        for allocation in item.allocations:
            owed[allocation.invoice_id] -= allocation.amount + allocation.discount
        fitting.append(item)
    if not fitting:
        return refused
    changes: dict[int, Decimal] = {}
    for item in fitting:
        for allocation in item.allocations:
            changes[allocation.invoice_id] = (
                changes.get(allocation.invoice_id, ZERO) + allocation.amount + allocation.discount
            )
    if changes:
        invoices_settle(
            changes=changes, actor=actor, reason="Cash applied by matching", locked=invoices
        )
    owners = {
        item.customer_id or invoices[item.allocations[0].invoice_id].customer_id
        for item in fitting
        if item.customer_id or item.allocations
    }
    customers = Customer.objects.in_bulk(owners)
    rows: list[Application] = []
    held: list[UnappliedCash] = []
    made: list[tuple[Payment, list[Application], UnappliedCash | None]] = []
    for item in fitting:
        payment = item.payment
        mine = [
            Application(
                payment=payment,
                invoice=invoices[a.invoice_id],
                amount=a.amount,
                discount=a.discount,
                short_amount=a.short,
                short_reason=a.reason_code[:32],
                automatic=True,
                explanation=item.explanation,
                applied_at=at,
                applied_by=actor,
            )
            for a in item.allocations
        ]
        applied = sum((a.amount for a in item.allocations), ZERO)
        left = payment.open_amount - applied
        owner = item.customer_id or (mine[0].invoice.customer_id if mine else None)
        unapplied = None
        if left > 0:
            unapplied = UnappliedCash(
                customer_id=owner,
                payment=payment,
                amount=left,
                kind=UnappliedCash.Kind.OVERPAYMENT if mine else UnappliedCash.Kind.ON_ACCOUNT,
                created_at=at,
                created_by=actor,
            )
            held.append(unapplied)
        for row in [*mine, *([unapplied] if unapplied else [])]:
            row._history_user, row._change_reason = actor, item.note
        payment.customer = customers.get(owner)
        payment.applied_amount += applied
        payment.unapplied_amount += left
        payment.apply(by=actor, at=at, automatic=True)
        payment._history_user, payment._change_reason = actor, item.note
        rows += mine
        made.append((payment, mine, unapplied))
    copy_create(Application, rows)
    copy_history(Application, rows, default_user=actor, default_date=at, stored=True)
    if held:
        copy_create(UnappliedCash, held)
        copy_history(UnappliedCash, held, default_user=actor, default_date=at, stored=True)
    if save:
        payments_save([payment for payment, _, _ in made], actor=actor, at=at)
    cash_applied_together.send(sender=Payment, applied=made, actor=actor)
    judged = {invoice.customer_id for invoice in invoices.values() if invoice.pk in changes}
    if judged:
        on_commit_with(_judge_held_orders, judged)
    return refused
