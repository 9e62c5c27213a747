"""Scoring orders with the order-anomaly model inside ingestion and evaluation: the hold rules call
``orders_anomaly`` once per batch through ``exceptions.extensions`` (declared on triage's
AppConfig), and the order-anomaly rule holds an order above the policy's threshold.

As the mode allows: off scores nothing; shadow records each prediction and gives the rules
nothing (no hold, nothing shown); suggest and act record it shown and give the rules the score
with its factors (the model releases nothing: act is suggest). No active version, or one whose
parameters cannot be read, scores nothing and is logged: the other rules judge as before.
Predictions are inserted in one statement per batch; a version scores an order once."""

from __future__ import annotations

import json
import logging
from decimal import Decimal

import numpy  # noqa: F401 - every batch scored needs it; a worker imports it before forking
from django.db import connection
from django.utils import timezone

from exceptions.rules import AnomalyFacts

from . import order_anomaly
from .models import SHOWN_MODES, Mode, Prediction, TriageModel
from .scoring import active_scorer

logger = logging.getLogger(__name__)


def orders_anomaly(
    orders: list,
    lines_of: dict,
    *,
    recent: dict | None = None,
    depth: int = 0,
    lines: list | None = None,
) -> dict[int, AnomalyFacts]:
    """{order id: its anomaly score and factors} for the orders the rules may hold on it.
    ``recent``: the customers' last ``depth`` orders as the rules read them, and ``lines``,
    theirs, reused when deep enough (``exceptions.extensions``)."""
    model = TriageModel.objects.filter(name=TriageModel.ORDER_ANOMALY).first()
    if model is None or model.mode == Mode.OFF or not orders:
        return {}
    version, forest, why = active_scorer(model)
    if forest is None:
        # a damaged version is worth a warning; none trained yet is the normal start
        (logger.warning if version is not None else logger.debug)("Orders not scored: %s", why)
        return {}
    deep = depth >= order_anomaly.HISTORY and lines is not None
    compared = order_anomaly.batch_compared(
        orders, lines_of, recent=recent if deep else None, lines=lines if deep else None
    )
    if not compared:
        return {}
    vectors = [c.vector() for c in compared.values()]
    scores = forest.scores(vectors)
    shown = model.mode in SHOWN_MODES
    threshold, now = float(model.threshold), timezone.now()
    found, rows = {}, []
    named = forest.factors_many(list(compared.values()), vectors)
    for pk, score, factors in zip(compared, scores, named, strict=True):
        rounded = Decimal(f"{score:.4f}")
        rows.append((pk, rounded, "anomaly" if score >= threshold else "usual", factors))
        if shown:
            found[pk] = AnomalyFacts(rounded, tuple(factors), f"{model.name} v{version.number}")
    predictions_record(version.pk, rows, shown=shown, at=now)
    return found


def predictions_record(version_id: int, rows: list[tuple], *, shown: bool, at) -> None:
    """One prediction per (order id, score, label, factors), in one statement; an order judged
    again (an amendment) keeps the prediction its version first made.

    On PostgreSQL the rows go as one JSON document to one ``INSERT .. SELECT .. FROM
    jsonb_to_recordset(..) ON CONFLICT DO NOTHING``, without a model instance each: building 500
    ``Prediction`` objects and having ``bulk_create`` prepare their values took ~40 ms of a batch
    whose ingestion takes ~400, and four arrays as parameters ~20 ms more (psycopg quotes each
    element of a list in Python; one string is quoted at once)."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        Prediction.objects.bulk_create(
            [
                Prediction(version_id=version_id, subject="order", subject_id=pk,
                           probability=score, label=label, factors=factors, shown=shown,
                           made_at=at)
                for pk, score, label, factors in rows
            ],
            ignore_conflicts=True,
        )  # fmt: skip
        return
    quote, meta = connection.ops.quote_name, Prediction._meta

    def col(name: str) -> str:
        return quote(meta.get_field(name).column)

    given = ("version", "subject", "shown", "made_at", "outcome", "action", "action_note")
    per_row = ("subject_id", "probability", "label", "factors")
    # identifiers from the model's metadata only; every value is a parameter (the score as its
    # decimal text, so the numeric column gets exactly the rounded score)
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(col(n) for n in given + per_row)}) "  # noqa: S608
        "SELECT %s, 'order', %s, %s, '', '', '', r.id, r.score, r.label, r.factors "
        "FROM jsonb_to_recordset(%s::jsonb) "
        "AS r(id bigint, score numeric, label text, factors jsonb) ON CONFLICT DO NOTHING"
    )
    document = json.dumps(
        [
            {"id": pk, "score": str(score), "label": label, "factors": factors}
            for pk, score, label, factors in rows
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [version_id, shown, at, document])
