"""Training a model version from o2c's own history: reproducible (a fixed seed, examples in a fixed
order), tested on the most recent examples it did not see (a time split, never a shuffle), and
compared with a naive baseline. Too little history refuses with a message saying how much is
needed, and the active version stays. A version that does not beat its baseline on the held-out
weeks is kept for the record but not made active."""

from __future__ import annotations

import hashlib
import json
import logging
import math

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError

from . import hold_outcome
from .models import ModelVersion, TriageModel

logger = logging.getLogger(__name__)
SEED = 20261205
#: The most recent share of the examples held out for testing.
HELD_OUT = 0.2
#: Each outcome needs at least this many examples, in training and in the held-out part.
MIN_PER_CLASS = 10


class NotEnoughHistory(ApplicationError):
    pass


def _metrics(y_true: list[int], scores: list[float], threshold: float) -> dict:
    from sklearn.metrics import brier_score_loss, roc_auc_score

    called = [s >= threshold for s in scores]
    true_calls = sum(1 for c, y in zip(called, y_true, strict=True) if c and y)
    positives = sum(y_true)
    return {
        "roc_auc": round(float(roc_auc_score(y_true, scores)), 4),
        "precision": round(true_calls / sum(called), 4) if any(called) else None,
        "recall": round(true_calls / positives, 4) if positives else None,
        "brier": round(float(brier_score_loss(y_true, scores)), 4),
        "called": sum(called),
    }


def train_hold_outcome(*, model: TriageModel) -> ModelVersion:
    import numpy as np
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    examples = hold_outcome.training_examples()
    released = sum(1 for e in examples if e.released)
    rejected = len(examples) - released
    if len(examples) < model.min_examples or min(released, rejected) < 2 * MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Training {model.name} needs at least {model.min_examples} holds decided by people, "
            f"with {2 * MIN_PER_CLASS} or more of each outcome; there are {len(examples)} "
            f"({released} released, {rejected} rejected). The active version stays."
        )
    cut = int(len(examples) * (1 - HELD_OUT))
    test = examples[cut:]
    # trained only on what was decided before the held-out weeks begin: no label from the
    # test period leaks into the model that is tested on it
    train = [e for e in examples[:cut] if e.resolved_at < test[0].raised_at]
    if min(sum(e.released for e in train), sum(not e.released for e in train)) < MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Of the {len(train)} holds decided before the held-out weeks, fewer than "
            f"{MIN_PER_CLASS} had one of the outcomes: more history is needed. "
            "The active version stays."
        )
    if min(sum(e.released for e in test), sum(not e.released for e in test)) < MIN_PER_CLASS // 2:
        raise NotEnoughHistory(
            f"The most recent {len(test)} decided holds, held out for testing, are nearly all of "
            "one outcome: their scores would say nothing. The active version stays."
        )
    reasons = sorted({e.reason for e in examples})
    x_train = np.array([hold_outcome.vector(e.features, e.reason, reasons) for e in train])
    y_train = np.array([int(e.released) for e in train])
    scaler = StandardScaler().fit(x_train)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED)
    classifier.fit((x_train - scaler.mean_) / scale, y_train)
    parameters = {
        "features": hold_outcome.feature_names(reasons),
        "reasons": reasons,
        "mean": [round(float(v), 10) for v in scaler.mean_],
        "scale": [round(float(v), 10) for v in scale],
        "coef": [round(float(v), 10) for v in classifier.coef_[0]],
        "intercept": round(float(classifier.intercept_[0]), 10),
    }
    # the expected time to a decision: a ridge regression on the same standardised features,
    # in log hours (a few holds wait days; most are decided within a shift)
    regressor = Ridge(alpha=1.0, random_state=SEED)
    regressor.fit((x_train - scaler.mean_) / scale, np.array([_log_hours(e) for e in train]))
    parameters["hours"] = {
        "coef": [round(float(v), 10) for v in regressor.coef_],
        "intercept": round(float(regressor.intercept_), 10),
    }
    scorer = Scorer(parameters)
    threshold = float(model.threshold)
    y_test = [int(e.released) for e in test]
    scores = [scorer.probability(e.features, e.reason) for e in test]
    # the naive baseline: the customer's own past release rate for the reason, used alone
    baseline = [e.features["customer_reason_rate"] for e in test]
    metrics = _metrics(y_test, scores, threshold)
    metrics["baseline"] = {
        "rule": "the customer's earlier release rate for the reason",
        **_metrics(y_test, baseline, threshold),
        "base_rate": round(sum(y_test) / len(y_test), 4),
    }
    metrics["hours"] = _hours_metrics(scorer, train, test)
    return keep_version(
        model,
        parameters=parameters,
        metrics=metrics,
        score="roc_auc",
        incumbent=lambda active: _auc_of(active, test),
        window=(examples[0].raised_at, examples[-1].raised_at),
        counts={"train": len(train), "held_out": len(test), "released": released,
                "rejected": rejected},
    )  # fmt: skip


