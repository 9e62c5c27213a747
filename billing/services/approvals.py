"""Finance's writes on invoices: tiered approval under maker-checker, void, billing only what was
ordered, payment, and the ERP's posting answer. Each locks the invoice and records who and why."""

from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.audit import save_audited
from core.bulk import REFUSED, BulkPreview, PreviewRow, unseen
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.models import NoticeKind
from core.money import ZERO, round_money
from core.roles import Role, get_system_user, has_role, is_system_user
from exceptions.notifications import notify_people
from exceptions.services import hold_raise
from orders.services import order_record_invoice

from ..models import Invoice, InvoiceLine, InvoiceState
from ..selectors import invoice_lines_with_orders, invoices_for_user
from ..signals import invoice_released


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "someone"


def _when(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M") if at else "earlier"


def require_finance(actor) -> None:
    if not (is_system_user(actor) or has_role(actor, Role.FINANCE, Role.MANAGER)):
        raise PermissionDenied("Only finance may do this to invoices.")


def _lock(*, invoice_id: int, actor) -> Invoice:
    require_finance(actor)
    invoice = (
        invoices_for_user(actor)
        .select_for_update(of=("self",))
        # Only the customer is joined: on PostgreSQL a row that waited for the lock is re-read,
        # but rows joined to it are not, so approvers are loaded after the lock, fresh.
        .select_related("customer")
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise PermissionDenied(
            "Invoice not found or not yours to approve; nothing was changed.",
            {"invoice_id": invoice_id},
        )
    return invoice


def _save(invoice: Invoice, actor, reason: str) -> Invoice:
    return save_audited(
        invoice,
        actor=actor,
        reason=reason,
        conflict="Someone else changed this invoice a moment ago; reload to see it.",
    )


def not_pending(invoice: Invoice) -> Conflict:
    """The clear answer to acting on an invoice someone already settled: who, and when."""
    if invoice.state in (InvoiceState.RELEASED, InvoiceState.POSTED, InvoiceState.PAID):
        who = invoice.second_approver or invoice.first_approver
        return Conflict(
            f"Invoice {invoice.number} was already released by {_who(who) if who else 'the system'} "
            f"at {_when(invoice.released_at)}; nothing was changed.",
            {"state": invoice.state},
        )
    if invoice.state == InvoiceState.VOID:
        voider = invoice.history.filter(state=InvoiceState.VOID).order_by("history_date").first()
        return Conflict(
            f"Invoice {invoice.number} was voided by "
            f"{_who(voider.history_user) if voider else 'someone'} at {_when(invoice.voided_at)}; "
            "nothing was changed.",
            {"state": invoice.state},
        )
    return Conflict(
        f"Invoice {invoice.number} is {invoice.get_state_display().lower()}; "
        "it is not waiting for approval.",
        {"state": invoice.state},
    )


def price_setters(invoice_ids) -> dict[int, list[tuple[int, int]]]:
    """Each invoice's off-contract prices as (who set it, order line number), in line order: one
    query for any number of invoices."""
    found: dict[int, list[tuple[int, int]]] = defaultdict(list)
    rows = (
        InvoiceLine.objects.filter(
            invoice_id__in=list(invoice_ids), order_line__price_overridden_by__isnull=False
        )
        .order_by("invoice_id", "line_number")  # the invoice's own order, as its page lists them
        .values_list("invoice_id", "order_line__price_overridden_by_id", "order_line__line_number")
    )
    for invoice_id, who, line_number in rows:
        found[invoice_id].append((who, line_number))
    return found


def makers(invoice: Invoice, setters: list[tuple[int, int]] | None = None) -> dict[int, str]:
    """Who may not approve this invoice, and why: whoever created or edited it, and whoever set an
    off-contract price on one of its orders' lines. Superusers are no exception. ``setters``:
    the invoice's ``price_setters``, when the caller read them for many invoices at once."""
    barred: dict[int, str] = {}
    if setters is None:
        setters = price_setters([invoice.pk]).get(invoice.pk, [])
    for who, line_number in setters:
        barred.setdefault(who, f"you set the price of line {line_number}")
    for who, why in ((invoice.created_by_id, "created"), (invoice.last_edited_by_id, "edited")):
        if who:
            barred.setdefault(who, f"you {why} this invoice")
    return barred


def approve_check(invoice: Invoice, actor, setters: list[tuple[int, int]] | None = None) -> bool:
    """Every check ``invoice_approve`` makes, raising its refusals but changing nothing; True
    when the approval releases the invoice, False when it is the first of two. The approval and
    the bulk preview (``invoices_approve_preview``) share it, so the preview cannot promise what
    the approval would refuse. ``setters`` as for ``makers``."""
    if invoice.state != InvoiceState.PENDING_APPROVAL:
        raise not_pending(invoice)
    why_not = makers(invoice, setters).get(actor.pk)
    if why_not and not is_system_user(actor):
        raise PermissionDenied(
            f"Maker-checker: {why_not}, so someone else must approve {invoice.number}."
        )
    if invoice.first_approver_id == actor.pk:
        raise PermissionDenied(
            f"You gave the first approval of {invoice.number}; a different person must give the second."
        )
    return not (invoice.approval_tier >= Invoice.Tier.TWO and invoice.first_approver_id is None)


def invoices_approve_preview(*, invoice_ids: list[int], actor) -> BulkPreview:
    """What a bulk approval of ``invoice_ids`` would do, invoice by invoice, writing and locking
    nothing: released, the first of two approvals, or refused and why (``approve_check``), with
    the total of those that act per currency."""
    require_finance(actor)
    invoices = invoices_for_user(actor).select_related("customer").in_bulk(invoice_ids)
    setters = price_setters(invoices)  # one query for the selection, not one an invoice
    rows = []
    for invoice_id in invoice_ids:
        invoice = invoices.get(invoice_id)
        if invoice is None:
            rows.append(unseen(invoice_id, "Invoice not found or not yours to approve."))
            continue
        outcome, message = REFUSED, ""
        try:
            releases = approve_check(invoice, actor, setters.get(invoice.pk, []))
        except ApplicationError as error:
            message = error.message
        else:
            outcome = "released" if releases else "first of two approvals; waits for a second"
        row = PreviewRow(invoice.pk, invoice.number, invoice.customer.name, invoice.total,
                         invoice.currency, outcome, message)  # fmt: skip
        rows.append(row)
    return BulkPreview(rows)


@transaction.atomic
def invoice_approve(*, invoice_id: int, actor, reason: str) -> Invoice:
    """Approve a pending invoice. Tier 1 releases it; tier 2 needs two different approvers, so the
    first approval records itself and the second releases."""
    reason = require_reason(reason)
    invoice = _lock(invoice_id=invoice_id, actor=actor)
    if not approve_check(invoice, actor):
        invoice.approve_first(by=actor, at=timezone.now())
        return _save(invoice, actor, f"First of two approvals by {_who(actor)}: {reason}")
    invoice_release(invoice, actor=actor, reason=f"Approved by {_who(actor)}: {reason}")
    # Maker-checker: whoever made or edited the invoice, and its first approver, hear it is out.
    notify_people(
        [invoice.created_by, invoice.last_edited_by, invoice.first_approver],
        f"Invoice {invoice.number} was approved and released by {_who(actor)}: {reason}",
        kind=NoticeKind.APPROVAL,
        actor=actor,
    )
    return invoice


def invoice_release(invoice: Invoice, *, actor, reason: str) -> Invoice:
    """Release a locked invoice: final from here on. The orders record the invoiced quantities,
    and the ERP instruction is written in this same transaction (the outbox listens)."""
    invoice.release(by=actor, at=timezone.now())
    _save(invoice, actor, reason)
    quantities: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(lambda: ZERO))
    amounts: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in invoice_lines_with_orders(invoice):
        quantities[line.order_line.order_id][line.order_line_id] += line.quantity
        amounts[line.order_line.order_id] += line.amount + line.tax_amount
    system = actor if is_system_user(actor) else get_system_user()
    for order_id, per_line in sorted(quantities.items()):
        order_record_invoice(
            actor=system,
            order_id=order_id,
            quantities=dict(per_line),
            amount=amounts[order_id],
            reason=f"Invoice {invoice.number} released",
        )
    invoice_released.send(sender=Invoice, invoice=invoice)
    return invoice


@transaction.atomic
def invoice_void(*, invoice_id: int, actor, reason: str, confirm: bool) -> Invoice:
    """Void an invoice before release; its shipment lines become billable again."""
    reason = require_reason(reason)
    if not confirm:
        raise ApplicationError(
            "Voiding cannot be undone. Confirm to go ahead.", {"field": "confirm"}
        )
    invoice = _lock(invoice_id=invoice_id, actor=actor)
    if invoice.state not in (InvoiceState.DRAFT, InvoiceState.PENDING_APPROVAL):
        if invoice.state == InvoiceState.VOID:
            raise not_pending(invoice)
        raise Conflict(
            f"Invoice {invoice.number} is {invoice.get_state_display().lower()}: a released "
            "invoice is corrected by a credit memo, never voided.",
            {"state": invoice.state},
        )
    invoice.void(at=timezone.now(), reason=reason)
    _save(invoice, actor, f"Voided by {_who(actor)}: {reason}")
    for line in invoice.lines.all():
        line.voided = True
        line._history_user = actor
        line._change_reason = f"Invoice {invoice.number} voided"
        line.save(update_fields=["voided"])
    return invoice


@transaction.atomic
def invoice_bill_ordered_only(*, invoice_id: int, actor, reason: str) -> Invoice:
    """Finance declines to bill an over-shipment: each over-shipped line is cut back to what was
    ordered. The invoice stays pending, and its editor may no longer approve it."""
    reason = require_reason(reason)
    invoice = _lock(invoice_id=invoice_id, actor=actor)
    if invoice.state != InvoiceState.PENDING_APPROVAL:
        raise not_pending(invoice)
    lines = list(invoice.lines.all())
    over = [line for line in lines if line.over_shipped_qty > 0]
    if not over:
        raise ApplicationError(f"Invoice {invoice.number} bills no over-shipment.")
    for line in over:
        line.quantity -= line.over_shipped_qty
        line.amount = round_money(line.quantity * line.unit_price)
        line.tax_amount = round_money(line.amount * line.tax_rate)
        line._history_user = actor
        line._change_reason = f"Over-shipment of {line.over_shipped_qty} not billed: {reason}"
        line.over_shipped_qty = ZERO
        line.save()
    invoice.subtotal = sum((line.amount for line in lines), ZERO)
    invoice.tax_total = sum((line.tax_amount for line in lines), ZERO)
    invoice.total = invoice.subtotal + invoice.tax_total
    invoice.approval_reasons = [r for r in invoice.approval_reasons if "beyond the" not in r] + [
        f"Edited by {_who(actor)}: over-shipment not billed"
    ]
    invoice.last_edited_by = actor
    note = f"Over-shipment not billed: {reason}"
    if invoice.first_approver_id is not None:
        # a first approval was of the invoice as it was: its total changed, so both approvals
        # are given again, to the invoice as it is now
        note += f" (the first approval, by {_who(invoice.first_approver)}, is withdrawn)"
        invoice.first_approver, invoice.first_approved_at = None, None
    return _save(invoice, actor, note)


@transaction.atomic
def invoice_mark_posted(*, number: str, reference: str) -> Invoice | None:
    """The ERP acknowledged the invoice (the relay's answer). A repeat changes nothing."""
    invoice = Invoice.objects.select_for_update(of=("self",)).filter(number=number).first()
    if invoice is None or invoice.posted_at is not None:
        return invoice
    if invoice.state == InvoiceState.RELEASED:
        invoice.post(at=timezone.now(), reference=reference)
    elif invoice.state in (InvoiceState.PARTIALLY_PAID, InvoiceState.PAID):
        # cash was applied before the ERP's answer came back: the posting is still a fact
        invoice.posted_at, invoice.erp_reference = timezone.now(), reference
    else:
        return invoice
    return _save(invoice, get_system_user(), f"Posted in the ERP as {reference or 'acknowledged'}")


@transaction.atomic
def invoice_record_posting_refusal(*, number: str, error: str) -> None:
    """The ERP refused the invoice: finance gets a billing hold on each of its orders."""
    invoice = Invoice.objects.filter(number=number).first()
    if invoice is None:
        return
    order_ids = sorted(set(invoice.lines.values_list("order_line__order_id", flat=True)))
    for order_id in order_ids:
        hold_raise(
            order_id=order_id,
            reason_code="ERP_POSTING_REJECTED",
            context={"invoice": invoice.number, "error": error[:500]},
            value=invoice.total,
        )
