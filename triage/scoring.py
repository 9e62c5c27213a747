"""Scoring open holds with the hold-outcome model's active version, as its mode allows: off makes
nothing; shadow records each prediction and shows nothing; suggest records it and writes the
recommendation, with its top factors in words, to ``Hold.suggestion`` for the queue and the hold
page. The model never acts: people release and reject.

Workers read which version is active on every run, so a newly trained version (or one an admin
switched back to) is used from the next run on, without a restart; its parameters are kept in
memory while it stays active."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from exceptions.models import Hold

from . import hold_outcome
from .models import Mode, ModelVersion, Prediction, TriageModel
from .training import DamagedVersion, Scorer

logger = logging.getLogger(__name__)
#: Open holds scored per run at most; the rest on the next runs, oldest first.
BATCH = 2000
#: How many factors a recommendation names.
FACTORS = 3
_loaded: dict[int, Scorer] = {}


def active_scorer(model: TriageModel) -> tuple[ModelVersion | None, Scorer | None, str]:
    """(the active version, its scorer, "") or why there is none."""
    version = model.versions.filter(active=True).only("pk", "number", "parameters").first()
    if version is None:
        return None, None, "no version is active yet: train one (manage.py train_models)"
    scorer = _loaded.get(version.pk)
    if scorer is None:
        try:
            scorer = Scorer(version.parameters)
        except DamagedVersion as exc:
            return version, None, f"version {version.number} cannot be used: {exc}"
        _loaded.clear()  # one version per model is in use: the one before is let go
        _loaded[version.pk] = scorer
    return version, scorer, ""


def _text(probability: float, threshold: float) -> tuple[str, str]:
    if probability >= threshold:
        return "release", f"Likely release, {probability:.0%}"
    if probability <= 1 - threshold:
        return "reject", f"Likely rejection, {1 - probability:.0%}"
    return ("release" if probability >= 0.5 else "reject"), f"Uncertain, {probability:.0%} release"


def _factors(scorer: Scorer, features, reason: str, words: dict[str, str]) -> list[dict]:
    contributions = scorer.contributions(features, reason)
    named = []
    for name, weight in zip(scorer.names, contributions, strict=True):
        if name.startswith("reason="):
            if name != f"reason={reason}":
                continue  # another reason's absence says nothing about this hold
            text = words["reason"]
        elif name == "value_log":
            text = f"value at risk {features['value']:,.2f}"
        else:
            text = words[name]
        named.append({"text": text, "direction": "+" if weight > 0 else "-",
                      "weight": round(weight, 3)})  # fmt: skip
    named.sort(key=lambda f: -abs(f["weight"]))
    seen, top = set(), []
    for factor in named:  # a reason's count and rate say the same thing: name it once
        if factor["text"] not in seen:
            seen.add(factor["text"])
            top.append(factor)
    return top[:FACTORS]


def holds_score(*, limit: int = BATCH) -> dict[str, int | str]:
    """Score the open holds the active version has not scored yet. Returns counts, or why not."""
    model = TriageModel.objects.filter(name=TriageModel.HOLD_OUTCOME).first()
    if model is None or model.mode == Mode.OFF:
        _clear_suggestions()
        return {"scored": 0, "why": "the model is off"}
    version, scorer, why = active_scorer(model)
    if scorer is None:
        # a damaged version is worth a warning; none trained yet is the normal start
        (logger.warning if version is not None else logger.info)("Hold outcome not scored: %s", why)
        _clear_suggestions()
        return {"scored": 0, "why": why}
    if model.mode != Mode.SUGGEST:
        _clear_suggestions()
    rows = hold_outcome.open_holds(limit, exclude_scored_by=version.pk)
    if not rows:
        return {"scored": 0}
    tally = hold_outcome.current_tally({r[1] for r in rows}, {r[2] for r in rows})
    threshold = float(model.threshold)
    now = timezone.now()
    shown = model.mode == Mode.SUGGEST
    predictions, suggestions = [], {}
    for pk, customer, reason, value, _raised in rows:
        features = tally.features(customer, reason, value)
        probability = scorer.probability(features, reason)
        label, text = _text(probability, threshold)
        factors = _factors(scorer, {**features, "value": value}, reason,
                           tally.words(customer, reason))  # fmt: skip
        predictions.append(
            Prediction(
                version=version, subject="hold", subject_id=pk,
                probability=Decimal(f"{probability:.4f}"), label=label, factors=factors,
                shown=shown, made_at=now,
            )
        )  # fmt: skip
        if shown:
            suggestions[pk] = {
                "label": label, "probability": round(probability, 4), "text": text,
                "factors": factors, "model": model.name, "version": version.number,
            }  # fmt: skip
    with transaction.atomic():
        Prediction.objects.bulk_create(predictions, batch_size=1000)
        if suggestions:
            holds = [Hold(pk=pk, suggestion=s) for pk, s in suggestions.items()]
            # no history row: the prediction itself is the record, with its version
            Hold.objects.bulk_update(holds, ["suggestion"], batch_size=1000)
    return {"scored": len(predictions), "shown": len(suggestions)}


def _clear_suggestions() -> int:
    """Recommendations go from the pages as soon as the model is no longer in suggest mode."""
    return Hold.objects.exclude(suggestion={}).update(suggestion={})
