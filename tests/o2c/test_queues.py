"""Every o2c task goes to a queue chosen for it: a new task without a route fails here, and the
routes reach Celery through settings (with this run's queue prefix)."""

import pytest
from django.conf import settings

from o2c.celery import app
from o2c.queues import QUEUES, ROUTES, STREAM_QUEUES, route_task

O2C_APPS = ("billing", "cases", "core", "dunning", "exceptions", "insights", "integrations")
O2C_APPS += ("orders", "receivables", "triage", "o2c", "demo")


def _o2c_tasks() -> list[str]:
    app.loader.import_default_modules()
    return sorted(name for name in app.tasks if name.split(".")[0] in O2C_APPS)


def _queue_of(name: str, args=(), kwargs=None) -> str:
    route = app.amqp.router.route({}, name, args=args, kwargs=kwargs or {})
    return route["queue"].name


def test_every_registered_task_has_an_explicit_queue():
    tasks = _o2c_tasks()
    assert len(tasks) >= 20, tasks  # the discovery found the apps' tasks

    unrouted = [name for name in tasks if name not in ROUTES]

    assert unrouted == [], f"add these tasks to o2c/queues.py ROUTES: {unrouted}"
    assert set(ROUTES.values()) <= set(QUEUES)
    assert set(ROUTES) <= set(tasks), "ROUTES names a task that no longer exists"


@pytest.mark.parametrize(
    ("task", "queue"),
    [
        ("integrations.tasks.connector_sync_all", "ingest"),
        ("billing.tasks.invoices_catch_up", "billing"),
        ("integrations.tasks.outbox_relay_task", "outbox"),
        ("receivables.tasks.ar_reconciliation_daily", "receivables"),
        ("dunning.tasks.dunning_daily", "receivables"),
        ("insights.tasks.kpis_rebuild", "kpis"),
        ("core.tasks.delivery_send_task", "notify"),
        ("integrations.tasks.worker_heartbeat", "default"),
    ],
)
def test_celery_sends_each_kind_of_work_to_its_queue(task, queue):
    assert _queue_of(task) == f"{settings.O2C_QUEUE_PREFIX}{queue}"


def test_a_stream_that_invoices_or_applies_cash_skips_the_ingest_queue():
    name = "integrations.tasks.inbox_process_task"
    prefix = settings.O2C_QUEUE_PREFIX

    assert _queue_of(name, args=(1, "orders")) == f"{prefix}ingest"
    assert _queue_of(name, args=(1, "shipments")) == f"{prefix}billing"
    assert _queue_of(name, kwargs={"connector_id": 1, "stream": "statements"}) == (
        f"{prefix}receivables"
    )
    assert set(STREAM_QUEUES.values()) <= set(QUEUES)


def test_an_unknown_task_falls_to_the_default_queue():
    assert route_task("elsewhere.tasks.unknown", (), {}, {}) is None
    assert f"{settings.O2C_QUEUE_PREFIX}default" == settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_worker_without_queues_named_consumes_every_queue():
    names = {queue.name for queue in app.amqp.queues.values()}
    assert {f"{settings.O2C_QUEUE_PREFIX}{queue}" for queue in QUEUES} <= names
