"""A payment of the sandbox bank: what it truly settles, how its remittance was mistyped, and
the noise mix that decides both; the invoice as a customer sees it when paying."""

import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from .statements import Credit, Remit, quantum

ZERO = Decimal("0")

#: The noise mix: each a probability from 0 to 1 (``bank_noise`` switch). Tuned so that a careful
#: matcher can apply about nine payments in ten automatically and must leave the rest to people.
DEFAULT_NOISE = {
    # How much a payment for one invoice pays (the rest pay the invoice exactly):
    "partial": 0.04,  # part of the invoice; the rest stays open
    "discount": 0.15,  # the early-payment discount, within its window (customers on such terms)
    "late_discount": 0.04,  # the discount taken after its window closed
    "short": 0.06,  # less, with a reason code for what was taken off
    "over": 0.03,  # more than the invoice
    # Who pays, and how many invoices at once:
    "bundle": 0.25,  # a customer with several invoices due pays them in one payment
    "parent": 0.35,  # a subsidiary's payment comes from its parent company
    "unknown_payer": 0.03,  # after each payment, money from someone nobody knows
    # How the remittance and the statement are written:
    "reference_missing": 0.06,  # no invoice named (exact payments and bundles only)
    "reference_no_prefix": 0.04,  # "0000123" for INV-0000123
    "reference_no_zeros": 0.04,  # "INV-123"
    "reference_transposed": 0.04,  # two adjacent digits swapped: "INV-0000132"
    "name_variant": 0.25,  # the payer's name written another way ("SUMMIT FOODS CORPORATION")
    "duplicate": 0.02,  # the entry listed twice in its file (BAI2 and camt.053 only)
}
REFERENCE_NOISE = (
    "reference_missing",
    "reference_no_prefix",
    "reference_no_zeros",
    "reference_transposed",
)
#: Why customers pay less: the codes they write beside the amount taken off.
REASONS = {
    "DMG": "damaged goods",
    "SHT": "short shipment",
    "PRC": "price difference",
    "FRT": "freight charged in error",
    "PRO": "promotion allowance",
    "RET": "goods returned",
}


@dataclass(frozen=True)
class Applied:
    """What a payment truly settles on one invoice."""

    invoice: str
    applied: Decimal
    discount: Decimal = ZERO
    short: Decimal = ZERO
    reason_code: str = ""

    def as_json(self) -> dict:
        return {
            "invoice": self.invoice,
            "applied": str(self.applied),
            "discount": str(self.discount),
            "short": str(self.short),
            "reason_code": self.reason_code,
        }


@dataclass
class Payment:
    """One payment: as the bank lists it (``credit``) and what it truly pays."""

    id: str
    kind: str
    noise: list[str]
    customer: str | None  # whose invoices it pays (None: nobody known)
    payer: str | None  # who sent it: the customer, its parent, or None
    format: str
    amount: Decimal
    currency: str
    value_date: date
    method: str
    payer_name: str
    payer_account: str
    applies: list[Applied]
    remittance: list[Remit]
    free_text: str = ""
    on_account: Decimal = ZERO
    unknown: Decimal = ZERO
    duplicated: bool = False
    #: "edi820": its remittance goes by the EDI buyer's 820, not with the money
    via: str = ""
    credit: Credit | None = None
    file: str = ""
    statement_id: str = ""
    bank_account: str = ""

    def as_json(self) -> dict:
        return {
            "payment": self.id,
            "file": self.file,
            "format": self.format,
            "bank_account": self.bank_account,
            "statement_id": self.statement_id,
            "entry_reference": self.credit.reference if self.credit else "",
            "amount": str(self.amount),
            "currency": self.currency,
            "value_date": self.value_date.isoformat(),
            "method": self.method,
            "kind": self.kind,
            "noise": list(self.noise),
            "customer": self.customer,
            "payer": self.payer,
            "payer_name": self.payer_name,
            "payer_account": self.payer_account,
            "duplicated": self.duplicated,
            "remittance_via": self.via or self.format,
            "applies": [a.as_json() for a in self.applies],
            "on_account": str(self.on_account),
            "unknown": str(self.unknown),
        }


@dataclass(frozen=True)
class StatementFile:
    """A statement file as the stream serves it; written once, never changed."""

    id: str
    format: str
    bank_account: str
    content: str

    def record(self) -> dict:
        return {
            "id": self.id,
            "version": 1,
            "format": self.format,
            "bank_account": self.bank_account,
            "content": self.content,
        }


@dataclass
class Due:
    number: str
    customer: str
    currency: str
    open: Decimal
    issued: date
    due: date


def decimal_or_none(value) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None else None
    except InvalidOperation:
        return None


def _date(value, default: date) -> date:
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return default


def due_of(invoice: dict, credited: dict[str, Decimal]) -> Due | None:
    """The invoice as a customer would pay it; None if it states no positive amount to pay."""
    total = decimal_or_none(invoice.get("total"))
    number, customer = invoice.get("number"), invoice.get("customer")
    if total is None or not number or not customer:
        return None
    currency = str(invoice.get("currency") or "USD")
    open_amount = (total - credited.get(number, ZERO)).quantize(quantum(currency))
    if open_amount <= 0:
        return None
    issued = _date(invoice.get("issued_on"), date(2026, 11, 23))
    return Due(
        number=str(number),
        customer=str(customer),
        currency=currency,
        open=open_amount,
        issued=issued,
        due=_date(invoice.get("due_date"), issued + timedelta(days=30)),
    )


def fraction(rng: random.Random) -> Decimal:
    return Decimal(rng.choice([25, 40, 50, 60, 75])) / 100


def miswritten(number: str, how: str, rng: random.Random) -> str | None:
    """``number`` as a payer mistyped it (``how``: a REFERENCE_NOISE name), or None where that
    mistake cannot happen to this number (no leading zeros to drop, no digits to swap)."""
    start = next((i for i, ch in enumerate(number) if ch.isdigit()), None)
    if start is None:
        return None
    prefix, digits = number[:start], number[start:]
    if how == "reference_no_prefix":
        return digits if prefix else None
    if how == "reference_no_zeros":
        stripped = digits.lstrip("0")
        return prefix + stripped if stripped and stripped != digits else None
    # Swap two adjacent different digits (a typing slip), in the significant part where it
    # has two, else across its first digit and the zero before it ("0000007" -> "0000070").
    zeros = len(digits) - len(digits.lstrip("0"))
    spots = [i for i in range(zeros, len(digits) - 1) if _swappable(digits, i)]
    spots = spots or [i for i in range(max(zeros - 1, 0), len(digits) - 1) if _swappable(digits, i)]
    if not spots:
        return None
    i = rng.choice(spots)
    return prefix + digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]


def _swappable(digits: str, i: int) -> bool:
    return digits[i] != digits[i + 1] and digits[i].isdigit() and digits[i + 1].isdigit()
