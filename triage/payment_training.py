"""Training the payment-risk model, and scoring with a version of it in plain Python: a logistic
regression for "paid late" and a ridge regression for the expected days late, kept as JSON like the other
models. Held-out ROC AUC, precision and recall at the threshold, Brier score, and the mean absolute
error of the days late, beside the naive rule: the customer's own earlier share of late payments."""

from __future__ import annotations

import math

from . import payment_risk
from .models import ModelVersion, TriageModel
from .training import (
    HELD_OUT,
    MIN_PER_CLASS,
    SEED,
    DamagedVersion,
    NotEnoughHistory,
    _metrics,
    keep_version,
)


class PaymentScorer:
    def __init__(self, parameters: dict):
        try:
            self.names = list(parameters["features"])
            self.mean = [float(v) for v in parameters["mean"]]
            self.scale = [float(v) or 1.0 for v in parameters["scale"]]
            self.coef = [float(v) for v in parameters["coef"]]
            self.intercept = float(parameters["intercept"])
            self.days_coef = [float(v) for v in parameters["days"]["coef"]]
            self.days_intercept = float(parameters["days"]["intercept"])
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedVersion(f"its parameters cannot be read ({exc!r})") from exc
        if self.names != list(payment_risk.NUMERIC) or {
            len(self.mean),
            len(self.scale),
            len(self.coef),
            len(self.days_coef),
        } != {len(self.names)}:
            raise DamagedVersion("its parameters do not fit together")

    def _z(self, features: dict) -> list[float]:
        x = payment_risk.vector(features)
        return [(v - m) / s for v, m, s in zip(x, self.mean, self.scale, strict=True)]

    def contributions(self, features: dict) -> list[float]:
        return [c * z for c, z in zip(self.coef, self._z(features), strict=True)]

    def probability(self, features: dict) -> float:
        z = self.intercept + sum(self.contributions(features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))

    def days(self, features: dict) -> float:
        """Expected days late (0 when it is expected on time): the mean the regression expects,
        which weighs the chance of lateness by how late such customers are when late."""
        z = self.days_intercept + sum(
            c * v for c, v in zip(self.days_coef, self._z(features), strict=True)
        )
        return max(min(z, 365.0), 0.0)


def train_payment_risk(*, model: TriageModel) -> ModelVersion:
    import numpy as np
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.preprocessing import StandardScaler

    examples = payment_risk.training_examples()
    late = sum(e.late for e in examples)
    on_time = len(examples) - late
    if len(examples) < model.min_examples or min(late, on_time) < 2 * MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Training {model.name} needs at least {model.min_examples} paid invoices, with "
            f"{2 * MIN_PER_CLASS} or more paid late and on time; there are {len(examples)} "
            f"({late} late, {on_time} on time). The active version stays."
        )
    cut = int(len(examples) * (1 - HELD_OUT))
    test = examples[cut:]
    train = [e for e in examples[:cut] if e.paid_at.date() < test[0].issued_on]
    if min(sum(e.late for e in train), sum(not e.late for e in train)) < MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Of the {len(train)} invoices paid before the held-out weeks, fewer than "
            f"{MIN_PER_CLASS} were late or on time: more history is needed. The active version "
            "stays."
        )
    x_train = np.array([payment_risk.vector(e.features) for e in train])
    scaler = StandardScaler().fit(x_train)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    z_train = (x_train - scaler.mean_) / scale
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED)
    classifier.fit(z_train, np.array([int(e.late) for e in train]))
    regressor = Ridge(alpha=1.0, random_state=SEED)
    regressor.fit(z_train, np.array([max(e.days_late, 0) for e in train], dtype=float))
    parameters = {
        "features": list(payment_risk.NUMERIC),
        "mean": [round(float(v), 10) for v in scaler.mean_],
        "scale": [round(float(v), 10) for v in scale],
        "coef": [round(float(v), 10) for v in classifier.coef_[0]],
        "intercept": round(float(classifier.intercept_[0]), 10),
        "days": {
            "coef": [round(float(v), 10) for v in regressor.coef_],
            "intercept": round(float(regressor.intercept_), 10),
        },
    }
    scorer = PaymentScorer(parameters)
    threshold = float(model.threshold)
    y_test = [int(e.late) for e in test]
    scores = [scorer.probability(e.features) for e in test]
    baseline = [e.features["customer_late_rate"] for e in test]
    metrics = _metrics(y_test, scores, threshold)
    metrics["baseline"] = {
        "rule": "the customer's earlier share of invoices paid late",
        **_metrics(y_test, baseline, threshold),
        "base_rate": round(sum(y_test) / len(y_test), 4),
    }
    actual = [max(e.days_late, 0) for e in test]
    # the naive expectation: the customer's late share times their mean days when late
    naive = [e.features["customer_late_rate"] * math.expm1(e.features["customer_days_late"])
             for e in test]  # fmt: skip
    metrics["days"] = {
        "mae": round(sum(abs(a - scorer.days(e.features))
                         for a, e in zip(actual, test, strict=True)) / len(test), 2),
        "baseline_mae": round(sum(abs(a - b) for a, b in zip(actual, naive, strict=True))
                              / len(test), 2),
        "rule": "the customer's late share × their mean days late",
    }  # fmt: skip

    def incumbent(active: ModelVersion | None) -> float | None:
        from sklearn.metrics import roc_auc_score

        if active is None:
            return None
        try:
            theirs = PaymentScorer(active.parameters)
            return round(float(roc_auc_score(y_test, [theirs.probability(e.features)
                                                      for e in test])), 4)  # fmt: skip
        except (DamagedVersion, ValueError):
            return None

    return keep_version(
        model,
        parameters=parameters,
        metrics=metrics,
        score="roc_auc",
        incumbent=incumbent,
        window=(
            min(e.paid_at for e in examples),
            max(e.paid_at for e in examples),
        ),
        counts={"train": len(train), "held_out": len(test), "late": late, "on_time": on_time},
    )
