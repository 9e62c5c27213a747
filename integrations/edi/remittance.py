"""820 remittance advice: a partner's word on what a payment pays, mapped to a record for the inbox
(stream ``remittances``) and from there stored by receivables, which ties it to the payment the
bank reports and lets cash application match with it.

What an 820 says: BPR the payment (amount, credit/debit, method, effective date), TRN02 the
reference the bank reports it under, CUR its currency, N1*PR the payer; then per invoice an RMR
(IV reference, amount paid, invoice amount, discount taken) followed by its ADX adjustments
(amount, reason code; negative is a deduction). ADX before the first RMR adjust the payment as a
whole. The amounts must add up (BPR02 = the RMR04s plus the payment-level ADX01s), or the set is
rejected in the 997 naming BPR02: a remittance that does not add up cannot be trusted to split
money.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from ..mappers import MappingError
from .models import TradingPartner
from .syntax import parse_date
from .x12 import SegmentError, TransactionSet, value

ZERO = Decimal("0")
#: RMR01 qualifiers that name an invoice (IV invoice, IK invoice number, OI original invoice);
#: others (a PO, a credit memo, a bill of lading) are kept with their qualifier in the text.
INVOICE_QUALIFIERS = {"IV", "IK", "OI"}


class RemittanceProblem(Exception):
    def __init__(self, error: SegmentError):
        super().__init__(error.text())
        self.error = error


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text) if text else ZERO
    except InvalidOperation:  # the syntax check lets no such value through
        return ZERO


def map_820(transaction_set: TransactionSet, partner: TradingPartner) -> dict:
    """The remittance record of an 820 (raises ``RemittanceProblem``)."""
    segments = list(enumerate(transaction_set.segments, start=1))
    bpr_position, bpr = next((p, s) for p, s in segments if s.get_seg_id() == "BPR")
    trn = next(s for _, s in segments if s.get_seg_id() == "TRN")
    if value(bpr, 3) == "D":
        raise RemittanceProblem(
            SegmentError(
                "a debit (BPR03 D) is no payment to o2c", "BPR", bpr_position, element=3,
                reference="478", element_code="7", value="D",
            )
        )  # fmt: skip
    currency, payer = "USD", ""
    lines: list[dict] = []
    header_adjustments = ZERO
    seen_rmr = False  # an ADX before the first RMR adjusts the payment as a whole
    for _position, segment in segments:
        seg_id = segment.get_seg_id()
        if seg_id == "CUR":
            currency = value(segment, 2)
        elif seg_id == "N1" and value(segment, 1) == "PR":
            payer = value(segment, 2)
        elif seg_id == "RMR":
            seen_rmr = True
            qualifier = value(segment, 1)
            lines.append(
                {
                    "reference": value(segment, 2),
                    "qualifier": qualifier,
                    "paid": value(segment, 4),
                    "invoice_amount": value(segment, 5),
                    "discount": value(segment, 6) or "0",
                    "adjustments": [],
                }
            )
        elif seg_id == "ADX":
            adjustment = {"amount": value(segment, 1), "code": value(segment, 2)}
            if seen_rmr:
                lines[-1]["adjustments"].append(adjustment)
            else:  # one line each, with no invoice: shown, and left out of matching
                header_adjustments += _amount(adjustment["amount"])
                lines.append(
                    {"reference": "", "qualifier": "", "paid": "", "invoice_amount": "",
                     "discount": "0", "adjustments": [adjustment]}
                )  # fmt: skip
    total = _amount(value(bpr, 2))
    paid = sum((_amount(line["paid"]) for line in lines), ZERO) + header_adjustments
    if lines and paid != total:
        raise RemittanceProblem(
            SegmentError(
                f"the remittance adds up to {paid}, not to the payment's {total}",
                "BPR", bpr_position, element=2, reference="782", element_code="6",
                value=value(bpr, 2),
            )
        )  # fmt: skip
    effective = parse_date(value(bpr, 16))
    return {
        "customer": partner.customer_id,
        "payer_name": payer,
        "reference": value(trn, 2),
        "amount": str(total),
        "currency": currency,
        "method": value(bpr, 4),
        "handling": value(bpr, 1),
        "paid_on": effective.isoformat() if effective else None,
        "lines": lines,
    }


def advice_of(record: dict):
    """The inbox's mapper for stream ``remittances``: the record as receivables takes it (raises
    ``MappingError`` naming the field)."""
    from receivables.matching import RemittanceLine
    from receivables.services import AdviceIn

    def money(text, field: str, *, required: bool = False) -> Decimal | None:
        if text in ("", None):
            if required:
                raise MappingError(f"{field}: required")
            return None
        try:
            return Decimal(str(text)).quantize(Decimal("0.01"))
        except InvalidOperation:
            raise MappingError(f"{field}: “{text}” is not an amount") from None

    if not isinstance(record, dict) or not isinstance(record.get("lines"), list):
        raise MappingError("lines: required, a list")
    reference = str(record.get("reference") or "").strip()
    if not reference:
        raise MappingError("reference: required (TRN02)")
    lines = []
    for number, line in enumerate(record["lines"], start=1):
        field = f"lines[{number}]"
        if not isinstance(line, dict):
            raise MappingError(f"{field}: expected an object")
        adjustments = line.get("adjustments") or []
        # ADX01 is negative for a deduction; a line's adjustment is what the payer kept back
        kept = -sum((money(a.get("amount"), f"{field}.adjustment") or ZERO for a in adjustments),
                    ZERO)  # fmt: skip
        largest = max(adjustments, key=lambda a: abs(_amount(str(a.get("amount") or ""))),
                      default=None)  # fmt: skip
        qualifier = str(line.get("qualifier") or "")
        text = " ".join(f"ADX {a.get('code')} {a.get('amount')}" for a in adjustments)
        if qualifier and qualifier not in INVOICE_QUALIFIERS:
            text = f"{qualifier} {line.get('reference')} {text}".strip()
        lines.append(
            RemittanceLine(
                reference=str(line.get("reference") or "")
                if not qualifier or qualifier in INVOICE_QUALIFIERS
                else "",
                paid=money(line.get("paid"), f"{field}.paid"),
                discount=money(line.get("discount"), f"{field}.discount") or ZERO,
                adjustment=kept,
                reason_code=str(largest.get("code") or "") if largest else "",
                text=text if qualifier else f"payment-level {text}",
                invoice_amount=money(line.get("invoice_amount"), f"{field}.invoice_amount"),
            )
        )
    paid_on = record.get("paid_on")
    try:
        on = date.fromisoformat(paid_on) if paid_on else None
    except (TypeError, ValueError):
        raise MappingError(f"paid_on: “{paid_on}” is not a date") from None
    return AdviceIn(
        customer_id=record.get("customer") if isinstance(record.get("customer"), int) else None,
        payer_name=str(record.get("payer_name") or ""),
        reference=reference[:100],
        amount=money(record.get("amount"), "amount", required=True),
        currency=str(record.get("currency") or "USD")[:3],
        method=str(record.get("method") or "")[:8],
        paid_on=on,
        lines=tuple(lines),
    )
