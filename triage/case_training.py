"""Training the case-reason model, and scoring with a version of it in plain Python: a multinomial
logistic regression whose parameters are kept as JSON, like the hold-outcome model's. Held-out
top-1 accuracy (and macro one-vs-rest ROC AUC) beside the naive rule: the category the code most
often turned out to be in training, whoever the customer."""

from __future__ import annotations

import math
from collections import Counter

from . import case_reason
from .models import ModelVersion, TriageModel
from .training import HELD_OUT, MIN_PER_CLASS, SEED, DamagedVersion, NotEnoughHistory, keep_version


class CaseScorer:
    """A case-reason version's parameters, checked; probabilities by category."""

    def __init__(self, parameters: dict):
        try:
            self.codes = list(parameters["codes"])
            self.classes = list(parameters["classes"])
            self.names = list(parameters["features"])
            self.mean = [float(v) for v in parameters["mean"]]
            self.scale = [float(v) or 1.0 for v in parameters["scale"]]
            self.coef = [[float(v) for v in row] for row in parameters["coef"]]
            self.intercept = [float(v) for v in parameters["intercept"]]
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedVersion(f"its parameters cannot be read ({exc!r})") from exc
        width = len(self.names)
        if (
            width != len(case_reason.feature_names(self.codes))
            or {len(self.mean), len(self.scale), *map(len, self.coef)} != {width}
            or len(self.coef) != len(self.classes)
            or len(self.intercept) != len(self.classes)
            or not set(self.classes) <= set(case_reason.CLASSES)
        ):
            raise DamagedVersion("its parameters do not fit together")

    def _standard(self, features: dict, code: str) -> list[float]:
        x = case_reason.vector(features, code, self.codes)
        return [(v - m) / s for v, m, s in zip(x, self.mean, self.scale, strict=True)]

    def probabilities(self, features: dict, code: str) -> dict[str, float]:
        z = self._standard(features, code)
        logits = [b + sum(c * v for c, v in zip(row, z, strict=True))
                  for row, b in zip(self.coef, self.intercept, strict=True)]  # fmt: skip
        top = max(logits)
        weights = [math.exp(logit - top) for logit in logits]
        total = sum(weights)
        return {k: w / total for k, w in zip(self.classes, weights, strict=True)}

    def contributions(self, features: dict, code: str, category: str) -> dict[str, float]:
        """Each feature group's push toward ``category`` against the average category."""
        z = self._standard(features, code)
        k = self.classes.index(category)
        n = len(self.classes)
        groups: dict[str, float] = {}
        for j, name in enumerate(self.names):
            relative = self.coef[k][j] - sum(row[j] for row in self.coef) / n
            group = "code" if name.startswith("code=") else "pair" if name.startswith(
                ("pair", )) else name  # fmt: skip
            groups[group] = groups.get(group, 0.0) + relative * z[j]
        return groups


def _macro_auc(truth: list[str], probabilities: list[dict[str, float]], classes) -> float | None:
    """Mean one-vs-rest ROC AUC over the categories present (with both outcomes) in ``truth``."""
    from sklearn.metrics import roc_auc_score

    scores = []
    for k in classes:
        y = [int(t == k) for t in truth]
        if 0 < sum(y) < len(y):
            scores.append(roc_auc_score(y, [p.get(k, 0.0) for p in probabilities]))
    return round(float(sum(scores) / len(scores)), 4) if scores else None


def _accuracy(truth: list[str], calls: list[str]) -> float:
    return round(sum(t == c for t, c in zip(truth, calls, strict=True)) / len(truth), 4)


def train_case_reason(*, model: TriageModel) -> ModelVersion:
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    examples = case_reason.training_examples()
    if len(examples) < model.min_examples:
        raise NotEnoughHistory(
            f"Training {model.name} needs at least {model.min_examples} cases closed with a root "
            f"cause; there are {len(examples)}. The active version stays."
        )
    cut = int(len(examples) * (1 - HELD_OUT))
    test = examples[cut:]
    train = [e for e in examples[:cut] if e.resolved_at < test[0].opened_at]
    found = Counter(e.category for e in train)
    if len(found) < 2 or len(train) < 3 * MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Of the {len(train)} cases closed before the held-out weeks, too few or only one "
            "kind of root cause: more history is needed. The active version stays."
        )
    codes = sorted(c for c, n in Counter(e.code for e in train).items()
                   if n >= case_reason.MIN_CODE_CASES)  # fmt: skip
    x_train = np.array([case_reason.vector(e.features, e.code, codes) for e in train])
    scaler = StandardScaler().fit(x_train)
    scale = np.where(scaler.scale_ == 0, 1.0, scaler.scale_)
    classifier = LogisticRegression(C=1.0, max_iter=3000, random_state=SEED)
    classifier.fit((x_train - scaler.mean_) / scale, [e.category for e in train])
    classes = [str(k) for k in classifier.classes_]
    coef = classifier.coef_
    intercept = classifier.intercept_
    if len(classes) == 2:  # scikit-learn keeps one row for two classes: the second's logit
        coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        intercept = np.array([0.0, intercept[0]])
    parameters = {
        "features": case_reason.feature_names(codes),
        "codes": codes,
        "classes": classes,
        "mean": [round(float(v), 10) for v in scaler.mean_],
        "scale": [round(float(v), 10) for v in scale],
        "coef": [[round(float(v), 10) for v in row] for row in coef],
        "intercept": [round(float(v), 10) for v in intercept],
    }
    scorer = CaseScorer(parameters)
    truth = [e.category for e in test]
    predicted = [scorer.probabilities(e.features, e.code) for e in test]
    calls = [max(p, key=p.get) for p in predicted]
    # the naive rule: what the code most often turned out to be in training, any customer
    by_code: dict[str, Counter] = {}
    for e in train:
        by_code.setdefault(e.code, Counter())[e.category] += 1
    overall = found.most_common(1)[0][0]
    naive = [
        {k: n / sum(by_code[e.code].values()) for k, n in by_code[e.code].items()}
        if e.code in by_code
        else {overall: 1.0}
        for e in test
    ]
    metrics = {
        "accuracy": _accuracy(truth, calls),
        "top2": round(
            sum(
                t in sorted(p, key=p.get, reverse=True)[:2]
                for t, p in zip(truth, predicted, strict=True)
            )
            / len(test),
            4,
        ),  # fmt: skip
        "roc_auc": _macro_auc(truth, predicted, classes),
        "baseline": {
            "rule": "the category the code most often turned out to be, any customer",
            "accuracy": _accuracy(truth, [max(p, key=p.get) for p in naive]),
            "roc_auc": _macro_auc(truth, naive, classes),
            "base_rate": round(Counter(truth).most_common(1)[0][1] / len(truth), 4),
        },
    }

    def incumbent(active: ModelVersion | None) -> float | None:
        if active is None:
            return None
        try:
            theirs = CaseScorer(active.parameters)
            return _accuracy(
                truth,
                [
                    max(p, key=p.get)
                    for p in (theirs.probabilities(e.features, e.code) for e in test)
                ],
            )
        except (DamagedVersion, IndexError, ValueError):
            return None  # fmt: skip

    return keep_version(
        model,
        parameters=parameters,
        metrics=metrics,
        score="accuracy",
        incumbent=incumbent,
        window=(examples[0].opened_at, examples[-1].opened_at),
        counts={"train": len(train), "held_out": len(test), **dict(Counter(truth))},
    )
