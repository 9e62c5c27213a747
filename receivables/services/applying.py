"""Where a payment's money goes: applications to invoices (never beyond an invoice's open amount
nor the payment), the rest on the customer's account, refunds, reversals with a reason, and
write-offs under maker-checker. Each locked and audited; held orders of a customer whose cash
arrived are judged again after commit, so exposure falls at once."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone

from billing.models import Invoice
from billing.services import invoices_settle
from core.audit import save_audited
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.gathered import on_commit_with
from core.models import NoticeKind
from core.money import ZERO
from core.roles import Role, has_role, is_system_user
from exceptions.notifications import notify_people

from ..models import (
    APPLICABLE_STATES,
    Application,
    Payment,
    PaymentState,
    UnappliedCash,
    WriteOff,
)
from ..selectors import cash_policy
from ..signals import cash_application_reversed, cash_applied, write_off_applied

_CONFLICT = "Someone else changed this payment a moment ago; reload to see it."
#: Who works payments; finance and managers approve write-offs.
CASH_ROLES = (Role.CASH_APPLICATION, Role.MANAGER)
APPROVER_ROLES = (Role.CASH_APPLICATION, Role.FINANCE, Role.MANAGER)


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    amount: Decimal
    discount: Decimal = ZERO
    short: Decimal = ZERO  # left open on the invoice, marked with reason_code
    reason_code: str = ""


def require_cash_role(actor, roles=CASH_ROLES) -> None:
    if not (is_system_user(actor) or has_role(actor, *roles)):
        raise PermissionDenied("Only cash application may work payments.")


def lock_payment(payment_id: int) -> Payment:
    # No join here: a lock that waited for another transaction gets the payment row as that one
    # left it, but a joined row as it was before (PostgreSQL rechecks only the locked row), so
    # "applied by" would read as nobody. The conflict message reads it after the lock.
    payment = Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()
    if payment is None:
        raise ApplicationError("No such payment.", {"payment": payment_id})
    return payment


def _still_open(payment: Payment) -> None:
    if payment.state not in APPLICABLE_STATES:
        by = payment.applied_by.get_username() if payment.applied_by else "matching"
        raise Conflict(
            f"This payment is already {payment.get_state_display().lower()}"
            + (f" (by {by})" if payment.state == PaymentState.APPLIED else "")
            + "; nothing was changed.",
            {"state": payment.state},
        )


def apply_locked(
    payment: Payment,
    *,
    actor,
    customer_id: int | None,
    allocations: list[Allocation],
    automatic: bool,
    explanation: str,
    note: str,
    on_account_note: str = "",
) -> Payment:
    """Apply a locked, still-open payment: the allocations to their invoices, the rest of the
    money on ``customer_id``'s account. Refused whole (nothing written) when an amount is
    negative, the allocations exceed the payment, an invoice is in another currency or would be
    settled beyond its open amount, or money is left with no customer to hold it."""
    _still_open(payment)
    allocations = [a for a in allocations if a.amount or a.discount]
    if any(a.amount < 0 or a.discount < 0 or a.short < 0 for a in allocations):
        raise ApplicationError("Amounts cannot be negative.", {"field": "amount"})
    applied = sum((a.amount for a in allocations), ZERO)
    if applied > payment.open_amount:
        raise ApplicationError(
            f"{applied:,.2f} is more than the payment's {payment.open_amount:,.2f} "
            f"{payment.currency}.",
            {"field": "amount"},
        )
    invoices = {
        invoice.pk: invoice
        for invoice in Invoice.objects.filter(pk__in=[a.invoice_id for a in allocations])
    }
    for allocation in allocations:
        invoice = invoices.get(allocation.invoice_id)
        if invoice is None:
            raise ApplicationError("No such invoice.", {"field": "invoice"})
        if invoice.currency != payment.currency:
            raise ApplicationError(
                f"Invoice {invoice.number} is in {invoice.currency}; the payment is in "
                f"{payment.currency}.",
                {"field": "invoice"},
            )
    left = payment.open_amount - applied
    owner = customer_id or (
        invoices[allocations[0].invoice_id].customer_id if allocations else None
    )
    if left > 0 and owner is None:
        raise ApplicationError(
            "Choose the customer whose account holds the rest of the money.", {"field": "customer"}
        )
    now = timezone.now()
    totals: dict[int, Decimal] = {}
    for allocation in allocations:
        totals[allocation.invoice_id] = (
            totals.get(allocation.invoice_id, ZERO) + allocation.amount + allocation.discount
        )
    who = "matching" if automatic else actor.get_username()
    invoices_settle(changes=totals, actor=actor, reason=f"Cash applied by {who}")
    rows = [
        Application(
            payment=payment,
            invoice_id=a.invoice_id,
            amount=a.amount,
            discount=a.discount,
            short_amount=a.short,
            short_reason=a.reason_code[:32],
            automatic=automatic,
            explanation=explanation,
            applied_at=now,
            applied_by=actor,
        )
        for a in allocations
    ]
    for row in rows:
        save_audited(row, actor=actor, reason=note, conflict=_CONFLICT)
    unapplied = None
    if left > 0:
        kind = UnappliedCash.Kind.OVERPAYMENT if allocations else UnappliedCash.Kind.ON_ACCOUNT
        unapplied = save_audited(
            UnappliedCash(
                customer_id=owner,
                payment=payment,
                amount=left,
                kind=kind,
                note=on_account_note,
                created_at=now,
                created_by=actor,
            ),
            actor=actor,
            reason=note,
            conflict=_CONFLICT,
        )
    payment.customer_id = owner
    payment.applied_amount += applied
    payment.unapplied_amount += left
    payment.apply(by=actor, at=now, automatic=automatic)
    save_audited(payment, actor=actor, reason=note, conflict=_CONFLICT)
    cash_applied.send(sender=Payment, payment=payment, applications=rows, unapplied=unapplied)
    customers = {invoices[a.invoice_id].customer_id for a in allocations}
    if customers:
        on_commit_with(_judge_held_orders, customers)
    return payment


def _judge_held_orders(customer_ids: set[int]) -> None:
    """Applied cash lowers exposure at once: the customers' orders held for credit are judged
    again (a hold whose cause is gone clears, and the order is released)."""
    from exceptions.models import ACTIVE_STATES, Hold
    from exceptions.services import order_evaluate

    order_ids = (
        Hold.objects.filter(
            order__customer_id__in=customer_ids,
            order__state="on_hold",
            category="credit",
            state__in=ACTIVE_STATES,
        )
        .values_list("order_id", flat=True)
        .distinct()
    )
    for order_id in sorted(order_ids):
        order_evaluate(order_id=order_id)


@transaction.atomic
def payment_apply(
    *,
    actor,
    payment_id: int,
    allocations: list[Allocation],
    customer_id: int | None = None,
    note: str = "",
) -> Payment:
    """An analyst applies a payment (a suggestion accepted, or split by hand)."""
    require_cash_role(actor)
    payment = lock_payment(payment_id)
    parts = ", ".join(f"{a.amount:,.2f}" for a in allocations)
    return apply_locked(
        payment,
        actor=actor,
        customer_id=customer_id,
        allocations=allocations,
        automatic=False,
        explanation=note or "Applied by hand",
        note=f"Applied by {actor.get_username()}" + (f": {parts}" if parts else " on account"),
    )


@transaction.atomic
def payment_accept(*, actor, payment_id: int, candidate: int = 0) -> Payment:
    """Accept one of matching's candidates as it stands (one click in the queue)."""
    from .matching import allocations_of

    require_cash_role(actor)
    payment = lock_payment(payment_id)
    _still_open(payment)
    if not 0 <= candidate < len(payment.candidates):
        raise Conflict("That suggestion is no longer offered; reload to see the current ones.")
    chosen = payment.candidates[candidate]
    return apply_locked(
        payment,
        actor=actor,
        customer_id=chosen["customer_id"],
        allocations=allocations_of(chosen),
        automatic=False,
        explanation=chosen["explanation"],
        note=f"Suggestion accepted by {actor.get_username()} (confidence {chosen['confidence']})",
    )


