"""Celery tasks for integrations: thin wrappers around services, idempotent, retried with backoff."""

from datetime import timedelta

from celery import shared_task

from core.tasks import HEARTBEAT_TASK_OPTIONS, INTEGRATION_TASK_OPTIONS, TASK_OPTIONS

from . import services


@shared_task(bind=True, **HEARTBEAT_TASK_OPTIONS)
def worker_heartbeat(self) -> int:
    """Record that the worker which took this task gets tasks from the broker; returns its count."""
    return services.worker_heartbeat_record(hostname=self.request.hostname).beats


@shared_task(**INTEGRATION_TASK_OPTIONS)
def connector_sync_all(connector_id: int) -> dict:
    """Beat entry per connector: each stream in turn, master data before the orders that use it."""
    from .models import Connector

    connector = Connector.objects.get(pk=connector_id)
    outcome = {}
    if connector.kind == Connector.Kind.EDI:  # partners deliver files: read their folders
        # one task a partner, so the folders are read by as many workers as there are
        partners = connector.trading_partners.filter(active=True).exclude(inbound_folder="")
        for partner_id in partners.values_list("pk", flat=True):
            edi_poll_task.delay(partner_id)
        for stream in connector.streams:
            outcome[stream] = services.inbox_process(connector_id=connector_id, stream=stream)
        return outcome
    for stream in connector.streams:
        services.connector_sync(connector_id=connector_id, stream=stream)
        outcome[stream] = services.inbox_process(connector_id=connector_id, stream=stream)
    return outcome


@shared_task(**INTEGRATION_TASK_OPTIONS)
def inbox_process_task(connector_id: int, stream: str) -> dict:
    return services.inbox_process(connector_id=connector_id, stream=stream)


@shared_task(**INTEGRATION_TASK_OPTIONS)
def outbox_relay_task() -> dict:
    return services.outbox_relay()


@shared_task(**TASK_OPTIONS)
def connectors_reconcile(lookback_hours: int = 24) -> int:
    """Beat entry (hourly): a reconciliation of each enabled connector, as a task of its own so
    one source being down delays only its own."""
    connector_ids = services.connectors_to_reconcile()
    for connector_id in connector_ids:
        connector_reconcile_task.delay_on_commit(connector_id, lookback_hours)
    return len(connector_ids)


@shared_task(**INTEGRATION_TASK_OPTIONS)
def connector_reconcile_task(connector_id: int, lookback_hours: int = 24) -> dict:
    """Compare each stream's last ``lookback_hours`` with the source; recover and hold what the
    pulls missed."""
    return services.connector_reconcile(
        connector_id=connector_id, lookback=timedelta(hours=lookback_hours)
    )


@shared_task(**INTEGRATION_TASK_OPTIONS)
def edi_poll_task(partner_id: int) -> dict:
    """Read one trading partner's drop folder, then apply the orders it brought."""
    from .edi.models import TradingPartner
    from .edi.transport import poll_folder

    partner = TradingPartner.objects.select_related("connector", "customer").get(pk=partner_id)
    outcome = {"files": poll_folder(partner)}
    outcome["orders"] = services.inbox_process(connector_id=partner.connector_id, stream="orders")
    return outcome


@shared_task(**TASK_OPTIONS)
def edi_overdue_task() -> dict:
    """Beat: 997s and required EDI documents past due become integration holds."""
    from .edi.overdue import edi_overdue

    return edi_overdue()
