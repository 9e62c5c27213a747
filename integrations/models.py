"""Integration state: connectors and their cursors, the inbox and outbox, worker health and alerts."""

import uuid

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from core.audit import BULK_HISTORY


class Connector(models.Model):
    class Kind(models.TextChoices):
        ERP = "erp", "ERP"  # customers, items, prices, AR, orders; receives invoices
        WMS = "wms", "WMS"  # stock, ship confirmations, return receipts; receives releases, returns
        TMS = "tms", "TMS"  # deliveries / proof of delivery
        BANK = "bank", "Bank"  # statements (BAI2, camt.053) and lockbox files
        EDI = "edi", "EDI"  # X12 interchanges from trading partners (integrations.edi)

    STREAMS = {
        Kind.ERP: ["customers", "items", "prices", "ar", "orders"],
        Kind.WMS: ["inventory", "shipments", "receipts"],
        Kind.TMS: ["deliveries"],
        Kind.BANK: ["statements"],
        # an 850 or 860 is an order record like the ERP's, an 820 a remittance advice for
        # receivables (997s are applied as they arrive);
        # "sets": sets rejected or not mappable; "interchanges": files that could not be read,
        # or from a sender o2c does not trade with (both judged afresh when replayed)
        Kind.EDI: ["orders", "remittances", "sets", "interchanges"],
    }

    name = models.SlugField(max_length=40, unique=True)
    kind = models.CharField(max_length=8, choices=Kind)
    base_url = models.URLField()
    credentials_ref = models.CharField(
        max_length=100,
        blank=True,
        help_text="Name of the environment variable holding the API token (never the token itself).",
    )
    enabled = models.BooleanField(
        default=True, help_text="Untick to pause every pull of this connector."
    )
    poll_interval_seconds = models.PositiveIntegerField(default=60)
    page_size = models.PositiveIntegerField(default=100)
    overlap_seconds = models.PositiveIntegerField(
        default=300,
        help_text="Each pull reads again the changes this many seconds behind the newest it "
        "read, so a change the source stamps late is not missed; repeats change nothing.",
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def streams(self) -> list[str]:
        return self.STREAMS.get(self.kind, [])


class SyncCursor(models.Model):
    """Where the next pull of one stream starts, how the current or last sync went, and what the
    last reconciliation with the source found."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="cursors")
    stream = models.CharField(max_length=32)
    cursor = models.CharField(
        max_length=200,
        blank=True,
        help_text="“<updated_at>|<id>”: the next pull reads the changes after it; empty: all.",
    )
    running = models.BooleanField(default=False)
    pages = models.PositiveIntegerField(default=0, help_text="Pages read by the current/last sync.")
    messages = models.PositiveIntegerField(
        default=0, help_text="Messages stored by the current/last sync."
    )
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    reconciled_at = models.DateTimeField(null=True, blank=True)
    reconciliation = models.CharField(
        max_length=300, blank=True, help_text="What the last reconciliation compared and found."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "stream"], name="integrations_cursor_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.connector_id}/{self.stream}@{self.cursor or 'start'}"


class MissedRecord(models.Model):
    """A record the source has and the pull never stored, found by a reconciliation; resolved
    once it is in the inbox. One row per record version, however many runs find it."""

    connector = models.ForeignKey(Connector, on_delete=models.CASCADE, related_name="missed")
    stream = models.CharField(max_length=32)
    external_id = models.CharField(max_length=100)
    version = models.PositiveIntegerField()
    source_updated_at = models.DateTimeField(help_text="When the source says it changed.")
    found_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    #: The order the record names, when o2c knows it: the hold raised on it says what was missed.
    order = models.ForeignKey(
        "orders.Order", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    hold = models.ForeignKey(
        "exceptions.Hold", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-found_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["connector", "stream", "external_id", "version"],
                name="integrations_missed_unique",
            )
        ]
        indexes = [
            # the open ones, which every reconciliation checks again
            models.Index(
                fields=["connector", "stream"],
                name="missed_open",
                condition=models.Q(resolved_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream}:{self.external_id} v{self.version} missed"


class InboundState(models.TextChoices):
    RECEIVED = "received", "Received"  # stored raw, not yet applied
    PROCESSED = "processed", "Processed"  # applied to the canonical model (or a no-op repeat)
    FAILED = "failed", "Failed (retrying)"  # transient trouble or waiting for a reference; retried
    DEAD = "dead", "Dead letter"  # permanent: kept with its reason until replayed


#: How the reason of a message waiting for its order or shipment begins.
PARKED = "parked: "


class InboundMessage(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    # indexed by inbox_stream_state and the idempotency key, which both lead with it
    connector = models.ForeignKey(
        Connector, on_delete=models.PROTECT, related_name="inbox", db_index=False
    )
    stream = models.CharField(max_length=32)
    external_id = models.CharField(max_length=100)
    version = models.PositiveIntegerField(default=1)
    payload = models.JSONField(null=True)
    payload_hash = models.CharField(max_length=64)
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    received_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    #: Attempts started and never finished: the process died mid-way (SIGKILL, OOM, a crash).
    #: Counted before applying, in a transaction of its own, so a message that kills its worker
    #: is recognised as poison on redelivery instead of crashing worker after worker.
    unfinished_attempts = models.PositiveSmallIntegerField(default=0)
    #: When the message first had to wait for what it refers to (a shipment for its order, a
    #: delivery for its shipment): O2C_PARK_HOURS counts from here. Empty: it never waited.
    parked_since = models.DateTimeField(null=True, blank=True)
    #: How many times it was checked and still had to wait. Waiting is not failing, so these are
    #: kept apart from ``attempts``, and the poison limit counts real failures only.
    park_checks = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    state = FSMField(default=InboundState.RECEIVED, choices=InboundState, protected=True)
    # Read by correlation id and date. The payload is left out: a stored message's payload never
    # changes (a fix upstream arrives as a new version), so each history row repeating it only
    # doubled every attempt's write; the row's payload_hash still names what it was.
    history = HistoricalRecords(
        no_db_index=["connector"],
        excluded_fields=["payload"],
        **BULK_HISTORY,
    )

    class Meta:
        constraints = [
            # The idempotency key: a repeat of the same version of a record changes nothing.
            models.UniqueConstraint(
                fields=["connector", "stream", "external_id", "version"],
                name="integrations_inbox_idempotency",
            )
        ]
        indexes = [
            models.Index(fields=["state", "received_at"], name="inbox_state"),
            models.Index(fields=["connector", "stream", "state"], name="inbox_stream_state"),
            # A stream's waiting messages in the order they are applied, and only those: with
            # the idempotency key alone, taking the next chunk walked every message the stream
            # ever applied (150 ms a chunk at 240,000), and the inbox only grows.
            models.Index(
                fields=["connector", "stream", "external_id", "version"],
                name="inbox_waiting",
                condition=models.Q(state__in=[InboundState.RECEIVED, InboundState.FAILED]),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.stream}:{self.external_id} v{self.version}"

    @transition(
        state, source=[InboundState.RECEIVED, InboundState.FAILED], target=InboundState.PROCESSED
    )
    def mark_processed(self, *, at) -> None:
        self.processed_at = at
        self.last_error = ""

    @transition(
        state, source=[InboundState.RECEIVED, InboundState.FAILED], target=InboundState.FAILED
    )
    def mark_failed(self, *, error: str) -> None:
        self.last_error = error

    @transition(
        state, source=[InboundState.RECEIVED, InboundState.FAILED], target=InboundState.DEAD
    )
    def mark_dead(self, *, error: str) -> None:
        self.last_error = error

    @transition(state, source=InboundState.DEAD, target=InboundState.RECEIVED)
    def replay(self) -> None:
        self.attempts = 0
        self.unfinished_attempts = 0
        self.parked_since = None  # a replayed message gets its full waiting time again
        self.park_checks = 0

    @property
    def waiting(self) -> bool:
        """Parked: still to apply, and waiting for what it refers to rather than failing (a
        parked message that then fails for real keeps its clock, not this flag)."""
        return (
            self.state == InboundState.FAILED
            and self.parked_since is not None
            and self.last_error.startswith(PARKED)
        )


class OutboundState(models.TextChoices):
    PENDING = "pending", "Pending"  # written with the business change, waiting for the relay
    SENT = "sent", "Sent"  # the target system acknowledged it
    FAILED = "failed", "Failed (retrying)"
    DEAD = "dead", "Dead letter"


class OutboundMessage(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    connector = models.ForeignKey(Connector, on_delete=models.PROTECT, related_name="outbox")
    topic = models.CharField(max_length=32)  # e.g. order_release, invoice_release
    key = models.CharField(
        max_length=100, unique=True, help_text="Idempotency key sent to the target."
    )
    payload = models.JSONField()
    correlation_id = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField()
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    state = FSMField(default=OutboundState.PENDING, choices=OutboundState, protected=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["state", "created_at"], name="outbox_state")]

    def __str__(self) -> str:
        return f"{self.topic}:{self.key}"

    @transition(
        state, source=[OutboundState.PENDING, OutboundState.FAILED], target=OutboundState.SENT
    )
    def mark_sent(self, *, at) -> None:
        self.sent_at = at
        self.last_error = ""

    @transition(
        state, source=[OutboundState.PENDING, OutboundState.FAILED], target=OutboundState.FAILED
    )
    def mark_failed(self, *, error: str) -> None:
        self.last_error = error

    @transition(
        state, source=[OutboundState.PENDING, OutboundState.FAILED], target=OutboundState.DEAD
    )
    def mark_dead(self, *, error: str) -> None:
        self.last_error = error

    @transition(state, source=OutboundState.DEAD, target=OutboundState.PENDING)
    def replay(self) -> None:
        self.attempts = 0


class IntegrationAlert(models.Model):
    """Something an integration admin must look at, raised by the desk itself: a notice that could
    not be delivered after all its tries, a worker gone silent, a queue no live worker consumes.
    At most one open alert per kind and subject, counting repeats, until a person resolves it or
    the worker watch sees its cause cured. Shown on the integration console and in admin."""

    class Kind(models.TextChoices):
        DELIVERY_FAILED = "delivery_failed", "Notice not delivered"
        WORKER_SILENT = "worker_silent", "Worker silent"  # subject: the worker's node name
        QUEUE_UNCONSUMED = "queue_unconsumed", "Queue without a live worker"  # subject: the queue

    kind = models.CharField(max_length=32, choices=Kind)
    subject = models.CharField(
        max_length=200, blank=True, default="", help_text="What it is about, within its kind."
    )
    message = models.CharField(max_length=500, help_text="The latest occurrence, readable.")
    count = models.PositiveIntegerField(default=1, help_text="Occurrences while open.")
    raised_at = models.DateTimeField()
    last_raised_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        ordering = ["-last_raised_at"]
        constraints = [
            # at most one open alert of a kind and subject: a repeat counts on it
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=models.Q(resolved_at__isnull=True),
                name="integration_alert_open_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ×{self.count}: {self.message}"


# The EDI and worker-watch models live with their code; imported here so Django finds them.
from .edi.models import (  # noqa: E402
    AckState,
    ControlNumber,
    Direction,
    Document,
    Interchange,
    TradingPartner,
)
from .workers.models import IntegrationPolicy, WorkerHeartbeat  # noqa: E402

__all__ = [
    "AckState",
    "Connector",
    "ControlNumber",
    "Direction",
    "Document",
    "InboundMessage",
    "InboundState",
    "IntegrationAlert",
    "IntegrationPolicy",
    "Interchange",
    "MissedRecord",
    "OutboundMessage",
    "OutboundState",
    "SyncCursor",
    "TradingPartner",
    "WorkerHeartbeat",
]