@transaction.atomic
def payment_put_on_account(*, actor, payment_id: int, customer_id: int, reason: str) -> Payment:
    reason = require_reason(reason)
    require_cash_role(actor)
    payment = lock_payment(payment_id)
    return apply_locked(
        payment,
        actor=actor,
        customer_id=customer_id,
        allocations=[],
        automatic=False,
        explanation=reason,
        note=f"Put on account by {actor.get_username()}: {reason}",
        on_account_note=reason,
    )


@transaction.atomic
def payment_mark_refund(*, actor, payment_id: int, reason: str) -> Payment:
    reason = require_reason(reason)
    require_cash_role(actor)
    payment = lock_payment(payment_id)
    _still_open(payment)
    refund = payment.open_amount
    payment.mark_refund()
    # what goes back is what is open: money already on invoices or on the customer's account
    # stays there (a reversal later takes the refund back: the payment waits in the queue)
    return save_audited(
        payment,
        actor=actor,
        reason=(
            f"Marked for refund by {actor.get_username()} "
            f"({refund:,.2f} {payment.currency} of {payment.amount:,.2f}): {reason}"
        ),
        conflict=_CONFLICT,
    )


@transaction.atomic
def on_account_apply(
    *, actor, unapplied_id: int, allocations: list[Allocation], note: str = ""
) -> list[Application]:
    """Apply money held on a customer's account to invoices of that customer (or of a
    subsidiary it pays for): applications on the payment the money came from, the account
    lowered by as much (released once empty). Refused whole when the money was released or
    used meanwhile (a conflict naming it), an amount is not positive, the lines exceed what the
    account holds, an invoice belongs to someone else or is in another currency, or would be
    settled beyond its open amount."""
    require_cash_role(actor)
    held = UnappliedCash.objects.filter(pk=unapplied_id).first()
    if held is None:
        raise ApplicationError("No such money on account.")
    payment = lock_payment(held.payment_id)
    held = UnappliedCash.objects.select_for_update().get(pk=unapplied_id)
    if held.released_at is not None or held.amount <= 0:
        raise Conflict(
            "This money is no longer on the account (applied or released a moment ago); "
            "nothing was changed."
        )
    allocations = [a for a in allocations if a.amount]
    if not allocations:
        raise ApplicationError("Enter at least one invoice and amount.", {"field": "amount"})
    if any(a.amount <= 0 or a.discount < 0 for a in allocations):
        raise ApplicationError("Amounts must be more than zero.", {"field": "amount"})
    used = sum((a.amount for a in allocations), ZERO)
    if used > held.amount:
        raise ApplicationError(
            f"{used:,.2f} is more than the {held.amount:,.2f} {payment.currency} on account.",
            {"field": "amount"},
        )
    invoices = Invoice.objects.select_related("customer").in_bulk(
        [a.invoice_id for a in allocations]
    )
    for allocation in allocations:
        invoice = invoices.get(allocation.invoice_id)
        if invoice is None:
            raise ApplicationError("No such invoice.", {"field": "invoice"})
        if held.customer_id not in (invoice.customer_id, invoice.customer.parent_id):
            raise ApplicationError(
                f"Invoice {invoice.number} is another customer's; this money is on the account "
                f"of customer {held.customer_id}.",
                {"field": "invoice"},
            )
        if invoice.currency != payment.currency:
            raise ApplicationError(
                f"Invoice {invoice.number} is in {invoice.currency}; the money is in "
                f"{payment.currency}.",
                {"field": "invoice"},
            )
    totals: dict[int, Decimal] = {}
    for allocation in allocations:
        totals[allocation.invoice_id] = (
            totals.get(allocation.invoice_id, ZERO) + allocation.amount + allocation.discount
        )
    who = actor.get_username()
    reason = note.strip() or "Applied from money on account"
    invoices_settle(changes=totals, actor=actor, reason=f"Cash on account applied by {who}")
    now = timezone.now()
    rows = [
        save_audited(
            Application(
                payment=payment,
                invoice_id=a.invoice_id,
                amount=a.amount,
                discount=a.discount,
                automatic=False,
                explanation=f"From money on account ({held.get_kind_display().lower()})",
                applied_at=now,
                applied_by=actor,
            ),
            actor=actor,
            reason=reason,
            conflict=_CONFLICT,
        )
        for a in allocations
    ]
    held.amount -= used
    if held.amount == 0:
        held.released_at = now
    save_audited(
        held, actor=actor, reason=f"{used:,.2f} applied to invoices: {reason}", conflict=_CONFLICT
    )
    payment.applied_amount += used
    payment.unapplied_amount -= used
    save_audited(
        payment, actor=actor, reason=f"{used:,.2f} on account applied: {reason}", conflict=_CONFLICT
    )
    cash_applied.send(sender=Payment, payment=payment, applications=rows, unapplied=None)
    customers = {invoices[a.invoice_id].customer_id for a in allocations}
    on_commit_with(_judge_held_orders, customers)
    return rows


