"""Scoring open holds with the hold-outcome model's active version, as its mode allows: off makes
nothing; shadow records each prediction and shows nothing; suggest records it and writes the
recommendation, with its top factors in words, to ``Hold.suggestion`` for the queue and the hold
page; act does as suggest, then releases the open holds it is surest of, one at a time, through
``exceptions.services.hold_auto_release``, which enforces the limits (value, maker-checker, credit
policy, overridable reasons, release-blocking holds only). A refusal is recorded with the limit
that stopped it; a release is recorded in the hold's history with the model version's account as
author and the explanation as reason, and a person can undo it.

Each run ends by checking act mode's live precision against the model's floor: below it, the
model drops back to suggest and the managers are told.

Workers read which version is active on every run, so a newly trained version (or one an admin
switched back to) is used from the next run on, without a restart; its parameters are kept in
memory while it stays active."""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from core.errors import ApplicationError
from core.models import NoticeKind
from core.roles import Role, get_system_user, model_user
from exceptions.models import ACTIVE_STATES, Hold, HoldState
from exceptions.notifications import notify_users
from exceptions.services import hold_auto_release

from . import hold_outcome
from .models import SHOWN_MODES, Mode, ModelVersion, Prediction, TriageModel
from .training import DamagedVersion, Scorer, digest_of

logger = logging.getLogger(__name__)
#: Open holds scored per run at most; the rest on the next runs, oldest first.
BATCH = 2000
#: How many factors a recommendation names.
FACTORS = 3
#: Holds act mode tries to release per run at most (each in its own transaction).
ACT_BATCH = 200
#: The live precision the floor is judged on: release calls decided in this many last days.
FLOOR_DAYS = 7
#: model pk -> ((version pk, digest), its scorer)
_loaded: dict[int, tuple] = {}


def active_scorer(model: TriageModel) -> tuple[ModelVersion | None, Scorer | None, str]:
    """(the active version, its scorer, "") or why there is none. The parameters are checked
    against the digest taken when the version was trained before they are used."""
    # the parameters only when the version changed: an order-anomaly forest is ~0.5 MB of
    # JSON, read on every batch of orders ingested otherwise
    version = model.versions.filter(active=True).only("pk", "number", "digest").first()
    if version is None:
        return None, None, "no version is active yet: train one (manage.py train_models)"
    key = (version.pk, version.digest)
    loaded = _loaded.get(model.pk)
    if loaded is None or loaded[0] != key:
        version.parameters = (
            ModelVersion.objects.filter(pk=version.pk).values_list("parameters", flat=True).get()
        )
        try:
            if digest_of(version.parameters) != version.digest:
                raise DamagedVersion("its parameters no longer match their digest")
            scorer = _scorer_class(model)(version.parameters)
        except DamagedVersion as exc:
            return version, None, f"version {version.number} cannot be used: {exc}"
        # one version per model is in use: the one before is let go
        _loaded[model.pk] = loaded = (key, scorer)
    return version, loaded[1], ""


def _scorer_class(model: TriageModel):
    if model.name == TriageModel.CASE_REASON:
        from .case_training import CaseScorer

        return CaseScorer
    if model.name == TriageModel.PAYMENT_RISK:
        from .payment_training import PaymentScorer

        return PaymentScorer
    if model.name == TriageModel.LATE_SHIPMENT:
        from .shipment_training import ShipScorer

        return ShipScorer
    if model.name == TriageModel.ORDER_ANOMALY:
        from .anomaly_training import Forest

        return Forest
    return Scorer


def _text(probability: float, threshold: float) -> tuple[str, str]:
    """(label, words): a call at the threshold either way; between, uncertain (no call)."""
    if probability >= threshold:
        return "release", f"Likely release, {probability:.0%}"
    if probability <= 1 - threshold:
        return "reject", f"Likely rejection, {1 - probability:.0%}"
    return "uncertain", f"Uncertain, {probability:.0%} release"


#: Columns that say one thing together: a reason's one-hot columns (its absence from the others
#: weighs too), and a customer's rate for the reason with how many decisions it rests on.
GROUPS = {
    "value_log": "value",
    "customer_reason_rate": "pair",
    "customer_reason_count": "pair",
    "customer_rate": "customer",
}


def _factors(scorer: Scorer, features, reason: str, words: dict[str, str]) -> list[dict]:
    weights: dict[str, float] = {}
    for name, weight in zip(scorer.names, scorer.contributions(features, reason), strict=True):
        group = "reason" if name.startswith("reason=") else GROUPS[name]
        weights[group] = weights.get(group, 0.0) + weight
    texts = {
        "value": f"value at risk {features['value']:,.2f}",
        "pair": words["customer_reason_rate"],
        "customer": words["customer_rate"],
        "reason": words["reason"],
    }
    named = [
        {"text": texts[group], "direction": "+" if weight > 0 else "-", "weight": round(weight, 3)}
        for group, weight in weights.items()
    ]
    named.sort(key=lambda f: -abs(f["weight"]))
    return named[:FACTORS]


