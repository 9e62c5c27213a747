"""Triage model quality: the hold-outcome model trained on a generated history with the demo's
hidden structure (``demo.triage``: shaky customers, risky large orders, pricing holds usually
released; the truth never a feature), tested on the most recent fifth it did not see; its ROC AUC
beside the naive baseline's (the customer's own earlier release rate for the reason) in the same
run. Written to the measurement's scratch copy of the data set, like every figure."""

from __future__ import annotations

from core.roles import Role
from demo.triage import seed_triage_history
from triage.models import TriageModel
from triage.training import model_train

from .measure import Figure, _user

TARGET = ">= 0.80 and above the baseline"


def hold_outcome_quality(holds: int) -> list[Figure]:
    name = "hold outcome ROC AUC"
    deciders = {
        "credit": _user("bench-credit", Role.CREDIT),
        "pricing": _user("bench-pricing", Role.PRICING),
    }
    made = seed_triage_history(holds=holds, deciders=deciders)
    TriageModel.objects.get_or_create(name=TriageModel.HOLD_OUTCOME)
    version = model_train(name=TriageModel.HOLD_OUTCOME)
    metrics = version.metrics
    return [
        Figure(
            name,
            metrics["roc_auc"],
            "",
            TARGET,
            {
                "baseline ROC AUC": metrics["baseline"]["roc_auc"],
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "Brier": metrics["brier"],
                "history": made,
                "trained on": version.counts["train"],
                "held out": version.counts["held_out"],
                "active": version.active,
            },
        )
    ]
