"""Reads for the model cards: a model's versions, its live outcomes by week."""

from __future__ import annotations

from django.db.models import Count, Q
from django.db.models.functions import TruncWeek
from django.shortcuts import get_object_or_404
from django.urls import reverse

from cases.models import Case
from exceptions.models import Hold

from .models import Prediction, TriageModel
from .scoring import CALLS


def models_list() -> list[TriageModel]:
    return list(TriageModel.objects.order_by("name"))


def model_card(*, name: str) -> dict:
    model = get_object_or_404(TriageModel, name=name)
    # the parameters of the active version only (an order-anomaly forest is ~0.5 MB of JSON)
    versions = list(model.versions.defer("parameters").order_by("-number")[:20])
    active = next((v for v in versions if v.active), None)
    if active is None:
        active = model.versions.filter(active=True).first()
    previous = (
        model.versions.filter(number__lt=active.number).order_by("-number").first()
        if active
        else None
    )
    # what the model calls and when the call was right: the same as its live precision floor
    called, right = CALLS.get(model.name, CALLS[TriageModel.HOLD_OUTCOME])
    weeks = list(
        Prediction.objects.filter(version__model=model)
        .exclude(outcome__in=("", "superseded"))
        .annotate(week=TruncWeek("decided_at"))
        .values("week", "version__number")
        .annotate(
            decided=Count("pk"),
            called=Count("pk", filter=called),
            right=Count("pk", filter=right),
            n_released=Count("pk", filter=Q(outcome__in=("release", "late", "anomaly"))),
            n_shown=Count("pk", filter=Q(shown=True)),
            n_followed=Count("pk", filter=Q(followed=True)),
            n_overridden=Count("pk", filter=Q(followed=False)),
        )
        .order_by("-week", "-version__number")[:24]
    )
    for week in weeks:
        week["precision"] = week["right"] / week["called"] if week["called"] else None
        positives = week["decided"] if model.name == TriageModel.CASE_REASON else week["n_released"]
        week["recall"] = week["right"] / positives if positives else None
    coefficients = []
    if active is not None:
        parameters = active.parameters or {}
        names, coef = parameters.get("features", []), parameters.get("coef", [])
        if coef and isinstance(coef[0], list):
            # one row per category: each feature by the category it weighs on most
            classes = parameters.get("classes", [])
            pairs = []
            for j, name in enumerate(names):
                k = max(range(len(coef)), key=lambda k, j=j: abs(coef[k][j]))
                pairs.append((f"{name} → {classes[k]}", coef[k][j]))
        else:
            pairs = list(zip(names, coef, strict=False))
        coefficients = sorted(pairs, key=lambda pair: -abs(pair[1]))[:25]
    from .scoring import FLOOR_DAYS, live_precision

    called, right = live_precision(model)
    actions = list(
        Prediction.objects.filter(version__model=model)
        .exclude(action="")
        .select_related("version")
        .order_by("-made_at", "-pk")[:25]
    )
    # what each action was done to: a hold (hold outcome) or a case (case reason)
    ids = [a.subject_id for a in actions]
    if model.name == TriageModel.CASE_REASON:
        subjects = {
            row["pk"]: {"url": reverse("cases:case", args=[row["pk"]]),
                        "text": f"{row['kind']} {row['pk']} of {row['customer__name']}"}
            for row in Case.objects.filter(pk__in=ids).values("pk", "kind", "customer__name")
        }  # fmt: skip
    else:
        subjects = {
            row["pk"]: {"url": reverse("exceptions:hold", args=[row["pk"]]),
                        "text": f"{row['reason_id']} on {row['order__number']}"}
            for row in Hold.objects.filter(pk__in=ids).values("pk", "order__number", "reason_id")
        }  # fmt: skip
    for action in actions:
        action.subject = subjects.get(action.subject_id)
    return {
        "model": model,
        "live": {
            "days": FLOOR_DAYS,
            "called": called,
            "right": right,
            "precision": right / called if called else None,
        },
        "actions": actions,
        "active": active,
        "previous": previous,
        "versions": versions,
        "weeks": weeks,
        "coefficients": coefficients,
        # the holds the version in use scored that are still undecided
        "pending": Prediction.objects.filter(version__model=model, version__active=True, outcome="")
        .exclude(action="released")  # a model's release waits for no person's decision
        .count(),
    }


def version_status(model: TriageModel) -> str:
    """Why predictions are absent, or ""."""
    from .scoring import active_scorer

    _, scorer, why = active_scorer(model)
    return "" if scorer is not None else why
