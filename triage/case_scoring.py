"""Scoring open deductions and disputes with the case-reason model's active version, as its mode
allows: shadow records; suggest also writes the suggestion to ``Case.suggestion`` for the case
queue and page: the category, the reason and queue it belongs to, with the three strongest factors
in words; act does as suggest, then routes the unrouted cases it is surest of (``cases_act``), as
its version's account, and a person routes them again to undo it.

Each run also records outcomes: a scored case since closed with a root cause gets what the person
found, who, when, and whether it followed a suggestion they were shown."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cases.models import (
    CLOSED_STATES,
    OPEN_STATES,
    Case,
    CaseQueue,
    CaseReason,
    CaseState,
    Category,
)
from cases.services import case_auto_route
from core.errors import ApplicationError
from core.roles import model_user

from . import case_reason
from .models import SHOWN_MODES, Mode, ModelVersion, Prediction, TriageModel
from .scoring import ACT_BATCH, BATCH, FACTORS, active_scorer, outcomes_write, precision_watch

logger = logging.getLogger(__name__)
_QUEUES = dict(CaseQueue.choices)


def cases_score(*, limit: int = BATCH) -> dict[str, int | str]:
    model = TriageModel.objects.filter(name=TriageModel.CASE_REASON).first()
    if model is None or model.mode == Mode.OFF:
        return {"scored": 0, "why": "the model is off"}
    recorded = case_outcomes_record(model)
    version, scorer, why = active_scorer(model)
    if scorer is None:
        (logger.warning if version is not None else logger.info)("Cases not scored: %s", why)
        if version is not None:
            case_suggestions_clear()
        return {"scored": 0, "why": why, "outcomes": recorded}
    shown = model.mode in SHOWN_MODES
    reasons = _reasons()
    caught_up = _show_recorded(model, version, reasons) if shown else 0
    rows = case_reason.open_cases(limit, exclude_scored_by=version.pk)
    if not rows:
        return {"scored": 0, "shown": caught_up, "outcomes": recorded}
    pairs = {(customer, case_reason.code_of(code)) for _, customer, code, _, _ in rows}
    tally = case_reason.current_tally(pairs)
    threshold = float(model.threshold)
    now = timezone.now()
    predictions, suggestions = [], {}
    for pk, customer, raw, kind, amount in rows:
        code = case_reason.code_of(raw)
        features = tally.features(customer, code, kind, amount)
        probabilities = scorer.probabilities(features, code)
        top = max(probabilities, key=probabilities.get)
        factors = _factors(scorer, tally, features, customer, code, kind, amount, top)
        label = top if probabilities[top] >= threshold else "uncertain"
        predictions.append(
            Prediction(version=version, subject="case", subject_id=pk, label=label,
                       probability=Decimal(f"{probabilities[top]:.4f}"), factors=factors,
                       shown=shown, made_at=now)
        )  # fmt: skip
        if shown:
            suggestions[pk] = _suggestion(model, version, top, probabilities[top], factors,
                                          reasons)  # fmt: skip
    with transaction.atomic():
        Prediction.objects.bulk_create(predictions, batch_size=1000, ignore_conflicts=True)
        _write(suggestions)
    done = {"scored": len(predictions), "shown": len(suggestions) + caught_up,
            "outcomes": recorded}  # fmt: skip
    if model.mode != Mode.ACT:
        return done
    if precision_watch(model):  # the floor first: below it, the model routes nothing
        return {**done, "dropped": True}
    return {**done, **cases_act(model, version)}


def cases_act(model: TriageModel, version: ModelVersion, *, limit: int = ACT_BATCH) -> dict:
    """Act mode: route the open, unclaimed cases no code mapping routed (they wait under
    "other") to the reason this version suggests at or above the act confidence, through
    ``cases.services.case_auto_route``, which refuses anything else. Each prediction is acted on
    once; a case a model routed before is never routed by a model again (a person who routes
    it back has the last word)."""
    routed_before = Prediction.objects.filter(
        subject="case", subject_id=OuterRef("subject_id"), action="routed"
    )
    still_open = Case.objects.filter(pk=OuterRef("subject_id"), state=CaseState.OPEN)
    candidates = list(
        Prediction.objects.filter(
            version=version, subject="case", action="", outcome="",
            probability__gte=model.act_confidence,
        )
        .exclude(label="uncertain")
        .filter(Exists(still_open))
        .exclude(Exists(routed_before))
        .order_by("made_at", "pk")[:limit]
    )  # fmt: skip
    if not candidates:
        return {"routed": 0, "refused": 0}
    reasons = _reasons()
    actor = model_user(model.name, version.number)
    routed = refused = 0
    for prediction in candidates:
        reason = reasons.get(prediction.label)
        text = _suggestion(model, version, prediction.label, float(prediction.probability),
                           prediction.factors, reasons)["text"]  # fmt: skip
        because = "; ".join(f["text"] for f in prediction.factors)
        note = f"{model.name} v{version.number}: {text}: {because}"
        try:
            if reason is None:
                raise ApplicationError(f"no reason of category {prediction.label} to route to")
            case_auto_route(actor=actor, case_id=prediction.subject_id, reason_code=reason.code,
                            note=note)  # fmt: skip
        except ApplicationError as exc:
            action, note = "refused", exc.message
            refused += 1
        else:
            action = "routed"
            routed += 1
        Prediction.objects.filter(pk=prediction.pk).update(action=action, action_note=note)
    return {"routed": routed, "refused": refused}


def _reasons() -> dict[str, CaseReason]:
    """The reason each category routes to: the first of the taxonomy with it."""
    chosen: dict[str, CaseReason] = {}
    for reason in CaseReason.objects.order_by("pk"):
        chosen.setdefault(reason.category, reason)
    return chosen


def _factors(scorer, tally, features, customer, code, kind, amount, top) -> list[dict]:
    weights = scorer.contributions(features, code, top)
    texts = {
        "pair": tally.words(customer, code, top),
        "code": tally.code_words(code, top),
        "amount_log": f"amount {amount:,.2f}",
        "dispute": "a dispute raised before payment"
        if kind == Case.Kind.DISPUTE
        else "a deduction taken from a payment",
        "pair_count": tally.words(customer, code, top),
    }
    merged: dict[str, float] = {}
    for group, weight in weights.items():
        text = texts[group]
        merged[text] = merged.get(text, 0.0) + weight
    named = [
        {"text": text, "direction": "+" if weight > 0 else "-", "weight": round(weight, 3)}
        for text, weight in merged.items()
    ]
    named.sort(key=lambda f: -abs(f["weight"]))
    return named[:FACTORS]


def _suggestion(model, version, category: str, probability: float, factors, reasons) -> dict:
    reason = reasons.get(category)
    name = Category(category).label
    queue = reason.queue if reason else ""
    called = probability >= float(model.threshold)
    where = f" → {_QUEUES.get(queue, queue)}" if queue else ""
    text = (
        f"Likely {name.lower()}{where}, {probability:.0%}"
        if called
        else f"Uncertain: perhaps {name.lower()}, {probability:.0%}"
    )
    return {"label": category if called else "uncertain", "category": category,
            "reason": reason.code if reason else "", "queue": queue,
            "probability": round(probability, 4), "text": text, "factors": factors,
            "model": model.name, "version": version.number}  # fmt: skip


def _write(suggestions: dict[int, dict]) -> None:
    if suggestions:
        Case.objects.bulk_update(
            [Case(pk=pk, suggestion=s) for pk, s in suggestions.items()], ["suggestion"],
            batch_size=1000,
        )  # fmt: skip


def _show_recorded(model: TriageModel, version: ModelVersion, reasons) -> int:
    """Open cases this version scored while nothing was shown: shown now, not made again."""
    # an uncertain score kept no category to show: only calls are shown late
    recorded = Prediction.objects.filter(
        version=version, subject="case", subject_id=OuterRef("pk")
    ).exclude(label="uncertain")
    waiting = list(
        Case.objects.filter(state__in=OPEN_STATES, suggestion={})
        .filter(Exists(recorded))
        .values_list("pk", flat=True)[:BATCH]
    )
    if not waiting:
        return 0
    predictions = Prediction.objects.filter(
        version=version, subject="case", subject_id__in=waiting
    ).exclude(label="uncertain")
    suggestions = {
        p.subject_id: _suggestion(model, version, p.label, float(p.probability), p.factors,
                                  reasons)
        for p in predictions
    }  # fmt: skip
    with transaction.atomic():
        predictions.update(shown=True)
        _write(suggestions)
    return len(suggestions)


def case_suggestions_clear() -> int:
    return Case.objects.filter(state__in=OPEN_STATES).exclude(suggestion={}).update(suggestion={})


def case_outcomes_record(model: TriageModel, *, limit: int = BATCH) -> int:
    """Scored cases since closed with a root cause: what the person found, read as a category,
    on the latest prediction of each; whether it followed a suggestion they were shown. Their
    suggestion comes off the case."""
    pending = Prediction.objects.filter(
        version__model=model, subject="case", outcome="", subject_id=OuterRef("pk")
    )
    closed = list(
        Case.objects.filter(state__in=CLOSED_STATES)
        .exclude(root_cause="")
        .filter(Exists(pending))
        .values_list("pk", "root_cause", "resolved_by_id", "resolved_at")[:limit]
    )
    if not closed:
        return 0
    found = {pk: (case_reason.CATEGORY_OF_ROOT[root], by, at) for pk, root, by, at in closed}
    latest: dict[int, Prediction] = {}
    for p in Prediction.objects.filter(
        version__model=model, subject="case", outcome="", subject_id__in=found
    ).order_by("subject_id", "made_at", "pk"):
        latest[p.subject_id] = p  # the last one made wins
    with transaction.atomic():
        for case_id, p in latest.items():
            p.outcome, p.decided_by_id, p.decided_at = found[case_id]
        outcomes_write(list(latest.values()))
        # the older predictions of the same cases: decided too, so never read again as pending
        Prediction.objects.filter(
            version__model=model, subject="case", outcome="", subject_id__in=found
        ).update(outcome="superseded")
        Case.objects.filter(pk__in=found).exclude(suggestion={}).update(suggestion={})
    return len(latest)