@transaction.atomic
def application_reverse(*, actor, application_id: int, reason: str) -> Application:
    """Take an application back off its invoice: the invoice owes it again and the money waits on
    the payment, in the queue. The row stays, marked, with who and why."""
    reason = require_reason(reason)
    require_cash_role(actor)
    application = Application.objects.filter(pk=application_id).first()
    if application is None:
        raise ApplicationError("No such application.")
    payment = lock_payment(application.payment_id)
    application = Application.objects.select_for_update().get(pk=application_id)
    if application.reversed_at is not None:
        raise Conflict(
            f"This application was already reversed by {application.reversed_by}; "
            "nothing was changed."
        )
    invoices_settle(
        changes={application.invoice_id: -application.settles},
        actor=actor,
        reason=f"Cash application reversed by {actor.get_username()}: {reason}",
    )
    now = timezone.now()
    application.reversed_at, application.reversed_by = now, actor
    application.reversal_reason = reason
    save_audited(application, actor=actor, reason=f"Reversed: {reason}", conflict=_CONFLICT)
    cash_application_reversed.send(sender=Application, application=application)
    payment.applied_amount -= application.amount
    refund_taken_back = payment.state == PaymentState.REFUND
    if payment.state in (PaymentState.APPLIED, PaymentState.POSTED, PaymentState.REFUND):
        # marked for refund, it was for what was open then: with more open now, an analyst
        # decides again what goes back and what is applied
        payment.reopen()
    save_audited(
        payment,
        actor=actor,
        reason=f"Application to invoice {application.invoice_id} reversed: {reason}"
        + (
            "; the refund is taken back, the payment waits in the queue"
            if refund_taken_back
            else ""
        ),
        conflict=_CONFLICT,
    )
    return application