def holds_score(*, limit: int = BATCH) -> dict[str, int | str]:
    """Score the open holds the active version has not scored yet. Returns counts, or why not."""
    model = TriageModel.objects.filter(name=TriageModel.HOLD_OUTCOME).first()
    if model is None or model.mode == Mode.OFF:
        return {"scored": 0, "why": "the model is off"}
    version, scorer, why = active_scorer(model)
    if scorer is None:
        # a damaged version is worth a warning; none trained yet is the normal start
        (logger.warning if version is not None else logger.info)("Hold outcome not scored: %s", why)
        if version is not None:
            suggestions_clear()  # what it showed can no longer be explained
        return {"scored": 0, "why": why}
    shown = model.mode in SHOWN_MODES
    caught_up = _show_recorded(model, version) if shown else 0
    rows = hold_outcome.open_holds(limit, exclude_scored_by=version.pk)
    if not rows:
        done = {"scored": 0, "shown": caught_up} if shown else {"scored": 0}
        return {**done, **_act_and_watch(model, version)}
    tally = hold_outcome.current_tally({r[1] for r in rows}, {r[2] for r in rows})
    threshold = float(model.threshold)
    now = timezone.now()
    predictions, suggestions = [], {}
    for pk, customer, reason, value, _raised in rows:
        features = tally.features(customer, reason, value)
        probability = scorer.probability(features, reason)
        label, _ = _text(probability, threshold)
        hours = scorer.hours(features, reason)
        factors = _factors(scorer, {**features, "value": value}, reason,
                           tally.words(customer, reason))  # fmt: skip
        predictions.append(
            Prediction(
                version=version, subject="hold", subject_id=pk,
                probability=Decimal(f"{probability:.4f}"), label=label, factors=factors,
                expected_hours=None if hours is None else round(hours, 2), shown=shown,
                made_at=now,
            )
        )  # fmt: skip
        if shown:
            suggestions[pk] = _suggestion(model, version, probability, factors, hours)
    with transaction.atomic():
        # a run overlapping this one may have scored some meanwhile: each is recorded once
        Prediction.objects.bulk_create(predictions, batch_size=1000, ignore_conflicts=True)
        _write(suggestions)
    done = {"scored": len(predictions), "shown": len(suggestions) + caught_up}
    return {**done, **_act_and_watch(model, version)}


def _act_and_watch(model: TriageModel, version: ModelVersion) -> dict[str, int | str]:
    """In act mode: the floor first (decisions since the last run may have sunk it), then act
    only if the model is still allowed to."""
    if model.mode != Mode.ACT:
        return {}
    if precision_watch(model):
        return {"dropped": True}
    return holds_act(model, version)


def holds_act(model: TriageModel, version: ModelVersion, *, limit: int = ACT_BATCH) -> dict:
    """Release the open holds this version calls "release" at or above the act confidence, each
    through the exceptions service that checks the limits. Each prediction is acted on once:
    released or refused (with why), and a hold whose automatic release a person undid is never
    released automatically again, by this version or a later one."""
    undone = Prediction.objects.filter(subject="hold", subject_id=OuterRef("subject_id"),
                                       action="undone")  # fmt: skip
    still_open = Hold.objects.filter(pk=OuterRef("subject_id"), state=HoldState.OPEN)
    candidates = list(
        Prediction.objects.filter(
            version=version, subject="hold", action="", outcome="", label="release",
            probability__gte=model.act_confidence,
        )
        .filter(Exists(still_open))
        .exclude(Exists(undone))
        .order_by("made_at", "pk")[:limit]
    )  # fmt: skip
    if not candidates:
        return {"released": 0, "refused": 0}
    actor = model_user(model.name, version.number)
    released = refused = 0
    for prediction in candidates:
        _, words = _text(float(prediction.probability), float(model.threshold))
        because = "; ".join(f["text"] for f in prediction.factors)
        reason = f"{model.name} v{version.number}: {words}: {because}"
        try:
            hold_auto_release(
                hold_id=prediction.subject_id, actor=actor, reason=reason,
                value_limit=model.act_value_limit,
            )  # fmt: skip
        except ApplicationError as exc:
            action, note = "refused", exc.message
            refused += 1
        else:
            action, note = "released", reason
            released += 1
        Prediction.objects.filter(pk=prediction.pk).update(action=action, action_note=note)
    return {"released": released, "refused": refused}


#: What a model "calls" (its actionable label) and when the call was right, by model.
CALLS = {
    TriageModel.HOLD_OUTCOME: (Q(label="release"), Q(label="release", outcome="release")),
    TriageModel.PAYMENT_RISK: (Q(label="late"), Q(label="late", outcome="late")),
    TriageModel.LATE_SHIPMENT: (Q(label="late"), Q(label="late", outcome="late")),
    TriageModel.ORDER_ANOMALY: (Q(label="anomaly"), Q(label="anomaly", outcome="anomaly")),
    TriageModel.CASE_REASON: (~Q(label="uncertain"), Q(label=F("outcome"))),
}


