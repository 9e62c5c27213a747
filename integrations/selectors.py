"""Reads for integrations."""

from datetime import timedelta

from django.utils import timezone

from .models import WorkerHeartbeat

#: A worker not seen for this long is shown as down (beat runs the heartbeat every 30 s).
STALE_AFTER = timedelta(minutes=2)


def worker_status() -> dict:
    latest = WorkerHeartbeat.objects.order_by("-last_seen").first()
    if latest is None:
        return {"alive": False, "last_seen": None, "hostname": None}
    alive = timezone.now() - latest.last_seen < STALE_AFTER
    return {"alive": alive, "last_seen": latest.last_seen, "hostname": latest.hostname}
