"""The case-reason model: for an open deduction or dispute, which category of problem it will turn
out to be (and so which reason and owning queue it belongs to), and why, in business words.

The label is what the person who closed an earlier case found: its root cause, read as a reason
category (a shipment short is a shortage; a customer's own error an unauthorised deduction). The
reason a case was opened under is not the label: it is only what the customer's remittance code
was mapped to, and the mapping is what the model is there to improve on.

Features, as of the case's opening (training never lets a case see one closed after it opened):
the remittance code as written (its own column, for the codes seen often enough), whether it is
a deduction or a dispute, the amount (log), and the customer's earlier closed cases with the same
code: the share of each category among them, smoothed toward the code's share across customers,
and how many there were. A multinomial logistic regression on standardised features; the
explanation is each feature group's contribution to the winning category.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count

from cases.models import CLOSED_STATES, OPEN_STATES, Case, Category, RootCause

#: What each root cause says the case was.
CATEGORY_OF_ROOT = {
    RootCause.PRICE_FILE: Category.PRICING,
    RootCause.SHIPMENT_SHORT: Category.SHORTAGE,
    RootCause.DAMAGE_IN_TRANSIT: Category.DAMAGE,
    RootCause.PROMOTION_NOT_SET_UP: Category.PROMOTION,
    RootCause.FREIGHT_TERMS: Category.FREIGHT,
    RootCause.TAX_SETUP: Category.TAX,
    RootCause.BILLED_TWICE: Category.DUPLICATE_BILLING,
    RootCause.CUSTOMER_ERROR: Category.UNAUTHORISED,
    RootCause.OTHER: Category.OTHER,
}
CLASSES = [c.value for c in Category]
SMOOTHING = 2.0
#: A code needs this many training cases for a column of its own; rarer ones share "code=?".
MIN_CODE_CASES = 5
NUMERIC = ("amount_log", "dispute", "pair_count")


def code_of(raw: str) -> str:
    return (raw or "").strip().upper()


class Tally:
    """Closed cases counted by (customer, code) and by code, per category."""

    def __init__(self) -> None:
        self.by_pair: dict[tuple[int, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.by_code: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(self, customer_id: int, code: str, category: str, n: int = 1) -> None:
        self.by_pair[(customer_id, code)][category] += n
        self.by_code[code][category] += n

    def code_shares(self, code: str) -> dict[str, float]:
        counts = self.by_code.get(code, {})
        total = sum(counts.values())
        return {k: (counts.get(k, 0) + 1 / len(CLASSES)) / (total + 1) for k in CLASSES}

    def features(self, customer_id: int, code: str, kind: str, amount) -> dict[str, float]:
        prior = self.code_shares(code)
        counts = self.by_pair.get((customer_id, code), {})
        total = sum(counts.values())
        shares = {
            f"pair={k}": (counts.get(k, 0) + SMOOTHING * prior[k]) / (total + SMOOTHING)
            for k in CLASSES
        }
        return {
            "amount_log": math.log1p(max(float(amount), 0.0)),
            "dispute": 1.0 if kind == Case.Kind.DISPUTE else 0.0,
            "pair_count": math.log1p(total),
            **shares,
        }

    def words(self, customer_id: int, code: str, category: str) -> str:
        counts = self.by_pair.get((customer_id, code), {})
        total = sum(counts.values())
        label = Category(category).label.lower()
        shown = code or "no code"
        if not total:
            return f"no earlier case of this customer's with {shown}"
        return f"this customer's earlier cases with {shown}: {counts.get(category, 0)} of {total} {label}"

    def code_words(self, code: str, category: str) -> str:
        counts = self.by_code.get(code, {})
        total = sum(counts.values())
        label = Category(category).label.lower()
        shown = f"code {code}" if code else "no code"
        if not total:
            return f"{shown}: never seen closed before"
        return f"{shown} across customers: {counts.get(category, 0)} of {total} {label}"


@dataclass
class Example:
    case_id: int
    opened_at: datetime
    resolved_at: datetime
    customer_id: int
    code: str
    features: dict[str, float]
    category: str


def closed_cases():
    """Cases a person closed with a root cause (withdrawn ones found nothing)."""
    return Case.objects.filter(state__in=CLOSED_STATES).exclude(root_cause="")


def training_examples() -> list[Example]:
    rows = list(
        closed_cases()
        .values_list(
            "pk", "customer_id", "remittance_code", "kind", "amount", "opened_at",
            "resolved_at", "root_cause",
        )
        .order_by("opened_at", "pk")
    )  # fmt: skip
    by_resolution = sorted(rows, key=lambda r: (r[6], r[0]))
    tally, cursor, examples = Tally(), 0, []
    for pk, customer, code, kind, amount, opened, resolved, root in rows:
        while cursor < len(by_resolution) and by_resolution[cursor][6] < opened:
            done = by_resolution[cursor]
            tally.add(done[1], code_of(done[2]), CATEGORY_OF_ROOT[done[7]])
            cursor += 1
        code = code_of(code)
        examples.append(
            Example(pk, opened, resolved, customer, code,
                    tally.features(customer, code, kind, amount), CATEGORY_OF_ROOT[root])
        )  # fmt: skip
    return examples


def current_tally(pairs: set[tuple[int, str]]) -> Tally:
    """Everything closed so far, for scoring open cases now: two grouped reads."""
    tally = Tally()
    customers = {customer for customer, _ in pairs}
    codes = {code for _, code in pairs}
    closed = closed_cases()
    for customer, code, root, n in (
        closed.filter(customer_id__in=customers)
        .values_list("customer_id", "remittance_code", "root_cause")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        if (customer, code_of(code)) in pairs:
            tally.by_pair[(customer, code_of(code))][CATEGORY_OF_ROOT[root]] += n
    for code, root, n in (
        closed.values_list("remittance_code", "root_cause").annotate(n=Count("pk")).order_by()
    ):
        if code_of(code) in codes:
            tally.by_code[code_of(code)][CATEGORY_OF_ROOT[root]] += n
    return tally


def open_cases(limit: int, exclude_scored_by: int | None):
    """Open cases to score (not yet claimed or being worked), oldest first."""
    queryset = Case.objects.filter(state__in=OPEN_STATES)
    if exclude_scored_by is not None:
        from .models import Prediction

        scored = Prediction.objects.filter(version_id=exclude_scored_by, subject="case").values(
            "subject_id"
        )
        queryset = queryset.exclude(pk__in=scored)
    return list(
        queryset.order_by("opened_at", "pk").values_list(
            "pk", "customer_id", "remittance_code", "kind", "amount"
        )[:limit]
    )


def feature_names(codes: list[str]) -> list[str]:
    return [*NUMERIC, *(f"pair={k}" for k in CLASSES), *(f"code={c}" for c in codes), "code=?"]


def vector(features: dict[str, float], code: str, codes: list[str]) -> list[float]:
    known = code in codes
    return (
        [features[name] for name in NUMERIC]
        + [features[f"pair={k}"] for k in CLASSES]
        + [1.0 if code == c else 0.0 for c in codes]
        + [0.0 if known else 1.0]
    )