def keep_version(model, *, parameters, metrics, score, incumbent, window, counts) -> ModelVersion:
    """Store a trained version, active only if its held-out ``score`` beats the naive baseline's
    and is at least the active version's on the same held-out examples (``incumbent``). The same
    parameters as the active version's make no new version."""
    digest = digest_of(parameters)
    with transaction.atomic():
        model = TriageModel.objects.select_for_update().get(pk=model.pk)
        active = model.versions.filter(active=True).first()
        if active is not None and active.digest == digest:
            return active  # the same history gives the same version: nothing new to keep
        # it must beat the naive rule, and the version in use on the same held-out examples
        theirs = incumbent(active)
        if theirs is not None:
            metrics["active_version"] = {"number": active.number, score: theirs}
        beats = metrics[score] > metrics["baseline"][score] and (
            theirs is None or metrics[score] >= theirs
        )
        last = model.versions.order_by("-number").first()
        if beats:
            model.versions.filter(active=True).update(active=False)
        version = ModelVersion.objects.create(
            model=model,
            number=(last.number + 1) if last else 1,
            trained_at=timezone.now(),
            digest=digest,
            features=parameters["features"],
            parameters=parameters,
            window_start=window[0],
            window_end=window[1],
            counts=counts,
            metrics={**metrics, "beats_baseline": beats},
            active=beats,
        )
    logger.info(
        "Trained %s: held-out %s %s against the baseline's %s; %s",
        version, score, metrics[score], metrics["baseline"][score],
        "active" if beats else "kept inactive: it beats neither the baseline nor the active one",
    )  # fmt: skip
    return version


def _hours(example) -> float:
    return max((example.resolved_at - example.raised_at).total_seconds() / 3600, 0.0)


def _log_hours(example) -> float:
    return math.log1p(_hours(example))


def _hours_metrics(scorer: Scorer, train: list, test: list) -> dict:
    """Mean absolute error of the expected time to a decision on the held-out holds, in hours,
    beside the naive rule: the median time of the reason's holds in training."""
    from statistics import median

    by_reason: dict[str, list[float]] = {}
    for e in train:
        by_reason.setdefault(e.reason, []).append(_hours(e))
    overall = median(_hours(e) for e in train)
    rule = {reason: median(hours) for reason, hours in by_reason.items()}
    actual = [_hours(e) for e in test]
    expected = [scorer.hours(e.features, e.reason) for e in test]
    naive = [rule.get(e.reason, overall) for e in test]
    return {
        "mae": round(sum(abs(a - b) for a, b in zip(actual, expected, strict=True)) / len(test), 2),
        "baseline_mae": round(
            sum(abs(a - b) for a, b in zip(actual, naive, strict=True)) / len(test), 2
        ),
        "rule": "the reason's median time to a decision",
    }


def digest_of(parameters: dict) -> str:
    return hashlib.sha256(json.dumps(parameters, sort_keys=True).encode()).hexdigest()


