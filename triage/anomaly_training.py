"""Training and scoring the order-anomaly model: an isolation forest (scikit-learn, fixed seed)
over the features of ``order_anomaly``, kept on the version as JSON (each tree's children,
features, thresholds and node sizes; never a pickle) and scored here with numpy alone.

Training is unsupervised: the forest learns what usual orders look like from every order in the
window. The held-out figures need a truth, and normal history has none, so they use what people
decided: an order whose anomaly hold (the quantity rule's, or this model's) a person rejected is
anomalous, every other order is not. On the most recent fifth, which the forest never saw, its
ROC AUC is set beside the quantity rule's own view (the largest line quantity over the customer's
median for that item) and must beat it to become active. Too few such decisions refuse training,
saying how many are needed: without them no figure could show the model is any good.
"""

from __future__ import annotations

import math

from .models import ModelVersion, TriageModel
from .order_anomaly import NUMERIC, Compared, training_examples, words
from .training import (
    HELD_OUT,
    MIN_PER_CLASS,
    SEED,
    DamagedVersion,
    NotEnoughHistory,
    _metrics,
    keep_version,
)

#: The forest's size: enough trees for stable scores; 128 orders a tree, as the original paper
#: recommends (more adds time, not separation).
TREES = 50
MAX_SAMPLES = 128
#: How many factors an explanation names.
FACTORS = 3
EULER_GAMMA = 0.5772156649015329


def average_path(n: float) -> float:
    """c(n): the average path length of an unsuccessful search in a binary tree of n points,
    as scikit-learn's isolation forest computes it."""
    if n <= 1:
        return 0.0
    if n <= 2:
        return 1.0
    return 2.0 * (math.log(n - 1.0) + EULER_GAMMA) - 2.0 * (n - 1.0) / n


class Forest:
    """A version's parameters, checked, scored with numpy: no pickle is ever loaded.

    ``scores`` equals minus scikit-learn's ``score_samples``: 2^(-E[h(x)] / c(max_samples)), in
    (0, 1], about 0.5 for an ordinary order and nearer 1 the more unusual."""

    def __init__(self, parameters: dict):
        import numpy as np

        try:
            self.names = list(parameters["features"])
            self.mean = [float(v) for v in parameters["mean"]]
            self.scale = [float(v) or 1.0 for v in parameters["scale"]]
            self.max_samples = int(parameters["max_samples"])
            trees = list(parameters["trees"])
            self.trees = []
            for tree in trees:
                left = np.asarray(tree["children_left"], dtype=np.int64)
                right = np.asarray(tree["children_right"], dtype=np.int64)
                feature = np.asarray(tree["feature"], dtype=np.int64)
                threshold = np.asarray(tree["threshold"], dtype=np.float64)
                size = np.asarray(tree["n_node_samples"], dtype=np.float64)
                self.trees.append((left, right, feature, threshold, size))
        except (KeyError, TypeError, ValueError) as exc:
            raise DamagedVersion(f"its parameters cannot be read ({exc!r})") from exc
        if self.names != list(NUMERIC) or {len(self.mean), len(self.scale)} != {len(NUMERIC)}:
            raise DamagedVersion("its parameters do not fit together")
        if not self.trees or self.max_samples < 1:
            raise DamagedVersion("it has no trees")
        self.walks = []
        for left, right, feature, threshold, size in self.trees:
            n = len(left)
            if not n or {len(right), len(feature), len(threshold), len(size)} != {n}:
                raise DamagedVersion("a tree's arrays do not fit together")
            leaf = left == -1
            inner = ~leaf
            nodes = np.arange(n)
            # every child after its parent (as scikit-learn builds them) and inside the tree,
            # features in range: a walk always ends, on a leaf, within the tree's depth
            if (
                ((right == -1) != leaf).any()
                or (inner & ((left <= nodes) | (right <= nodes) | (left >= n) | (right >= n))).any()
                or (inner & ((feature < 0) | (feature >= len(NUMERIC)))).any()
            ):
                raise DamagedVersion("a tree's nodes do not fit together")
            depth = np.zeros(n, dtype=np.int64)
            for node in range(n):  # parents come first: each child's depth from its parent's
                if inner[node]:
                    depth[left[node]] = depth[right[node]] = depth[node] + 1
            leaf_path = np.array([average_path(s) for s in size]) + depth
            # a leaf's feature is scikit-learn's -2: any column serves, its step is masked
            safe_feature = np.where(leaf, 0, feature)
            self.walks.append((left, right, safe_feature, threshold, leaf, leaf_path,
                               int(depth.max())))  # fmt: skip
        self.denominator = len(self.trees) * average_path(self.max_samples)

    def scores(self, rows: list[list[float]]) -> list[float]:
        import numpy as np

        if not rows:
            return []
        # scikit-learn's trees compare float32 values with their (double) thresholds
        x = np.asarray(rows, dtype=np.float32).astype(np.float64)
        at = np.arange(len(rows))
        depths = np.zeros(len(rows))
        for left, right, feature, threshold, leaf, leaf_path, height in self.walks:
            node = np.zeros(len(rows), dtype=np.int64)
            for _ in range(height):
                here = leaf[node]
                if here.all():
                    break
                go_left = x[at, feature[node]] <= threshold[node]
                node = np.where(here, node, np.where(go_left, left[node], right[node]))
            depths += leaf_path[node]
        return [float(v) for v in 2.0 ** (-depths / self.denominator)]

    def factors(self, compared: Compared) -> list[dict]:
        """The features furthest from what usual orders show, in words: direction "+" is above
        the usual, the weight is the distance in standard deviations of the training orders."""
        return self.factors_many([compared], [compared.vector()])[0]

    def factors_many(self, compared: list[Compared], vectors: list[list[float]]) -> list[list]:
        """``factors`` for each of ``compared`` (``vectors``: their features), the distances
        and their ranking worked out for all at once."""
        import numpy as np

        if not compared:
            return []
        z = (np.asarray(vectors, dtype=np.float64) - np.asarray(self.mean)) / np.asarray(self.scale)
        # furthest first; a tie keeps the features' order (a stable sort, as Python's)
        ranked = np.argsort(-np.abs(z), axis=1, kind="stable")[:, :FACTORS]
        found = []
        for c, weights, order in zip(compared, z.tolist(), ranked.tolist(), strict=True):
            named = []
            for k in order:  # words for the ones named only
                weight = weights[k]
                direction = "+" if weight > 0 else "-"
                named.append({"text": words(c, self.names[k], direction),
                              "direction": direction, "weight": round(weight, 2)})  # fmt: skip
            found.append(named)
        return found


