"""Plain inputs and outputs of cash matching: frozen dataclasses, Decimal money, no ORM.

The caller prefetches a batch's invoices and customers into a ``Context``; the engine reads only
what it is given, so the same inputs always give the same result.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from core.money import ZERO

if TYPE_CHECKING:
    from receivables.matching.names import NameIndex


class Outcome:
    AUTO = "auto"  # apply now: confident, clearly ahead of the next, same currency
    SUGGESTED = "suggested"  # an analyst confirms the best candidate in one click
    AMBIGUOUS = "ambiguous"  # two candidates too close to tell apart: an analyst chooses
    UNMATCHED = "unmatched"  # nothing credible: never guessed


class Reason:
    """Reason codes the engine itself puts on a short allocation (remittance codes pass through)."""

    LATE_DISCOUNT = "late_discount"  # a discount taken after the terms' discount date
    DISCOUNT_NOT_ALLOWED = "discount_not_allowed"  # the terms allow no discount on this invoice
    DISCOUNT_OVER_TERMS = "discount_over_terms"  # more discount taken than the terms allow
    TOLERANCE = "tolerance"  # paid within the amount tolerance below the open amount
    CURRENCY = "currency"  # payment and invoice currencies differ: nothing allocated yet


@dataclass(frozen=True)
class OpenInvoice:
    id: int
    number: str  # as issued, e.g. "INV-0000123"
    customer_id: int
    currency: str
    open_amount: Decimal  # total - applied - credited, as of the prefetch
    issued_on: date
    due_date: date
    discount_amount: Decimal = ZERO  # early-payment discount the terms allow; 0 if none
    discount_until: date | None = None  # last value date that earns the discount


class RemittanceLineLike(Protocol):
    """Any remittance line with these attributes (parsers' records carry the same shape)."""

    reference: str
    paid: Decimal | None
    discount: Decimal
    adjustment: Decimal
    reason_code: str
    text: str


@dataclass(frozen=True)
class RemittanceLine:
    reference: str  # the invoice reference as the customer wrote it
    paid: Decimal | None = None  # None when the remittance names the invoice without an amount
    discount: Decimal = ZERO  # discount the customer took
    adjustment: Decimal = ZERO  # short-paid amount the customer deducted, with a reason code
    reason_code: str = ""
    text: str = ""
    invoice_amount: Decimal | None = None  # what the payer believes the invoice was for


@dataclass(frozen=True)
class PaymentIn:
    key: str  # the payment's stable key (bank account + statement + entry reference)
    amount: Decimal
    currency: str
    value_date: date
    payer_name: str = ""
    payer_account_fingerprint: str = ""  # a hash of the payer's account, never the number
    free_text: str = ""
    remittance: tuple[RemittanceLineLike, ...] = ()


@dataclass(frozen=True)
class CustomerInfo:
    id: int
    name: str
    parent_id: int | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Thresholds:
    """The matching thresholds in force (kept in admin, with history)."""

    auto: Decimal = Decimal("0.90")  # apply automatically at or above
    suggest: Decimal = Decimal("0.50")  # suggest at or above; below is unmatched
    margin: Decimal = Decimal("0.10")  # the best must beat the second by at least this
    amount_tolerance: Decimal = Decimal("0.01")  # absolute, in the payment's currency
    max_combination: int = 6  # most invoices one amount-only combination may hold
    #: most invoices an amount-only combination may hold and still apply automatically: the
    #: more invoices, the likelier some subset of a customer's invoices adds up by chance
    auto_combination: int = 2
    combination_pool: int = 20  # invoices per customer family a combination may draw from
    search_budget: int = 3_000  # combination-search nodes per payment, all searches (~3 µs each)
    name_cutoff: int = 85  # fuzzy payer-name score (0-100) below which a name is no evidence
    max_candidates: int = 5  # candidates kept on the result, best first


@dataclass(frozen=True)
class Weights:
    """How much each signal counts; combined as independent evidence (1 - prod(1 - w))."""

    reference_remittance: Decimal = Decimal("0.80")  # a remittance line names the invoice
    reference_text: Decimal = Decimal("0.75")  # free text names it with a prefix ("Inv# 123")
    reference_bare: Decimal = Decimal("0.40")  # a bare zero-padded number in free text
    transposed: Decimal = Decimal("0.55")  # factor on a reference read with two digits swapped
    amount_exact: Decimal = Decimal("0.70")  # one invoice, or the named invoices, add up
    amount_combination: Decimal = Decimal("0.50")  # two unnamed invoices add up; less per extra
    amount_combination_step: Decimal = Decimal("0.05")
    amount_combination_floor: Decimal = Decimal("0.30")
    amount_late_discount: Decimal = Decimal("0.40")  # adds up only with a discount taken late
    amount_overpaid: Decimal = Decimal("0.30")  # covers the named invoices with money left over
    payer_floor: Decimal = Decimal("0.25")  # payer name at the cutoff score ...
    payer_top: Decimal = Decimal("0.70")  # ... and at 100
    parent_factor: Decimal = Decimal("0.85")  # payer is the invoices' parent company
    account: Decimal = Decimal("0.60")  # bank account confirmed for this customer before
    date: Decimal = Decimal("0.05")  # value date within the invoices' terms
    conflict: Decimal = Decimal("0.85")  # factor when the payer looks like another customer
    before_issue: Decimal = Decimal("0.90")  # factor when paid before an invoice was issued
    on_account: Decimal = Decimal("0.50")  # factor when nothing fits: a known payer, no invoice


@dataclass(frozen=True)
class Allocation:
    invoice_id: int
    amount: Decimal  # money from the payment applied to the invoice
    discount: Decimal = ZERO  # discount granted under the invoice's terms
    short: Decimal = ZERO  # left open on the invoice, marked with reason_code (never written off)
    reason_code: str = ""


@dataclass(frozen=True)
class Signal:
    name: str  # reference, amount, payer, account, date; or a factor: conflict, before_issue
    weight: Decimal  # evidence in 0..1, or a multiplying factor for the factor kinds
    text: str


@dataclass(frozen=True)
class Candidate:
    customer_id: int  # who paid: unapplied money goes to this customer's account
    allocations: tuple[Allocation, ...]  # by invoice id
    confidence: Decimal  # 0..1, two decimals
    explanation: str
    unapplied: Decimal  # left of the payment after the allocations: on account
    signals: tuple[Signal, ...] = ()

    @property
    def applied(self) -> Decimal:
        return sum((a.amount for a in self.allocations), ZERO)


@dataclass(frozen=True)
class MatchResult:
    payment_key: str
    outcome: str  # an Outcome value
    candidates: tuple[Candidate, ...]  # best first
    reasons: tuple[str, ...]  # why this outcome, in words

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


@dataclass(frozen=True, eq=False)
class Context:
    """What the caller prefetched for a batch of payments."""

    #: canonical reference key (``reference_key(number)``) -> open invoices with that number
    invoices_by_key: Mapping[str, Sequence[OpenInvoice]] = field(default_factory=dict)
    #: customer -> its open invoices (for the payer candidates and their subsidiaries); those
    #: beyond any amount fit (open less discount above the payment, plus tolerance) may be left out
    open_by_customer: Mapping[int, Sequence[OpenInvoice]] = field(default_factory=dict)
    #: customers the invoices and payers name, with their parents
    customers: Mapping[int, CustomerInfo] = field(default_factory=dict)
    name_index: NameIndex | None = None
    #: payer account fingerprint -> customer, learned from confirmed applications
    customers_by_account: Mapping[str, int] = field(default_factory=dict)
    #: customer -> its chain of parents, remembered for the batch (see ``scoring.lineage``)
    lineages: dict[int, tuple[int, ...]] = field(default_factory=dict, init=False, repr=False)
    #: (payment, thresholds, weights) -> what its references found (``engine._by_reference``),
    #: remembered for the batch: asked first whether a payment reads its payers' open invoices,
    #: then again to match it
    by_reference: dict = field(default_factory=dict, init=False, repr=False)

    def remember(self, earlier: Context) -> Context:
        """This context, knowing what ``earlier`` (the same batch, read so far) worked out."""
        self.lineages.update(earlier.lineages)
        self.by_reference.update(earlier.by_reference)
        return self

    def customer(self, customer_id: int) -> CustomerInfo | None:
        found = self.customers.get(customer_id)
        if found is None and self.name_index is not None:
            found = self.name_index.customers.get(customer_id)
        return found
