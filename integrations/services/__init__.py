"""Every write of the integrations app: sync, reconciliation, inbox processing, replay, outbox
relay, heartbeat."""

# The worker watch's writes live with its models; the beat heartbeat task is one of them.
from ..workers.services import (
    worker_heartbeat_record,
    worker_report,
    worker_stopped,
    workers_watch,
)
from .inbox import inbox_process, inbox_receive, inbox_replay, inbox_store
from .outbox import (
    outbox_enqueue_credit_memo,
    outbox_enqueue_invoice,
    outbox_enqueue_release,
    outbox_relay,
    outbox_resend_invoices,
)
from .reconcile import connector_reconcile, connectors_to_reconcile, stream_reconcile
from .sync import connector_sync

__all__ = [
    "connector_reconcile",
    "connector_sync",
    "connectors_to_reconcile",
    "inbox_process",
    "inbox_receive",
    "inbox_replay",
    "inbox_store",
    "outbox_enqueue_credit_memo",
    "outbox_enqueue_invoice",
    "outbox_enqueue_release",
    "outbox_relay",
    "outbox_resend_invoices",
    "stream_reconcile",
    "worker_heartbeat_record",
    "worker_report",
    "worker_stopped",
    "workers_watch",
]
