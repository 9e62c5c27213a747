"""The hold rules' extension points: what higher apps add to the facts the rules read. exceptions
may not import the apps above it, so an app declares its extensions on its AppConfig as dotted
paths, read once, in INSTALLED_APPS order (as ``orders.extensions`` does):

- ``exceptions_anomaly_scorers``: ``scorer(orders, lines_of, recent=..., depth=..., lines=...) ->
  {order id: AnomalyFacts}``, called once per batch of orders judged (triage: the order-anomaly
  model). ``recent``: each customer's last ``depth`` orders before the batch, newest first, as the
  rules read them; ``lines``: every line of those orders as (order id, item id, ordered quantity,
  cancelled), or None when the rules read none (a scorer may reuse both rather than read them
  again; it must not change them). An order it leaves out has no score, and the order-anomaly
  rule finds nothing on it.
"""

import logging
from collections.abc import Callable
from functools import cache

from django.apps import apps
from django.db import transaction
from django.utils.module_loading import import_string

from .rules import AnomalyFacts

logger = logging.getLogger(__name__)


@cache
def anomaly_scorers() -> tuple[Callable, ...]:
    """Every installed app's declared anomaly scorers, imported on first use."""
    return tuple(
        import_string(path)
        for config in apps.get_app_configs()
        for path in getattr(config, "exceptions_anomaly_scorers", ())
    )


def anomaly_scores(
    orders: list,
    lines_of: dict,
    *,
    recent: dict | None = None,
    depth: int = 0,
    lines: list | None = None,
) -> dict[int, AnomalyFacts]:
    """Each order's anomaly score from every declared scorer (the last one to score it wins).

    A scorer that fails is logged and leaves the batch unscored: a model must never stop the
    deterministic rules from judging orders. Each runs in a savepoint, so a failed query inside
    it does not break the caller's transaction."""
    found: dict[int, AnomalyFacts] = {}
    try:
        scorers = anomaly_scorers()
    except Exception:  # noqa: BLE001 - a scorer that cannot even be imported: judged without
        logger.exception("Anomaly scorers could not be imported; the batch is judged without")
        return found
    for scorer in scorers:
        try:
            with transaction.atomic():
                found.update(scorer(orders, lines_of, recent=recent, depth=depth, lines=lines))
        except Exception:  # noqa: BLE001 - any failure of a model: the rules go on without it
            logger.exception("Anomaly scorer %s failed; the batch is judged without it", scorer)
    return found
