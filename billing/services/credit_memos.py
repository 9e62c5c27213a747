"""Credit memos: the only correction of a released invoice, never above what it invoiced."""

from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core.audit import save_audited
from core.errors import ApplicationError, Conflict, PermissionDenied, require_reason
from core.money import ZERO, round_money
from core.roles import is_system_user

from ..models import CreditMemo, CreditMemoLine, CreditReason
from ..models.invoice import FINAL_STATES
from ..signals import credit_memo_issued
from .approvals import _lock
from .invoicing import billing_policy
from .numbering import save_with_next_number


def credit_memo_tier(total: Decimal) -> int:
    """How many people beyond the one who agreed a credit of ``total`` must approve it: 0 up to
    the billing policy's credit memo approval amount, 1 above it, 2 above the second amount."""
    policy = billing_policy()
    if total > policy.credit_memo_second_approval_amount:
        return 2
    return 1 if total > policy.credit_memo_approval_amount else 0


@transaction.atomic
def credit_memo_create(
    *,
    invoice_id: int,
    actor,
    quantities: dict[int, Decimal],
    reason: str,
    reason_code: str = CreditReason.OTHER,
    fee: Decimal = ZERO,
) -> CreditMemo:
    """Credit quantities of a released invoice's lines, under a reason code, less ``fee`` (a
    return's restocking fee). Each line can be credited up to what it billed, less earlier
    memos; crediting a line's whole remainder credits its exact remaining amount, so rounding
    never leaves (or over-credits) a cent."""
    reason = require_reason(reason)
    if reason_code not in CreditReason.values:
        raise ApplicationError("Choose the credit's reason code.", {"field": "reason_code"})
    if fee < 0:
        raise ApplicationError("A fee cannot be negative.", {"field": "fee"})
    invoice = _lock(invoice_id=invoice_id, actor=actor)
    if invoice.state not in FINAL_STATES:
        raise Conflict(
            f"Invoice {invoice.number} is {invoice.get_state_display().lower()}; only a released "
            "invoice takes a credit memo (void a pending one instead).",
            {"state": invoice.state},
        )
    quantities = {line_id: q for line_id, q in quantities.items() if q}
    if not quantities:
        raise ApplicationError(
            "Enter a quantity to credit on at least one line.", {"field": "lines"}
        )
    lines = {
        line.pk: line
        for line in invoice.lines.annotate(
            credited_qty=Sum("credit_lines__quantity"),
            credited_amount=Sum("credit_lines__amount"),
            credited_tax=Sum("credit_lines__tax_amount"),
        )
    }
    memo_lines = []
    for line_id, quantity in sorted(quantities.items()):
        line = lines.get(line_id)
        if line is None:
            raise ApplicationError("That line is not on this invoice.", {"field": "lines"})
        if quantity < 0:
            raise ApplicationError(
                "Credit quantities cannot be negative.", {"line": line.line_number}
            )
        left_qty = line.quantity - (line.credited_qty or ZERO)
        left_amount = line.amount - (line.credited_amount or ZERO)
        left_tax = line.tax_amount - (line.credited_tax or ZERO)
        if quantity > left_qty:
            raise ApplicationError(
                f"Line {line.line_number}: crediting {quantity} is above the {left_qty} still "
                f"invoiced; a credit memo cannot exceed the invoiced amount.",
                {"line": line.line_number, "available": str(left_qty)},
            )
        if quantity == left_qty:
            amount, tax = left_amount, left_tax
        else:
            amount = min(round_money(quantity * line.unit_price), left_amount)
            tax = min(round_money(amount * line.tax_rate), left_tax)
        memo_lines.append(
            CreditMemoLine(invoice_line=line, quantity=quantity, amount=amount, tax_amount=tax)
        )
    memo = CreditMemo(
        invoice=invoice,
        reason_code=reason_code,
        reason=reason,
        created_at=timezone.now(),
        created_by=actor,
        subtotal=sum((line.amount for line in memo_lines), ZERO),
        tax_total=sum((line.tax_amount for line in memo_lines), ZERO),
        correlation_id=invoice.correlation_id,
    )
    if fee >= memo.subtotal + memo.tax_total:
        raise ApplicationError(
            f"A fee of {fee} leaves nothing of the {memo.subtotal + memo.tax_total} credited.",
            {"field": "fee"},
        )
    memo.fee = fee
    memo.total = memo.subtotal + memo.tax_total - fee
    if not is_system_user(actor) and credit_memo_tier(memo.total) > 0:
        # by hand, one person issues only credits below tier 1; above it the credit goes
        # through a case, where another person approves it (maker-checker, superusers too)
        raise PermissionDenied(
            f"A credit of {memo.total:,.2f} {invoice.currency} is above the "
            f"{billing_policy().credit_memo_approval_amount:,.2f} one person may issue; open a "
            f"dispute on {invoice.number} and resolve it valid, and a second person approves it.",
            {"field": "lines", "credit": str(memo.total)},
        )
    already = invoice.credit_memos.aggregate(total=Sum("total"))["total"] or ZERO
    if memo.total + already > invoice.total:
        raise ApplicationError(
            f"A credit of {memo.total} would take {invoice.number} below zero "
            f"(invoiced {invoice.total}, already credited {already}).",
            {"field": "lines"},
        )
    if memo.total > invoice.open_amount:
        raise ApplicationError(
            f"A credit of {memo.total} is more than the {invoice.open_amount} still owed on "
            f"{invoice.number} (paid or settled {invoice.settled_amount}); reverse a payment "
            "application first, or refund the customer.",
            {"field": "lines"},
        )
    memo._history_user = actor
    memo._change_reason = reason
    save_with_next_number(memo, prefix="CM-")
    invoice.credited_amount += memo.total
    invoice.settle(at=memo.created_at)
    save_audited(
        invoice,
        actor=actor,
        reason=f"Credited {memo.total} by {memo.number}",
        conflict=f"Invoice {invoice.number} was changed by someone else; reload and retry.",
    )
    for line in memo_lines:
        line.credit_memo = memo
    bulk_create_with_history(
        memo_lines, CreditMemoLine, default_user=actor, default_change_reason=reason
    )
    credit_memo_issued.send(sender=CreditMemo, credit_memo=memo)
    return memo
