"""The payment-risk model: for an open invoice, how likely the customer pays it after its due date,
and by about how many days, and why, in business words.

Features, each as of the invoice's issue date (training never lets an invoice see payments made
after it was issued): the amount (log), the payment terms in days, and the customer's earlier paid
invoices: the share paid late (smoothed toward everyone's share) and the mean days late (log). A logistic regression for "late", a ridge regression for the days late
(expected, on time counting as none), both
on the same standardised features and kept as JSON on the version.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q

from billing.models import FINAL_STATES, Invoice, InvoiceState

SMOOTHING = 3.0
#: (How many invoices a customer has paid is not a feature: it only grows, so the most recent
#: invoices would always lie beyond what the model was trained on.)
NUMERIC = ("amount_log", "terms_days", "customer_late_rate", "customer_days_late")
#: Scored and shown: released invoices with money still owed on them.
OPEN_STATES = [s for s in FINAL_STATES if s != InvoiceState.PAID]


class Tally:
    """Paid invoices counted per customer: [paid, paid late, days late in all]."""

    def __init__(self) -> None:
        self.by_customer: dict[int, list[int]] = {}
        self.overall = [0, 0, 0]

    def add(self, customer_id: int, days_late: int, n: int = 1, late: int | None = None) -> None:
        late = (n if days_late > 0 else 0) if late is None else late
        for counter in (self.by_customer.setdefault(customer_id, [0, 0, 0]), self.overall):
            counter[0] += n
            counter[1] += late
            counter[2] += max(days_late, 0)

    def late_rate(self) -> float:
        return (self.overall[1] + 1) / (self.overall[0] + 2)

    def features(self, customer_id: int, amount, terms_days: int) -> dict[str, float]:
        paid, late, days = self.by_customer.get(customer_id, (0, 0, 0))
        return {
            "amount_log": math.log1p(max(float(amount), 0.0)),
            "terms_days": float(terms_days),
            "customer_late_rate": (late + SMOOTHING * self.late_rate()) / (paid + SMOOTHING),
            "customer_days_late": math.log1p(days / late) if late else 0.0,
        }

    def words(self, customer_id: int) -> dict[str, str]:
        paid, late, days = self.by_customer.get(customer_id, (0, 0, 0))
        history = (
            f"this customer's earlier invoices: {late} of {paid} paid late"
            if paid
            else "no earlier invoice of this customer paid yet"
        )
        return {
            "customer_late_rate": history,
            "customer_days_late": f"when late, this customer paid {days / late:.0f} days late on "
            "average"
            if late
            else "this customer has not paid late before",
        }


@dataclass
class Example:
    invoice_id: int
    issued_on: date
    paid_at: datetime
    customer_id: int
    features: dict[str, float]
    days_late: int

    @property
    def late(self) -> bool:
        return self.days_late > 0


def paid_invoices():
    return Invoice.objects.filter(state=InvoiceState.PAID, paid_at__isnull=False)


def training_examples() -> list[Example]:
    rows = list(
        paid_invoices()
        .values_list("pk", "customer_id", "total", "issued_on", "due_date", "paid_at")
        .order_by("issued_on", "pk")
    )
    by_payment = sorted(rows, key=lambda r: (r[5], r[0]))
    tally, cursor, examples = Tally(), 0, []
    for pk, customer, total, issued, due, paid_at in rows:
        while cursor < len(by_payment) and by_payment[cursor][5].date() < issued:
            done = by_payment[cursor]
            tally.add(done[1], (done[5].date() - done[4]).days)
            cursor += 1
        examples.append(
            Example(pk, issued, paid_at, customer,
                    tally.features(customer, total, (due - issued).days),
                    (paid_at.date() - due).days)
        )  # fmt: skip
    return examples


def current_tally(customer_ids: set[int]) -> Tally:
    """Every invoice paid so far by these customers, and by everyone: two grouped reads."""
    tally = Tally()
    late = Q(paid_at__date__gt=F("due_date"))
    mine = paid_invoices().filter(customer_id__in=customer_ids)
    for customer, n, n_late in (
        mine.values_list("customer_id").annotate(n=Count("pk"), late=Count("pk", filter=late))
        .order_by()
    ):  # fmt: skip
        counter = tally.by_customer.setdefault(customer, [0, 0, 0])
        counter[0], counter[1] = n, n_late
    # the days late of the late ones only (portable: no date arithmetic in SQL)
    for customer, due, paid_at in mine.filter(late).values_list("customer_id", "due_date",
                                                                 "paid_at"):  # fmt: skip
        tally.by_customer[customer][2] += (paid_at.date() - due).days
    overall = paid_invoices().aggregate(n=Count("pk"), late=Count("pk", filter=late))
    tally.overall = [overall["n"], overall["late"], 0]
    return tally


def open_invoices(limit: int, exclude_scored_by: int | None):
    """Open invoices to score, oldest first, skipping those the version already scored."""
    owed = ExpressionWrapper(
        F("total") - F("settled_amount") - F("credited_amount"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    queryset = (
        Invoice.objects.filter(state__in=OPEN_STATES, paid_at__isnull=True)
        .annotate(owed=owed)
        .filter(owed__gt=Decimal("0"))
    )
    if exclude_scored_by is not None:
        from .models import Prediction

        scored = Prediction.objects.filter(version_id=exclude_scored_by, subject="invoice")
        queryset = queryset.exclude(pk__in=scored.values("subject_id"))
    return list(
        queryset.order_by("issued_on", "pk").values_list(
            "pk", "customer_id", "total", "issued_on", "due_date"
        )[:limit]
    )


def vector(features: dict[str, float]) -> list[float]:
    return [features[name] for name in NUMERIC]
