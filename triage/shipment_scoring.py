"""Scoring released orders with the late-shipment model's active version, as its mode allows:
shadow records; suggest (and act: the model only queues work, so it acts no further) writes the
expectation to ``Order.ship_risk`` for the order page and the API, and an order called late (at
the model's threshold) enters the proactive customer-service queue (``orders.ShipWatch``), whose
owners are told: the customer-service people of the customer's territory, or all of them when
nobody is assigned to it.

Each run also records outcomes (an order since shipped in full: did it arrive after its requested
date) and closes the queue's entries whose order shipped or was cancelled."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from core.models import NoticeKind
from core.roles import Role
from exceptions.notifications import notify_people
from orders.models import Order, OrderState
from orders.services import ship_watch_open, ship_watches_settle

from . import late_shipment
from .models import SHOWN_MODES, Mode, Prediction, TriageModel
from .scoring import BATCH, FACTORS, active_scorer, outcomes_write

logger = logging.getLogger(__name__)
SUBJECT = "order_ship"
GROUPS = {
    "slack_days": "slack",
    "lines_log": "size",
    "quantity_log": "size",
    "stock_held": "stock",
    "backlog_log": "backlog",
    "carrier_late_rate": "carrier",
    "customer_late_rate": "customer",
}


def orders_ship_score(*, limit: int = BATCH) -> dict[str, int | str]:
    model = TriageModel.objects.filter(name=TriageModel.LATE_SHIPMENT).first()
    if model is None or model.mode == Mode.OFF:
        return {"scored": 0, "why": "the model is off"}
    recorded = ship_outcomes_record(model)
    settled = ship_watches_settle()
    version, scorer, why = active_scorer(model)
    if scorer is None:
        (logger.warning if version is not None else logger.info)("Orders not scored: %s", why)
        if version is not None:
            ship_risk_clear()
        return {"scored": 0, "why": why, "outcomes": recorded, "settled": settled}
    shown = model.mode in SHOWN_MODES
    rows = late_shipment.open_orders(limit, exclude_scored_by=version.pk)
    if not rows:
        return {"scored": 0, "outcomes": recorded, "settled": settled}
    live = late_shipment.live_features(rows, late_shipment.current_tally())
    threshold, now = float(model.threshold), timezone.now()
    predictions, shown_on, late = [], {}, []
    for pk, _, requested, _ in rows:
        features, words, facts = live[pk]
        probability = scorer.probability(features)
        factors = _factors(scorer, features, facts, words)
        label = (
            "late" if probability >= threshold
            else "on_time" if probability <= 1 - threshold else "uncertain"
        )  # fmt: skip
        predictions.append(
            Prediction(version=version, subject=SUBJECT, subject_id=pk, label=label,
                       probability=Decimal(f"{probability:.4f}"), factors=factors, shown=shown,
                       made_at=now)
        )  # fmt: skip
        if shown:
            shown_on[pk] = _expectation(model, version, probability, requested, factors)
            if label == "late":
                late.append((pk, probability, requested, shown_on[pk]["text"]))
    with transaction.atomic():
        Prediction.objects.bulk_create(predictions, batch_size=1000, ignore_conflicts=True)
        if shown_on:
            Order.objects.bulk_update(
                [Order(pk=pk, ship_risk=e) for pk, e in shown_on.items()], ["ship_risk"],
                batch_size=1000,
            )  # fmt: skip
    queued = _queue(late, f"{model.name} v{version.number}")
    return {"scored": len(predictions), "shown": len(shown_on), "queued": queued,
            "outcomes": recorded, "settled": settled}  # fmt: skip


def _queue(late: list[tuple], by: str) -> int:
    """Open a customer-service entry for each order called late, and tell its owners: once per
    run each, naming the order (one) or the orders (several, the soonest first)."""
    if not late:
        return 0
    facts = {
        pk: (number, territory)
        for pk, number, territory in Order.objects.filter(
            pk__in=[pk for pk, *_ in late]
        ).values_list("pk", "number", "customer__territory")
    }
    owners = _owners({territory for _, territory in facts.values()})
    told: dict[int, tuple] = {}  # person pk -> (person, [(requested, number, text)])
    opened = 0
    for pk, probability, requested, text in sorted(late, key=lambda r: (r[2], r[0])):
        watch = ship_watch_open(
            order_id=pk, probability=Decimal(f"{probability:.4f}"), requested_date=requested,
            reason=f"{by}: {text}",
        )  # fmt: skip
        if watch is None:
            continue  # already queued, or shipped meanwhile
        opened += 1
        number, territory = facts[pk]
        for person in owners.get(territory) or owners[None]:
            told.setdefault(person.pk, (person, []))[1].append((requested, number, text))
    for person, orders in told.values():
        notify_people([person], _notice(orders), kind=NoticeKind.LATE_SHIPMENT)
    return opened


def _notice(orders: list[tuple]) -> str:
    if len(orders) == 1:
        requested, number, text = orders[0]
        return f"Order {number} may miss its requested date {requested:%Y-%m-%d}: {text}"
    named = ", ".join(number for _, number, _ in orders[:5])
    more = f" and {len(orders) - 5} more" if len(orders) > 5 else ""
    return (
        f"{len(orders)} orders may miss their requested dates: {named}{more}. "
        "See At risk, soonest first."
    )


def _owners(territories: set[str]) -> dict[str | None, list]:
    """territory -> the customer-service people assigned to it; None -> those limited to no
    territory (they may open every order: the fallback for a territory nobody is assigned to,
    never someone who would meet a 403 on the order named)."""
    people = list(
        get_user_model()
        .objects.filter(groups__name=Role.CUSTOMER_SERVICE, is_active=True)
        .prefetch_related("territories")
        .distinct()
    )
    owners: dict[str | None, list] = {None: []}
    for person in people:
        assigned = [a.territory for a in person.territories.all()]
        if not assigned:
            owners[None].append(person)
        for territory in assigned:
            if territory in territories:
                owners.setdefault(territory, []).append(person)
    return owners


def _factors(scorer, features, facts: dict, words: dict[str, str]) -> list[dict]:
    weights: dict[str, float] = {}
    for name, weight in zip(scorer.names, scorer.contributions(features), strict=True):
        weights[GROUPS[name]] = weights.get(GROUPS[name], 0.0) + weight
    texts = {
        "slack": f"{facts['slack']} days from release to the requested date",
        "size": f"{facts['lines']} lines, {facts['units']:,.0f} units",
        "stock": "held for stock before release" if facts["held"] else "no stock hold",
        "backlog": f"{facts['backlog']} other released orders waiting at its warehouse",
        "carrier": words["carrier"],
        "customer": words["customer"],
    }
    named = [
        {"text": texts[group], "direction": "+" if weight > 0 else "-", "weight": round(weight, 3)}
        for group, weight in weights.items()
    ]
    named.sort(key=lambda f: -abs(f["weight"]))
    return named[:FACTORS]


def _expectation(model, version, probability: float, requested, factors) -> dict:
    if probability >= float(model.threshold):
        text = f"Likely late, {probability:.0%}: may arrive after {requested:%Y-%m-%d}"
    elif probability <= 1 - float(model.threshold):
        text = f"Likely on time, {1 - probability:.0%}"
    else:
        text = f"Uncertain: {probability:.0%} chance of arriving late"
    return {"probability": round(probability, 4), "text": text, "factors": factors,
            "late": probability >= float(model.threshold), "model": model.name,
            "version": version.number}  # fmt: skip


def ship_risk_clear() -> int:
    """Take every expectation off the order pages (only orders a model showed one on)."""
    shown = Prediction.objects.filter(subject=SUBJECT, shown=True).values("subject_id")
    return Order.objects.filter(pk__in=shown).exclude(ship_risk={}).update(ship_risk={})


def ship_outcomes_record(model: TriageModel, *, limit: int = BATCH) -> int:
    """Scored orders since shipped in full (their last shipment arrived, or the requested date
    has passed): late or on time, on the latest prediction of each; a cancelled order's
    predictions are superseded. The expectation comes off the order."""
    pending = Prediction.objects.filter(version__model=model, subject=SUBJECT, outcome="")
    finished = dict(
        Order.objects.filter(
            Q(state__in=late_shipment.DONE_STATES) | Q(state=OrderState.CANCELLED),
            pk__in=pending.values("subject_id"),
        ).values_list("pk", "requested_date")[:limit]
    )
    if not finished:
        return 0
    arrivals = late_shipment.arrivals_of(list(finished))
    today = timezone.localdate()
    latest: dict[int, Prediction] = {}
    for p in pending.filter(subject_id__in=finished).order_by("subject_id", "made_at", "pk"):
        latest[p.subject_id] = p
    decided = []
    for pk, p in latest.items():
        arrival = arrivals.get(pk)
        if arrival is None:
            continue  # cancelled (or nothing shipped): superseded below
        shipped, arrived, _ = arrival
        late = late_shipment.arrived_late(finished[pk], arrived)
        if not late and arrived == shipped and today <= finished[pk]:
            continue  # shipped on time but not yet delivered: it may still arrive late
        p.outcome, p.decided_at = ("late" if late else "on_time"), arrived
        decided.append(p)
    with transaction.atomic():
        outcomes_write(decided)
        done = {p.subject_id for p in decided}
        gone = [pk for pk in finished if pk not in arrivals]
        pending.filter(subject_id__in=done | set(gone)).exclude(
            pk__in=[p.pk for p in decided]
        ).update(outcome="superseded")
        Order.objects.filter(pk__in=done | set(gone)).exclude(ship_risk={}).update(ship_risk={})
    return len(decided)