def _auc_of(version: ModelVersion | None, test: list) -> float | None:
    """The active version's ROC AUC on the same held-out holds, if it can still be read."""
    from sklearn.metrics import roc_auc_score

    if version is None:
        return None
    try:
        scorer = Scorer(version.parameters)
        scores = [scorer.probability(e.features, e.reason) for e in test]
    except (DamagedVersion, IndexError, ValueError):
        return None
    return round(float(roc_auc_score([int(e.released) for e in test], scores)), 4)


def _train_case_reason(*, model: TriageModel) -> ModelVersion:
    from .case_training import train_case_reason

    return train_case_reason(model=model)


def _train_payment_risk(*, model: TriageModel) -> ModelVersion:
    from .payment_training import train_payment_risk

    return train_payment_risk(model=model)


def _train_late_shipment(*, model: TriageModel) -> ModelVersion:
    from .shipment_training import train_late_shipment

    return train_late_shipment(model=model)


def _train_order_anomaly(*, model: TriageModel) -> ModelVersion:
    from .anomaly_training import train_order_anomaly

    return train_order_anomaly(model=model)


TRAINERS = {
    TriageModel.HOLD_OUTCOME: train_hold_outcome,
    TriageModel.CASE_REASON: _train_case_reason,
    TriageModel.PAYMENT_RISK: _train_payment_risk,
    TriageModel.LATE_SHIPMENT: _train_late_shipment,
    TriageModel.ORDER_ANOMALY: _train_order_anomaly,
}


def model_train(*, name: str) -> ModelVersion:
    model = TriageModel.objects.filter(name=name).first()
    if model is None:
        raise ApplicationError(f"No model “{name}”; there are: {', '.join(sorted(TRAINERS))}.")
    return TRAINERS[name](model=model)


class DamagedVersion(Exception):
    pass


class Scorer:
    """A version's parameters, checked, and scored in plain Python: no pickle is ever loaded."""

    def __init__(self, parameters: dict):
        try:
            self.reasons = list(parameters["reasons"])
            self.names = list(parameters["features"])
            self.mean = [float(v) for v in parameters["mean"]]
            self.scale = [float(v) or 1.0 for v in parameters["scale"]]
            self.coef = [float(v) for v in parameters["coef"]]
            self.intercept = float(parameters["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedVersion(f"its parameters cannot be read ({exc!r})") from exc
        try:
            # versions trained before the time estimate have none: they only predict outcomes
            hours = parameters.get("hours") or {}
            self.hours_coef = [float(v) for v in hours["coef"]] if hours else None
            self.hours_intercept = float(hours["intercept"]) if hours else 0.0
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedVersion(f"its time estimate cannot be read ({exc!r})") from exc
        sizes = {len(self.names), len(self.mean), len(self.scale), len(self.coef)}
        if self.hours_coef is not None:
            sizes.add(len(self.hours_coef))
        if len(sizes) != 1 or len(self.names) != len(hold_outcome.NUMERIC) + len(self.reasons):
            raise DamagedVersion("its parameters do not fit together")

    def contributions(self, features: dict[str, float], reason: str) -> list[float]:
        x = hold_outcome.vector(features, reason, self.reasons)
        return [
            c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)
        ]

    def hours(self, features: dict[str, float], reason: str) -> float | None:
        """Expected hours from raising to a person's decision, or None (an older version)."""
        if self.hours_coef is None:
            return None
        x = hold_outcome.vector(features, reason, self.reasons)
        z = self.hours_intercept + sum(
            c * (v - m) / s for c, v, m, s in zip(self.hours_coef, x, self.mean, self.scale,
                                                  strict=True)
        )  # fmt: skip
        return math.expm1(max(min(z, 10.0), 0.0))

    def probability(self, features: dict[str, float], reason: str) -> float:
        z = self.intercept + sum(self.contributions(features, reason))
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))
