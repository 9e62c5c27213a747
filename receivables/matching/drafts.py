"""A candidate before it is scored, and the money rules every draft obeys.

Whatever builds a draft (references or amounts), ``Ledger`` is the one place money is allocated:
never more than an invoice's open amount (allocation, discount and short together), never more
than is left of the payment; a discount only under the invoice's terms and on time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal

from core.money import CENT, ZERO
from receivables.matching.types import Allocation, OpenInvoice, Reason, Signal


def money(value: Decimal) -> str:
    return f"{value:,.2f}"


def percent(part: Decimal, whole: Decimal) -> str:
    if whole <= 0:
        return ""
    share = (part * 100 / whole).quantize(Decimal("0.1")).normalize()
    return f"{share:f} % "


def discount_state(invoice: OpenInvoice, value_date: date) -> str:
    """'none' when the terms allow no discount, else 'on_time' or 'late' for this value date."""
    if invoice.discount_amount <= 0 or invoice.discount_until is None:
        return "none"
    return "on_time" if value_date <= invoice.discount_until else "late"


def numbers(invoices: list[OpenInvoice], most: int = 3) -> str:
    shown = ", ".join(inv.number for inv in invoices[:most])
    more = len(invoices) - most
    return f"{shown} and {more} more" if more > 0 else shown


@dataclass(frozen=True)
class Plan:
    """What one invoice should get from the payment, before the ledger's caps."""

    invoice: OpenInvoice
    paid: Decimal
    discount: Decimal = ZERO
    short: Decimal = ZERO
    reason_code: str = ""


@dataclass
class Draft:
    """A way to read the payment: whose it is and which invoices it pays, not yet scored."""

    customer_id: int
    allocations: list[Allocation]
    invoices: dict[int, OpenInvoice]
    unapplied: Decimal
    settles: bool  # the allocations account for the whole payment as the evidence describes it
    guessed: bool = False  # how the money splits across invoices is a guess: never automatic
    combined: int = 0  # invoices an amount-only combination put together (0: not one)
    amount: Signal | None = None  # the amount evidence, phrased by whoever built the draft
    notes: list[str] = field(default_factory=list)  # what an analyst must know: shorts, leftovers


class Ledger:
    """Allocates one payment across invoices, enforcing the money rules as it goes."""

    def __init__(self, payment_amount: Decimal, value_date: date, tolerance: Decimal) -> None:
        self.remaining = payment_amount
        self.value_date = value_date
        self.tolerance = tolerance
        self.allocations: dict[int, Allocation] = {}
        self.invoices: dict[int, OpenInvoice] = {}
        self.capped = False  # the payment ran out before an invoice got what it was meant to
        self.guessed = False  # the split across invoices follows a rule, not the customer
        self.notes: list[str] = []

    def room(self, invoice: OpenInvoice) -> Decimal:
        """What the invoice can still take: its open amount less anything already allocated."""
        taken = self.allocations.get(invoice.id)
        used = taken.amount + taken.discount + taken.short if taken else ZERO
        return max(invoice.open_amount - used, ZERO)

    def discount(self, invoice: OpenInvoice, claimed: Decimal) -> tuple[Decimal, Decimal, str]:
        """(granted, denied, reason) for a discount the customer took on ``invoice``."""
        if claimed <= 0:
            return ZERO, ZERO, ""
        state = discount_state(invoice, self.value_date)
        if state == "none":
            return ZERO, claimed, Reason.DISCOUNT_NOT_ALLOWED
        if state == "late":
            return ZERO, claimed, Reason.LATE_DISCOUNT
        if claimed > invoice.discount_amount + self.tolerance:
            excess = claimed - invoice.discount_amount
            return invoice.discount_amount, excess, Reason.DISCOUNT_OVER_TERMS
        return min(claimed, invoice.discount_amount), ZERO, ""

    def allocate(
        self,
        invoice: OpenInvoice,
        paid: Decimal,
        *,
        discount: Decimal = ZERO,
        short: Decimal = ZERO,
        reason_code: str = "",
    ) -> Allocation:
        """Apply ``paid`` (capped by the invoice's room and the payment left), then the granted
        ``discount`` and the ``short`` remainder within what is left open on the invoice."""
        room = self.room(invoice)
        wanted = max(min(paid, room), ZERO).quantize(CENT)
        amount = min(wanted, max(self.remaining, ZERO))
        if amount < wanted:
            self.capped = True
            discount = short = ZERO  # an invoice the payment cannot cover is not settled
        discount = max(min(discount, room - amount), ZERO).quantize(CENT)
        short = max(min(short, room - amount - discount), ZERO).quantize(CENT)
        previous = self.allocations.get(invoice.id)
        if previous is not None:
            amount += previous.amount
            discount += previous.discount
            short += previous.short
            reason_code = reason_code or previous.reason_code
        self.remaining -= amount - (previous.amount if previous else ZERO)
        allocation = Allocation(invoice.id, amount, discount, short, reason_code if short else "")
        self.allocations[invoice.id] = allocation
        self.invoices[invoice.id] = invoice
        return allocation

    def name(self, invoice: OpenInvoice) -> None:
        """List an invoice the payment names but cannot pay yet (a different currency)."""
        if invoice.id not in self.allocations:
            self.allocations[invoice.id] = Allocation(invoice.id, ZERO, reason_code=Reason.CURRENCY)
            self.invoices[invoice.id] = invoice

    def apply(self, plans: list[Plan]) -> None:
        """Allocate ``plans`` in order. When they ask a few cents (within the tolerance) more than
        is left of the payment, the last one pays that much less and leaves it open as a short."""
        asked = sum((min(p.paid, p.invoice.open_amount) for p in plans), ZERO)
        excess = asked - self.remaining
        if plans and 0 < excess <= self.tolerance:
            last = plans[-1]
            plans = [
                *plans[:-1],
                replace(
                    last,
                    paid=last.paid - excess,
                    short=last.short + excess,
                    reason_code=last.reason_code or Reason.TOLERANCE,
                ),
            ]
        for plan in plans:
            self.allocate(
                plan.invoice,
                plan.paid,
                discount=plan.discount,
                short=plan.short,
                reason_code=plan.reason_code,
            )

    def draft(self, customer_id: int, *, settles: bool, amount: Signal | None) -> Draft:
        unapplied = max(self.remaining, ZERO)
        return Draft(
            customer_id=customer_id,
            allocations=[self.allocations[k] for k in sorted(self.allocations)],
            invoices=self.invoices,
            unapplied=unapplied,
            settles=settles and not self.capped and unapplied <= self.tolerance,
            guessed=self.guessed,
            amount=amount,
            notes=list(self.notes),
        )