@transaction.atomic
def write_off_create(
    *, actor, invoice_id: int, amount: Decimal, reason: str, payment_id: int | None = None
) -> WriteOff:
    """Write a small balance off an invoice: applied at once up to the policy's limit; above it,
    waiting for a second person. The limit is the invoice's: its write-offs applied and waiting
    count with this one, so five of 50.00 under a limit of 100.00 are not 250.00 written off by
    one person."""
    reason = require_reason(reason)
    require_cash_role(actor)
    if amount <= 0:
        raise ApplicationError("A write-off must be more than zero.", {"field": "amount"})
    # locked: two write-offs of one invoice at once are counted one after the other
    invoice = Invoice.objects.select_for_update().filter(pk=invoice_id).first()
    if invoice is None:
        raise ApplicationError("No such invoice.", {"field": "invoice"})
    earlier = invoice.write_offs.filter(
        state__in=(WriteOff.State.APPLIED, WriteOff.State.PENDING)
    ).aggregate(
        applied=Sum("amount", filter=Q(state=WriteOff.State.APPLIED), default=ZERO),
        waiting=Sum("amount", filter=Q(state=WriteOff.State.PENDING), default=ZERO),
    )
    if amount + earlier["waiting"] > invoice.open_amount:
        waiting = (
            f" ({earlier['waiting']:,.2f} of it in write-offs waiting for approval)"
            if earlier["waiting"]
            else ""
        )
        raise ApplicationError(
            f"Invoice {invoice.number} has only {invoice.open_amount:,.2f} {invoice.currency} "
            f"open{waiting}.",
            {"field": "amount"},
        )
    if payment_id is not None and not _pays_for(payment_id, invoice):
        raise ApplicationError(
            f"Payment {payment_id} is not one of {invoice.number}'s customer; nothing was "
            "written off.",
            {"field": "payment"},
        )
    policy = cash_policy()
    together = amount + earlier["applied"] + earlier["waiting"]
    write_off = WriteOff(
        invoice=invoice,
        payment_id=payment_id,
        amount=amount,
        reason=reason,
        requested_by=actor,
        requested_at=timezone.now(),
    )
    if together <= policy.write_off_limit:
        _apply_write_off(write_off, actor, f"Written off by {actor.get_username()}: {reason}")
        return write_off
    with_earlier = (
        f" ({together:,.2f} with the invoice's other write-offs)" if together != amount else ""
    )
    return save_audited(
        write_off,
        actor=actor,
        reason=f"Write-off of {amount:,.2f}{with_earlier} above {policy.write_off_limit:,.2f}: "
        f"waits for a second person ({reason})",
        conflict=_CONFLICT,
    )


