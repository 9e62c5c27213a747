"""Every write of the integrations app: sync, inbox processing, replay, outbox relay, heartbeat."""

from .heartbeat import worker_heartbeat_record
from .inbox import inbox_process, inbox_receive, inbox_replay, inbox_store
from .outbox import (
    outbox_enqueue_credit_memo,
    outbox_enqueue_invoice,
    outbox_enqueue_release,
    outbox_relay,
    outbox_resend_invoices,
)
from .sync import connector_sync

__all__ = [
    "connector_sync",
    "inbox_process",
    "inbox_receive",
    "inbox_replay",
    "inbox_store",
    "outbox_enqueue_credit_memo",
    "outbox_enqueue_invoice",
    "outbox_enqueue_release",
    "outbox_relay",
    "outbox_resend_invoices",
    "worker_heartbeat_record",
]
