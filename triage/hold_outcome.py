"""The hold-outcome model: for an open hold, how likely a person releases it rather than rejects it,
and why, in business words.

Features, each as of the moment the hold was raised (training never lets a hold see decisions
made after it): the hold's reason; its value at risk (log); the customer's earlier decided holds
of the same reason and of any reason, as a release rate smoothed toward the reason's overall
rate, and how many there were. A logistic regression on standardised features: its per-feature
contributions (coefficient × standardised value) are the explanation, and its parameters are
plain numbers kept as JSON on the version.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count

from core.roles import get_system_user
from exceptions.models import ACTIVE_STATES, Hold, HoldState
from exceptions.models.hold import MODEL_RELEASE

#: How many decisions of prior weight the reason's overall rate carries in a customer's rate.
SMOOTHING = 2.0
NUMERIC = ("value_log", "customer_reason_rate", "customer_reason_count", "customer_rate")


@dataclass
class Decided:
    customer_id: int
    reason: str
    released: bool


class Tally:
    """Decided holds counted by customer and reason, by reason, and by customer."""

    def __init__(self) -> None:
        self.by_pair: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
        self.by_reason: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        self.by_customer: dict[int, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, customer_id: int, reason: str, released: bool, n: int = 1) -> None:
        for counter in (
            self.by_pair[(customer_id, reason)],
            self.by_reason[reason],
            self.by_customer[customer_id],
        ):
            counter[0] += n
            counter[1] += n if released else 0

    def reason_rate(self, reason: str) -> float:
        total, released = self.by_reason.get(reason, (0, 0))
        return (released + 1) / (total + 2)  # Laplace: an unseen reason is a coin toss

    def features(self, customer_id: int, reason: str, value: Decimal) -> dict[str, float]:
        prior = self.reason_rate(reason)
        pair_total, pair_released = self.by_pair.get((customer_id, reason), (0, 0))
        all_total, all_released = self.by_customer.get(customer_id, (0, 0))
        return {
            "value_log": math.log1p(max(float(value), 0.0)),
            "customer_reason_rate": (pair_released + SMOOTHING * prior) / (pair_total + SMOOTHING),
            "customer_reason_count": math.log1p(pair_total),
            "customer_rate": (all_released + SMOOTHING * prior) / (all_total + SMOOTHING),
        }

    def words(self, customer_id: int, reason: str) -> dict[str, str]:
        pair_total, pair_released = self.by_pair.get((customer_id, reason), (0, 0))
        all_total, all_released = self.by_customer.get(customer_id, (0, 0))
        total, released = self.by_reason.get(reason, (0, 0))
        pair = (
            f"this customer's earlier {reason} holds: {pair_released} of {pair_total} released"
            if pair_total
            else f"no earlier {reason} hold for this customer"
        )
        return {
            "customer_reason_rate": pair,
            "customer_reason_count": pair,
            "customer_rate": f"this customer's earlier holds: {all_released} of {all_total} released"
            if all_total
            else "no earlier hold for this customer",
            "reason": f"{reason} holds: {released} of {total} released overall"
            if total
            else f"no {reason} hold decided yet",
        }


@dataclass
class Example:
    hold_id: int
    raised_at: datetime
    resolved_at: datetime
    reason: str
    features: dict[str, float]
    released: bool


#: A hold cleared because its cause went away (a fix, a cancelled order, re-evaluation) is
#: released by no one's judgement, whoever's action cleared it.
CLEARED = "CLEARED"


def decided_holds():
    """Holds a person decided: released or rejected by someone, not cleared, and not released by
    a model (a model learning from its own releases would only grow surer of itself)."""
    system = get_system_user()
    return (
        Hold.objects.filter(state__in=(HoldState.RELEASED, HoldState.REJECTED))
        .exclude(resolved_by__isnull=True)
        .exclude(resolved_by=system)
        .exclude(resolution_code__in=(CLEARED, MODEL_RELEASE))
    )


def training_examples() -> list[Example]:
    """Every decided hold with its features as of its raising, oldest first: a decision counts
    toward a later hold only once it was made."""
    rows = list(
        decided_holds()
        .values_list(
            "pk", "order__customer_id", "reason__code", "value_at_risk", "raised_at",
            "resolved_at", "state",
        )
        .order_by("raised_at", "pk")
    )  # fmt: skip
    by_resolution = sorted(rows, key=lambda r: (r[5], r[0]))
    tally, cursor, examples = Tally(), 0, []
    for pk, customer, reason, value, raised, resolved, state in rows:
        while cursor < len(by_resolution) and by_resolution[cursor][5] < raised:
            done = by_resolution[cursor]
            tally.add(done[1], done[2], done[6] == HoldState.RELEASED)
            cursor += 1
        examples.append(
            Example(pk, raised, resolved, reason, tally.features(customer, reason, value),
                    state == HoldState.RELEASED)
        )  # fmt: skip
    return examples


def current_tally(customer_ids: set[int], reasons: set[str]) -> Tally:
    """Everything decided so far, for scoring open holds now: two grouped reads. (An open hold
    is scored with what is known at scoring time, which includes decisions made since it was
    raised; training reads each example as of its raising, the moment its decision was open.)"""
    tally = Tally()
    decided = decided_holds()
    for customer, reason, state, n in (
        decided.filter(order__customer_id__in=customer_ids)
        .values_list("order__customer_id", "reason__code", "state")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        pair, customer_total = tally.by_pair[(customer, reason)], tally.by_customer[customer]
        for counter in (pair, customer_total):
            counter[0] += n
            counter[1] += n if state == HoldState.RELEASED else 0
    for reason, state, n in (
        decided.filter(reason__code__in=reasons)
        .values_list("reason__code", "state")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counter = tally.by_reason[reason]
        counter[0] += n
        counter[1] += n if state == HoldState.RELEASED else 0
    return tally


def open_holds(limit: int, exclude_scored_by: int | None):
    """Open holds to score, oldest first, skipping those the version already scored."""
    queryset = Hold.objects.filter(state__in=ACTIVE_STATES)
    if exclude_scored_by is not None:
        from .models import Prediction

        scored = Prediction.objects.filter(version_id=exclude_scored_by, subject="hold").values(
            "subject_id"
        )
        queryset = queryset.exclude(pk__in=scored)
    return list(
        queryset.order_by("raised_at", "pk").values_list(
            "pk", "order__customer_id", "reason__code", "value_at_risk", "raised_at"
        )[:limit]
    )


def vector(features: dict[str, float], reason: str, reasons: list[str]) -> list[float]:
    return [features[name] for name in NUMERIC] + [1.0 if reason == r else 0.0 for r in reasons]


def feature_names(reasons: list[str]) -> list[str]:
    return [*NUMERIC, *(f"reason={r}" for r in reasons)]
