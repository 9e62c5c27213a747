"""The Celery application; configuration comes from Django settings under the CELERY_ namespace."""

import gc
import logging
import os

from celery import Celery
from celery.signals import task_postrun, task_prerun, worker_init

# As wsgi.py: a worker or beat started bare is a production one, and refuses to start without
# its database and broker rather than quietly running on make run's SQLite and folder broker.
# make run, the tests and the bench name their settings module explicitly.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "o2c.settings.production")

app = Celery("o2c")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

from . import task_metrics, workers  # noqa: E402, F401 - task counters; the worker list

logger = logging.getLogger(__name__)


@worker_init.connect
def import_before_forking(**kwargs) -> None:
    """A prefork pool's processes are forked from the worker's main process after this: what it
    imports here they share, instead of each importing it on its first task (and again after
    every restart of a pool process). The order-anomaly scorer brings numpy, ~90 ms a process
    that ingestion's first scored batch would otherwise pay."""
    from django.apps import apps  # noqa: PLC0415 - Celery's Django fixup has set Django up

    if not apps.ready:
        return
    from exceptions.extensions import anomaly_scorers  # noqa: PLC0415

    try:
        anomaly_scorers()
    except Exception:  # noqa: BLE001 - the worker still starts; scoring meets it again, logged
        logger.exception("Anomaly scorers not imported before forking")
    # What the worker has made by now lives as long as it does. Frozen, the pool processes'
    # full collections skip it (they swept the whole heap: a sixth of a bank file's Python in
    # one process), and leave its pages shared with them unwritten.
    gc.collect()
    gc.freeze()


@task_prerun.connect
@task_postrun.connect
def recycle_database_connections(sender=None, **kwargs) -> None:
    """Around each task, what Django does around each request: a connection that is broken,
    left mid-transaction or past CONN_MAX_AGE is closed (the next query opens a fresh one); a
    healthy one is kept (CELERY_DB_REUSE_MAX stops Celery closing it every time). An eagerly run
    task is part of its caller's request or transaction, which must keep its connection."""
    if getattr(getattr(sender, "request", None), "is_eager", False):
        return
    from django.db import close_old_connections  # noqa: PLC0415 - Django is set up by now

    close_old_connections()
