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
