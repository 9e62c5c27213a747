"""Keep each connector's pull schedule (a django-celery-beat entry) in step with its settings."""

import json

from django.db import transaction
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from ..models import Connector


@transaction.atomic
def connector_schedule(*, connector: Connector) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(
        every=max(connector.poll_interval_seconds, 5), period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name=f"Sync {connector.name}",
        defaults={
            "task": "integrations.tasks.connector_sync_all",
            "interval": every,
            "args": json.dumps([connector.pk]),
            "enabled": connector.enabled,
        },
    )
    return task


@transaction.atomic
def outbox_schedule(*, seconds: int = 15) -> PeriodicTask:
    every, _ = IntervalSchedule.objects.get_or_create(
        every=seconds, period=IntervalSchedule.SECONDS
    )
    task, _ = PeriodicTask.objects.update_or_create(
        name="Relay the outbox",
        defaults={"task": "integrations.tasks.outbox_relay_task", "interval": every},
    )
    return task


@transaction.atomic
def connector_set_enabled(*, connector_id: int, actor, enabled: bool, reason: str) -> Connector:
    """Pause or resume a connector; its beat entry follows, and history records who and why."""
    from core.errors import require_reason

    reason = require_reason(reason)
    connector = Connector.objects.select_for_update().get(pk=connector_id)
    connector.enabled = enabled
    connector._history_user = actor
    connector._change_reason = f"{'Resumed' if enabled else 'Paused'}: {reason}"
    connector.save()
    connector_schedule(connector=connector)
    return connector


@transaction.atomic
def connector_sync_now(*, connector_id: int) -> None:
    """Queue an immediate pull of every stream. Its cursors show as running (queued) at once, so
    the progress bar polls until the worker has been through every stream."""
    from ..models import SyncCursor
    from ..tasks import connector_sync_all

    connector = Connector.objects.get(pk=connector_id)
    for stream in connector.streams:
        cursor, _ = SyncCursor.objects.select_for_update().get_or_create(
            connector=connector, stream=stream
        )
        cursor.running, cursor.pages, cursor.messages = True, 0, 0
        cursor.save(update_fields=["running", "pages", "messages"])
    connector_sync_all.delay_on_commit(connector_id)
