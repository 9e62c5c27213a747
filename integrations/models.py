"""Integration state: for now the worker heartbeat that proves the task pipeline is alive."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """One row per worker host; beat asks a worker to touch it, so a stale row means no worker."""

    hostname = models.CharField(max_length=200, unique=True)
    beats = models.PositiveBigIntegerField(default=0)
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen"]

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"
