"""Worker watch: one row per Celery worker (what it consumes, when it last reported), the policy
that says when a quiet worker counts as silent, and the integration alerts raised on it."""

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


class AlertKind(models.TextChoices):
    WORKER_SILENT = "worker_silent", "Worker silent"  # subject: the worker's node name
    QUEUE_UNCONSUMED = "queue_unconsumed", "Queue without a live worker"  # subject: the queue


class IntegrationAlert(models.Model):
    """A condition an integration admin must act on, open from ``raised_at`` until the watch sees
    it cured (``resolved_at``). At most one open alert per kind and subject: one per silence."""

    kind = models.CharField(max_length=30, choices=AlertKind.choices)
    subject = models.CharField(max_length=200)
    message = models.CharField(max_length=300)
    raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="integration_alert_open_once",
            )
        ]

    def __str__(self) -> str:
        return self.message