def _pays_for(payment_id: int, invoice: Invoice) -> bool:
    """Whether the payment a write-off names came from the invoice's customer (or the parent
    that pays for it), or is applied to the invoice: the write-off shows on its page."""
    payment = Payment.objects.filter(pk=payment_id).first()
    if payment is None:
        return False
    payers = {invoice.customer_id, invoice.customer.parent_id} - {None}
    return payment.customer_id in payers or payment.applications.filter(invoice=invoice).exists()


def _apply_write_off(write_off: WriteOff, actor, note: str) -> None:
    invoices_settle(changes={write_off.invoice_id: write_off.amount}, actor=actor, reason=note)
    write_off.state = WriteOff.State.APPLIED
    write_off.decided_by, write_off.decided_at = actor, timezone.now()
    save_audited(write_off, actor=actor, reason=note, conflict=_CONFLICT)
    write_off_applied.send(sender=WriteOff, write_off=write_off)


def _lock_pending(write_off_id: int) -> WriteOff:
    write_off = WriteOff.objects.select_for_update().filter(pk=write_off_id).first()
    if write_off is None:
        raise ApplicationError("No such write-off.")
    if write_off.state != WriteOff.State.PENDING:
        raise Conflict(
            f"This write-off is already {write_off.get_state_display().lower()}; nothing was "
            "changed."
        )
    return write_off


@transaction.atomic
def write_off_approve(*, actor, write_off_id: int, reason: str) -> WriteOff:
    """Maker-checker: the person who asked for a write-off never approves it, superusers too."""
    reason = require_reason(reason)
    require_cash_role(actor, APPROVER_ROLES)
    write_off = _lock_pending(write_off_id)
    if write_off.requested_by_id == actor.pk:
        raise PermissionDenied("You asked for this write-off; someone else must approve it.")
    _apply_write_off(write_off, actor, f"Write-off approved by {actor.get_username()}: {reason}")
    _tell_requester(write_off, actor, "approved", reason)
    return write_off


def _tell_requester(write_off: WriteOff, actor, outcome: str, reason: str) -> None:
    """Maker-checker: the person who asked for the write-off hears the approver's decision."""
    notify_people(
        [write_off.requested_by],
        f"Your write-off of {write_off.amount:,.2f} {write_off.invoice.currency} on invoice "
        f"{write_off.invoice.number} was {outcome} by {actor.get_username()}: {reason}",
        kind=NoticeKind.APPROVAL,
        actor=actor,
    )


@transaction.atomic
def write_off_reject(*, actor, write_off_id: int, reason: str) -> WriteOff:
    reason = require_reason(reason)
    require_cash_role(actor, APPROVER_ROLES)
    write_off = _lock_pending(write_off_id)
    write_off.state = WriteOff.State.REJECTED
    write_off.decided_by, write_off.decided_at = actor, timezone.now()
    save_audited(
        write_off,
        actor=actor,
        reason=f"Write-off rejected by {actor.get_username()}: {reason}",
        conflict=_CONFLICT,
    )
    _tell_requester(write_off, actor, "rejected", reason)
    return write_off


@transaction.atomic
def payment_mark_posted(*, payment_id: int) -> Payment | None:
    """The ERP acknowledged the payment's applications (the relay's answer). A repeat, or a
    payment reopened by a reversal meanwhile, changes nothing."""
    from core.roles import get_system_user

    payment = Payment.objects.select_for_update(of=("self",)).filter(pk=payment_id).first()
    if payment is None or payment.state != PaymentState.APPLIED:
        return payment
    payment.post(at=timezone.now())
    return save_audited(
        payment, actor=get_system_user(), reason="Posted in the ERP", conflict=_CONFLICT
    )
