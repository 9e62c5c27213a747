"""Worker health: the heartbeat a beat-scheduled task records."""

import socket

from django.db import transaction
from django.utils import timezone

from ..models import WorkerHeartbeat


@transaction.atomic
def worker_heartbeat_record(*, hostname: str | None = None) -> WorkerHeartbeat:
    """Count one beat for this worker host; the row lock keeps concurrent beats from losing a count."""
    now = timezone.now()
    beat, created = WorkerHeartbeat.objects.select_for_update().get_or_create(
        hostname=hostname or socket.gethostname(), defaults={"beats": 1, "last_seen": now}
    )
    if not created:
        beat.beats += 1
        beat.last_seen = now
        beat.save(update_fields=["beats", "last_seen"])
    return beat