def live_precision(model: TriageModel, *, now=None) -> tuple[int, int]:
    """(calls decided in the last ``FLOOR_DAYS``, how many were right). A release a person
    undid in that time counts as a wrong call until a person decides the hold."""
    since = (now or timezone.now()) - timedelta(days=FLOOR_DAYS)
    called, right = CALLS.get(model.name, CALLS[TriageModel.HOLD_OUTCOME])
    recent = Prediction.objects.filter(version__model=model).filter(called)
    decided = (
        recent.filter(decided_at__gte=since)
        .exclude(outcome__in=("", "superseded"))
        .aggregate(n=Count("pk"), right=Count("pk", filter=right))
    )
    undone = recent.filter(action="undone", outcome="", made_at__gte=since).count()
    return decided["n"] + undone, decided["right"]


def precision_watch(model: TriageModel) -> bool:
    """Act mode below its precision floor goes back to suggest, and the managers are told.
    Returns whether it dropped."""
    if model.mode != Mode.ACT:
        return False
    called, right = live_precision(model)
    if called < model.floor_calls or right / called >= float(model.precision_floor):
        return False
    with transaction.atomic():
        locked = TriageModel.objects.select_for_update().get(pk=model.pk)
        if locked.mode != Mode.ACT:
            return False  # someone changed it meanwhile
        why = (
            f"{locked} dropped from act to suggest: live precision {right / called:.0%} "
            f"({right} of {called} release calls in {FLOOR_DAYS} days) is below its floor "
            f"{locked.precision_floor:.0%}."
        )
        locked.mode = Mode.SUGGEST
        locked._history_user = get_system_user()
        locked._change_reason = why
        locked.save(update_fields=["mode"])
        notify_users(Role.MANAGER, why, kind=NoticeKind.MODEL)
    model.mode = Mode.SUGGEST
    logger.warning(why)
    return True


def _suggestion(model, version, probability: float, factors: list[dict], hours) -> dict:
    label, text = _text(probability, float(model.threshold))
    return {"label": label, "probability": round(probability, 4), "text": text,
            "factors": factors, "model": model.name, "version": version.number,
            "hours": None if hours is None else round(hours, 1),
            "eta": _eta(hours)}  # fmt: skip


def _eta(hours: float | None) -> str:
    """The expected time to a decision in words ("" for a version without the estimate)."""
    if hours is None:
        return ""
    if hours < 1:
        return "usually decided within an hour of raising"
    if hours < 48:
        return f"usually decided about {round(hours)} h after raising"
    return f"usually decided about {round(hours / 24)} days after raising"


def _write(suggestions: dict[int, dict]) -> None:
    if suggestions:
        holds = [Hold(pk=pk, suggestion=s) for pk, s in suggestions.items()]
        # no history row: the prediction itself is the record, with its version
        Hold.objects.bulk_update(holds, ["suggestion"], batch_size=1000)


def _show_recorded(model: TriageModel, version: ModelVersion) -> int:
    """Open holds this version scored while nothing was shown (shadow, or off since): in suggest
    mode their recorded prediction is shown, not made again."""
    recorded = Prediction.objects.filter(version=version, subject="hold", subject_id=OuterRef("pk"))
    waiting = list(
        Hold.objects.filter(state__in=ACTIVE_STATES, suggestion={})
        .filter(Exists(recorded))
        .values_list("pk", flat=True)[:BATCH]
    )
    if not waiting:
        return 0
    predictions = Prediction.objects.filter(version=version, subject="hold", subject_id__in=waiting)
    suggestions = {
        p.subject_id: _suggestion(
            model, version, float(p.probability), p.factors, p.expected_hours
        )  # fmt: skip
        for p in predictions
    }
    with transaction.atomic():
        predictions.update(shown=True)
        _write(suggestions)
    return len(suggestions)


def outcomes_write(predictions: list[Prediction]) -> None:
    """Save what was decided on these predictions (``outcome``, ``decided_by``, ``decided_at`` set
    by the caller) and whether it followed a call people were shown: one UPDATE per thousand."""
    for p in predictions:
        called = p.shown and p.label != "uncertain"
        p.followed = (p.label == p.outcome) if called else None
    Prediction.objects.bulk_update(
        predictions, ["outcome", "followed", "decided_by", "decided_at"], batch_size=1000
    )


def shown_clear(model: TriageModel) -> int:
    """Take what ``model`` shows off the pages (it left suggest and act): each model's own."""
    if model.name == TriageModel.CASE_REASON:
        from .case_scoring import case_suggestions_clear

        return case_suggestions_clear()
    if model.name == TriageModel.PAYMENT_RISK:
        from .payment_scoring import payment_risk_clear

        return payment_risk_clear()
    if model.name == TriageModel.LATE_SHIPMENT:
        from .shipment_scoring import ship_risk_clear

        return ship_risk_clear()
    if model.name == TriageModel.ORDER_ANOMALY:
        # what it showed became holds, which people decide; nothing else carries its score
        return 0
    return suggestions_clear()


def suggestions_clear() -> int:
    """Take every recommendation off the pages (the model left suggest mode, or its version can
    no longer be read). Only open holds can show one, so only they are looked at."""
    return Hold.objects.filter(state__in=ACTIVE_STATES).exclude(suggestion={}).update(suggestion={})