def forest_parameters(forest, x_train) -> dict:
    """A fitted ``IsolationForest`` as JSON-ready parameters, with the training features' mean
    and spread for the explanations."""
    mean = x_train.mean(axis=0)
    scale = x_train.std(axis=0)
    return {
        "features": list(NUMERIC),
        "mean": [round(float(v), 10) for v in mean],
        "scale": [round(float(v), 10) if v > 1e-9 else 1.0 for v in scale],
        "max_samples": int(forest.max_samples_),
        "trees": [
            {
                "children_left": [int(v) for v in tree.tree_.children_left],
                "children_right": [int(v) for v in tree.tree_.children_right],
                "feature": [int(v) for v in tree.tree_.feature],
                # exact as stored: a JSON float round-trips a double
                "threshold": [float(v) for v in tree.tree_.threshold],
                "n_node_samples": [int(v) for v in tree.tree_.n_node_samples],
            }
            for tree in forest.estimators_
        ],
    }


def fit_forest(rows: list[list[float]]):
    import numpy as np
    from sklearn.ensemble import IsolationForest

    x_train = np.asarray(rows, dtype=np.float64)
    forest = IsolationForest(
        n_estimators=TREES, max_samples=min(MAX_SAMPLES, len(rows)), random_state=SEED
    ).fit(x_train)
    return forest, forest_parameters(forest, x_train)


def train_order_anomaly(*, model: TriageModel) -> ModelVersion:
    examples = training_examples()
    anomalous = sum(e.anomalous for e in examples)
    if len(examples) < model.min_examples or anomalous < 2 * MIN_PER_CLASS:
        raise NotEnoughHistory(
            f"Training {model.name} needs at least {model.min_examples} orders from customers "
            f"with 3 or more earlier orders, and {2 * MIN_PER_CLASS} or more of them rejected by "
            f"a person on an anomaly hold (to test it on); there are {len(examples)} "
            f"({anomalous} rejected). The active version stays."
        )
    cut = int(len(examples) * (1 - HELD_OUT))
    train, test = examples[:cut], examples[cut:]
    held_anomalous = sum(e.anomalous for e in test)
    if held_anomalous < MIN_PER_CLASS // 2 or held_anomalous == len(test):
        raise NotEnoughHistory(
            f"The most recent {len(test)} orders, held out for testing, have {held_anomalous} "
            f"rejected on an anomaly hold; at least {MIN_PER_CLASS // 2} are needed for their "
            "scores to say anything. The active version stays."
        )
    _, parameters = fit_forest([e.compared.vector() for e in train])
    forest = Forest(parameters)
    y_test = [int(e.anomalous) for e in test]
    scores = forest.scores([e.compared.vector() for e in test])
    threshold = float(model.threshold)
    metrics = _metrics(y_test, scores, threshold)
    ratios = [e.compared.quantity_ratio for e in test]
    # the quantity rule's own view: its ratio squashed into 0-1 (a ratio of its factor, 5, is
    # 0.83), so its calls at the same threshold and its Brier score can be set beside the model's
    baseline = [r / (r + 1.0) for r in ratios]
    metrics["baseline"] = {
        "rule": "the quantity rule: largest line quantity over the customer's median for the item",
        **_metrics(y_test, baseline, threshold),
        "base_rate": round(sum(y_test) / len(y_test), 4),
    }

    def incumbent(active: ModelVersion | None) -> float | None:
        from sklearn.metrics import roc_auc_score

        if active is None:
            return None
        try:
            theirs = Forest(active.parameters)
            return round(float(roc_auc_score(y_test, theirs.scores([e.compared.vector()
                                                                    for e in test]))), 4)  # fmt: skip
        except (DamagedVersion, ValueError, IndexError):
            return None

    return keep_version(
        model,
        parameters=parameters,
        metrics=metrics,
        score="roc_auc",
        incumbent=incumbent,
        window=(examples[0].received_at, examples[-1].received_at),
        counts={"train": len(train), "held_out": len(test), "anomalous": anomalous,
                "usual": len(examples) - anomalous},
    )  # fmt: skip
