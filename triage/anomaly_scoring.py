"""Scoring orders with the order-anomaly model inside ingestion and evaluation: the hold rules call
``orders_anomaly`` once per batch through ``exceptions.extensions`` (declared on triage's
AppConfig), and the order-anomaly rule holds an order above the policy's threshold.

As the mode allows: off scores nothing; shadow records each prediction and gives the rules
nothing (no hold, nothing shown); suggest and act record it shown and give the rules the score
with its factors (the model releases nothing: act is suggest). No active version, or one whose
parameters cannot be read, scores nothing and is logged: the other rules judge as before.
Predictions are inserted in one statement per batch; a version scores an order once."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.utils import timezone

from exceptions.rules import AnomalyFacts

from . import order_anomaly
from .models import SHOWN_MODES, Mode, Prediction, TriageModel
from .scoring import active_scorer

logger = logging.getLogger(__name__)


def orders_anomaly(orders: list, lines_of: dict) -> dict[int, AnomalyFacts]:
    """{order id: its anomaly score and factors} for the orders the rules may hold on it."""
    model = TriageModel.objects.filter(name=TriageModel.ORDER_ANOMALY).first()
    if model is None or model.mode == Mode.OFF or not orders:
        return {}
    version, forest, why = active_scorer(model)
    if forest is None:
        # a damaged version is worth a warning; none trained yet is the normal start
        (logger.warning if version is not None else logger.debug)("Orders not scored: %s", why)
        return {}
    compared = order_anomaly.batch_compared(orders, lines_of)
    if not compared:
        return {}
    scores = forest.scores([c.vector() for c in compared.values()])
    shown = model.mode in SHOWN_MODES
    threshold, now = float(model.threshold), timezone.now()
    found, predictions = {}, []
    for (pk, c), score in zip(compared.items(), scores, strict=True):
        factors = forest.factors(c)
        rounded = Decimal(f"{score:.4f}")
        predictions.append(
            Prediction(
                version=version, subject="order", subject_id=pk, probability=rounded,
                label="anomaly" if score >= threshold else "usual", factors=factors,
                shown=shown, made_at=now,
            )
        )  # fmt: skip
        if shown:
            found[pk] = AnomalyFacts(rounded, tuple(factors), f"{model.name} v{version.number}")
    # an order judged again (an amendment) keeps the prediction its version first made
    Prediction.objects.bulk_create(predictions, batch_size=1000, ignore_conflicts=True)
    return found
