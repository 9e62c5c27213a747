"""Training the late-shipment model, and scoring with a version of it in plain Python: a logistic
regression on standardised features, kept as JSON like the other models. Held out: the most
recently released orders, trained only on orders that had arrived before they were released.
The naive baseline is the best single rule (one feature alone, chosen on the training orders):
the customer's or the carrier's late share, the slack, or the backlog."""

from __future__ import annotations

import math

from . import late_shipment
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

#: single-feature rules the baseline chooses from: feature -> (sign, words)
RULES = {
    "customer_late_rate": (1, "the customer's earlier late share"),
    "carrier_late_rate": (1, "the usual carrier's late share"),
    "slack_days": (-1, "fewer days between release and the requested date"),
    "backlog_log": (1, "a longer backlog at the warehouse"),
}


class ShipScorer:
    def __init__(self, parameters: dict):
        try:
            self.names = list(parameters["features"])
            self.mean = [float(v) for v in parameters["mean"]]
            self.scale = [float(v) or 1.0 for v in parameters["scale"]]
            self.coef = [float(v) for v in parameters["coef"]]
            self.intercept = float(parameters["intercept"])
            # each feature's range in training: a value beyond it (a backlog ten times any seen)
            # is read as the edge, so the model never extrapolates to a certainty it never saw
            self.range = [(float(lo), float(hi)) for lo, hi in parameters["range"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedVersion(f"its parameters cannot be read ({exc!r})") from exc
        if self.names != list(late_shipment.NUMERIC) or {
            len(self.mean), len(self.scale), len(self.coef), len(self.range)
        } != {len(self.names)}:  # fmt: skip
            raise DamagedVersion("its parameters do not fit together")

    def contributions(self, features: dict) -> list[float]:
        x = [
            min(max(v, lo), hi)
            for v, (lo, hi) in zip(late_shipment.vector(features), self.range, strict=True)
        ]
        return [
            c * (v - m) / s for c, v, m, s in zip(self.coef, x, self.mean, self.scale, strict=True)
        ]

    def probability(self, features: dict) -> float:
        z = self.intercept + sum(self.contributions(features))
        return 1.0 / (1.0 + math.exp(-max(min(z, 30.0), -30.0)))


def _rule_scores(examples, feature: str) -> list[float]:
    sign = RULES[feature][0]
    return [sign * e.features[feature] for e in examples]


def train_late_shipment(*, model: TriageModel) -> ModelVersion:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    examples = late_shipment.training_examples()
    late = sum(e.late for e in examples)
    on_time = len(examples) - late
    if len(examples) < model.min_examples or min(late, on_time) < 2 * MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Training {model.name} needs at least {model.min_examples} orders shipped in full "
            f"with a requested date, {2 * MIN_PER_CLASS} or more of them late and on time; "
            f"there are {len(examples)} ({late} late, {on_time} on time). The active version "
            "stays."
        )
    cut = int(len(examples) * (1 - HELD_OUT))
    test = examples[cut:]
    # trained only on orders that had arrived before the held-out ones were released: no label
    # from the test period leaks into the model tested on it
    train = [e for e in examples[:cut] if e.arrived_at < test[0].released_at]
    for part, name in ((train, "arrived before the held-out orders were released"),
                       (test, "held out (the most recent)")):  # fmt: skip
        if min(sum(e.late for e in part), sum(not e.late for e in part)) < MIN_PER_CLASS // 2:
            raise NotEnoughHistory(
                f"Of the {len(part)} orders {name}, too few were late or on time: more history "
                "is needed. The active version stays."
            )
    x_train = np.array([late_shipment.vector(e.features) for e in train])
    scaler = StandardScaler().fit(x_train)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    classifier = LogisticRegression(C=1.0, max_iter=2000, random_state=SEED)
    classifier.fit((x_train - scaler.mean_) / scale, np.array([int(e.late) for e in train]))
    parameters = {
        "features": list(late_shipment.NUMERIC),
        "mean": [round(float(v), 10) for v in scaler.mean_],
        "scale": [round(float(v), 10) for v in scale],
        "coef": [round(float(v), 10) for v in classifier.coef_[0]],
        "intercept": round(float(classifier.intercept_[0]), 10),
        "range": [[round(float(lo), 6), round(float(hi), 6)]
                  for lo, hi in zip(x_train.min(axis=0), x_train.max(axis=0), strict=True)],
    }  # fmt: skip
    scorer = ShipScorer(parameters)
    y_train = [int(e.late) for e in train]
    y_test = [int(e.late) for e in test]

    def rule_auc(feature: str) -> float:
        try:
            return float(roc_auc_score(y_train, _rule_scores(train, feature)))
        except ValueError:  # one feature constant in training
            return 0.5

    best = max(RULES, key=rule_auc)  # chosen on training orders, judged on the held-out
    baseline = _rule_scores(test, best)
    threshold = float(model.threshold)
    metrics = _metrics(y_test, [scorer.probability(e.features) for e in test], threshold)
    metrics["baseline"] = {
        "rule": f"the best single rule: {RULES[best][1]}",
        # a rule ranks, it gives no probability: only its ROC AUC compares
        "roc_auc": round(float(roc_auc_score(y_test, baseline)), 4),
        "base_rate": round(sum(y_test) / len(y_test), 4),
    }

    def incumbent(active: ModelVersion | None) -> float | None:
        if active is None:
            return None
        try:
            theirs = ShipScorer(active.parameters)
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
        window=(examples[0].released_at, examples[-1].released_at),
        counts={"train": len(train), "held_out": len(test), "late": late, "on_time": on_time},
    )
