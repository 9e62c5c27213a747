"""What an invoice still owes: cash applications (from receivables), their reversals and credit
memos move its settled and credited sums, under the invoice's lock, and its state follows."""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict
from core.pgcopy import copy_history, update_rows

from ..models import Invoice
from ..models.invoice import RECEIVABLE_STATES


@transaction.atomic
def invoices_settle(
    *,
    changes: dict[int, Decimal],
    actor,
    reason: str,
    locked: dict[int, Invoice] | None = None,
) -> dict[int, Invoice]:
    """Add each amount (negative for a reversal) to its invoice's settled sum; returns the
    invoices, locked and saved. Locks in id order, so two batches touching the same invoices
    cannot deadlock. Refused whole (Conflict, nothing written) when an invoice is not owed on,
    would be settled beyond its open amount, or below zero: no cash is ever over-applied.
    ``locked``: the invoices as the caller read them under ``select_for_update`` in this
    transaction (those are used, not read again)."""
    if locked is not None and locked.keys() >= changes.keys():
        invoices = {pk: locked[pk] for pk in changes}
    else:
        invoices = {
            invoice.pk: invoice
            for invoice in Invoice.objects.select_for_update(of=("self",))
            .filter(pk__any=sorted(changes))
            .order_by("pk")
        }
    now = timezone.now()
    for invoice_id in sorted(changes):
        invoice, delta = invoices.get(invoice_id), changes[invoice_id]
        if invoice is None:
            raise Conflict(f"Invoice {invoice_id} does not exist.", {"invoice": invoice_id})
        if invoice.state not in RECEIVABLE_STATES:
            raise Conflict(
                f"Invoice {invoice.number} is {invoice.get_state_display().lower()}; cash applies "
                "only to a released invoice.",
                {"invoice": invoice.number, "state": invoice.state},
            )
        if delta > invoice.open_amount:
            raise Conflict(
                f"Invoice {invoice.number} has {invoice.open_amount:,.2f} {invoice.currency} open; "
                f"{delta:,.2f} cannot be applied to it.",
                {"invoice": invoice.number, "open": str(invoice.open_amount)},
            )
        if invoice.settled_amount + delta < 0:
            raise Conflict(
                f"Invoice {invoice.number} has only {invoice.settled_amount:,.2f} settled; "
                f"{-delta:,.2f} cannot be reversed.",
                {"invoice": invoice.number},
            )
        invoice.settled_amount += delta
        invoice.settle(at=now)
    # Written together (a bank file's cash settles hundreds): one UPDATE and one COPY of history
    # rows. The locks above keep everyone else out, so no stale state can be saved over.
    settled = [invoices[invoice_id] for invoice_id in sorted(changes)]
    update_rows(Invoice, settled, ["settled_amount", "state", "paid_at"])
    for invoice in settled:
        invoice._update_initial_state()
    copy_history(
        Invoice,
        settled,
        update=True,
        default_user=actor,
        default_change_reason=reason,
        default_date=now,
        stored=True,
    )
    return invoices
