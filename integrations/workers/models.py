"""Worker watch: one row per Celery worker (what it consumes, when it last reported), and the
policy that says when a quiet worker counts as silent (the alerts it raises are
``integrations.models.IntegrationAlert``)."""

from django.core.validators import MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords


class WorkerHeartbeat(models.Model):
    """One row per Celery worker node (``o2c-ingest@host``). The worker reports itself every few
    seconds from a thread of its own (o2c/workers.py); beat's heartbeat task adds a beat each time
    a worker takes it from the broker. A clean shutdown stamps ``stopped_at``; a killed worker
    simply stops reporting, and the watch calls it silent."""

    hostname = models.CharField(max_length=200, unique=True)
    queues = models.JSONField(default=list, blank=True, help_text="The queues it consumes.")
    pid = models.PositiveIntegerField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(help_text="Its last report or heartbeat task.")
    stopped_at = models.DateTimeField(
        null=True, blank=True, help_text="Set by a clean shutdown; cleared when it starts again."
    )
    beats = models.PositiveBigIntegerField(
        default=0, help_text="Heartbeat tasks it took from the broker (beat sends one every 30 s)."
    )

    class Meta:
        ordering = ["hostname"]

    def __str__(self) -> str:
        return f"{self.hostname} @ {self.last_seen:%Y-%m-%d %H:%M:%S}"


class IntegrationPolicy(models.Model):
    """One row (the migration creates it): when the integration admins are alerted."""

    worker_silent_after_seconds = models.PositiveIntegerField(
        default=120,
        validators=[MinValueValidator(10)],
        help_text="A worker that has not reported for this long is silent: an integration alert "
        "is raised, and a queue that no live worker consumes for this long gets one too. Workers "
        "report every O2C_WORKER_REPORT_SECONDS (15 s); keep this a few reports longer.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "integration policy"

    def __str__(self) -> str:
        return "Integration alert policy"
