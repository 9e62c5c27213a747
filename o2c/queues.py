"""Which Celery queue each task goes to, so long ingestion never waits in front of invoicing, the
outbox or cash: every o2c task is named here (tests/o2c/test_queues.py fails on a new one that
is not), and each deployment runs workers per queue (docs/operations.md)."""

from django.conf import settings
from kombu import Queue

#: ingest: pulls, message processing and reconciliations with the sources (long, bursty);
#: billing: invoices and the shipments that make them; outbox: postings to the ERP;
#: receivables: cash, AR reconciliation and collections; kpis: slices and model training
#: (nightly, read everything); notify: mail and chat messages (an SMTP or chat outage retries for
#: an hour and must not hold up the ERP's postings, nor a posting backlog the escalation mail);
#: default: short scans on the beat and the worker heartbeat.
QUEUES = ("ingest", "billing", "outbox", "receivables", "kpis", "notify", "default")

ROUTES = {
    "integrations.tasks.connector_sync_all": "ingest",
    "integrations.tasks.inbox_process_task": "ingest",  # but see STREAM_QUEUES
    "integrations.tasks.edi_poll_task": "ingest",
    "integrations.tasks.connectors_reconcile": "ingest",
    "integrations.tasks.connector_reconcile_task": "ingest",
    "billing.tasks.invoices_catch_up": "billing",
    "billing.tasks.invoices_consolidate_daily": "billing",
    "billing.tasks.invoices_consolidate_weekly": "billing",
    "billing.tasks.pod_overdue_scan": "billing",
    "integrations.tasks.outbox_relay_task": "outbox",
    "receivables.tasks.ar_reconciliation_daily": "receivables",
    "dunning.tasks.dunning_daily": "receivables",
    "dunning.tasks.refresh_customers": "receivables",
    "insights.tasks.kpis_refresh": "kpis",
    "insights.tasks.kpis_rebuild": "kpis",
    "triage.tasks.triage_train_task": "kpis",
    # scoring reorders the open queues every two minutes: not behind a nightly rebuild
    "triage.tasks.triage_score_task": "default",
    "core.tasks.delivery_send_task": "notify",
    "core.tasks.deliveries_sweep_task": "notify",
    "exceptions.tasks.notices_digest_task": "notify",
    "integrations.tasks.worker_heartbeat": "default",
    "exceptions.tasks.holds_escalate_overdue": "default",
    "cases.tasks.cases_escalate_overdue": "default",
    "integrations.tasks.edi_overdue_task": "default",
}

#: Inbound streams whose processing invoices (a ship confirmation, a proof of delivery) or applies
#: cash (a bank statement, an 820): a backlog of orders or master data must not delay them.
STREAM_QUEUES = {
    "shipments": "billing",
    "deliveries": "billing",
    "statements": "receivables",
    "remittances": "receivables",
}


def queue_name(queue: str) -> str:
    """A queue's name on the broker: O2C_QUEUE_PREFIX keeps a test run's queues its own."""
    return f"{settings.O2C_QUEUE_PREFIX}{queue}"


def broker_queues(prefix: str) -> list[Queue]:
    """The queues a worker without -Q consumes (CELERY_TASK_QUEUES)."""
    return [Queue(f"{prefix}{queue}") for queue in QUEUES]


def route_task(name, args, kwargs, options, task=None, **kw) -> dict | None:
    """Celery router (CELERY_TASK_ROUTES): a task's queue from ROUTES, or for a message batch
    from its stream. An unknown task is left to CELERY_TASK_DEFAULT_QUEUE."""
    queue = ROUTES.get(name)
    if queue is None:
        return None
    if name == "integrations.tasks.inbox_process_task":
        stream = (kwargs or {}).get("stream") or (args[1] if args and len(args) > 1 else None)
        queue = STREAM_QUEUES.get(stream, queue)
    return {"queue": queue_name(queue)}
