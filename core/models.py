"""What a user prefers about how the desk reads to them: the time zone every page and CSV shows
times in (a user without a row reads times in ``O2C_DEFAULT_TIME_ZONE``), the list filters they
saved under a name, when they last opened their home page and how each kind of notice reaches
them; and the deliveries of mail and chat messages, kept until sent."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords
from timezone_field import TimeZoneField


class UserPreference(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference"
    )
    time_zone = TimeZoneField(help_text="Pages and CSV exports show times in this zone.")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "user preference"

    def __str__(self) -> str:
        return f"{self.user} · {self.time_zone}"


class SavedView(models.Model):
    """A list's filters kept under a name: a person's own, or shared with everyone of a role, and
    optionally the person's default for that list (opened when the list is opened bare)."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    name = models.CharField(max_length=60)
    #: the list's route name (``orders:list``, ``exceptions:queue``) and its URL arguments
    route = models.CharField(max_length=60)
    route_kwargs = models.JSONField(default=dict, blank=True)
    #: the filters, as the list's query string (no page cursor)
    query = models.CharField(max_length=1000, blank=True)
    shared_role = models.CharField(
        max_length=24, blank=True, help_text="Everyone of this role sees the view too."
    )
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "name"], name="core_saved_view_name"),
        ]
        indexes = [models.Index(fields=["shared_role"], name="core_saved_view_role")]

    def __str__(self) -> str:
        return self.name


class HomeVisit(models.Model):
    """When a person last opened their home page, and the visit before that: the home page counts
    what is "new since my last visit" from ``previous_at``. Not audited: it records no decision,
    only when someone looked."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="home_visit"
    )
    seen_at = models.DateTimeField(help_text="The latest time the home page was opened.")
    previous_at = models.DateTimeField(
        null=True, blank=True, help_text="The visit before: what is newer counts as new."
    )

    def __str__(self) -> str:
        return f"{self.user} · {self.seen_at:%Y-%m-%d %H:%M}"


class NoticeKind(models.TextChoices):
    """What a notice is about: each person chooses, per kind, how it reaches them."""

    ESCALATION = "escalation", "Escalations of work I hold or oversee"
    ASSIGNMENT = "assignment", "Work routed or assigned to me"
    APPROVAL = "approval", "Decisions on what I sent for approval"
    MENTION = "mention", "Notes that mention me"
    LATE_SHIPMENT = "late_shipment", "Orders likely to ship late"
    MODEL = "model", "Models changing mode"
    INTEGRATION = "integration", "Integration alerts: silent workers, queues nobody consumes"


class NoticeMode(models.TextChoices):
    EMAIL = "email", "Email at once, and in the app"  # the default: nobody misses a notice
    DIGEST = "digest", "In the app, and once a day in an email digest"
    IN_APP = "in_app", "In the app only"
    OFF = "off", "Off"


class NoticePreference(models.Model):
    """How one person wants one kind of notice; a kind without a row is ``NoticeMode.EMAIL``."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notice_preferences"
    )
    kind = models.CharField(max_length=20, choices=NoticeKind)
    mode = models.CharField(max_length=10, choices=NoticeMode, default=NoticeMode.EMAIL)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "kind"], name="core_notice_preference_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.user} · {self.kind}: {self.mode}"


class DeliveryChannel(models.TextChoices):
    EMAIL = "email", "Email"
    CHAT = "chat", "Chat"  # an apprise URL of O2C_CHAT_URLS (Slack, Teams, ...)


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"  # written; waiting for its task, or for a retry
    SENT = "sent", "Sent"  # the mail server or chat service accepted it
    FAILED = "failed", "Failed"  # every attempt failed: an integration alert says so


class Delivery(models.Model):
    """One message to one address over one channel, written in the transaction that caused it and
    sent by a Celery task after commit (core/deliveries.py). Not audited: the row is its own
    record (attempts, last error, when sent), and it changes only through the send task."""

    channel = models.CharField(max_length=8, choices=DeliveryChannel)
    #: an email address, or for chat the channel's id (never its URL, which carries a secret)
    address = models.CharField(max_length=254)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="deliveries",
        help_text="The person it is for; empty for a customer's letter or a chat channel.",
    )
    kind = models.CharField(max_length=20, blank=True, help_text="The notice kind, or 'digest'.")
    subject = models.CharField(max_length=200)
    body = models.TextField()
    #: makes a delivery that must exist once (a user's digest of a day) idempotent to create
    key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    status = models.CharField(max_length=8, choices=DeliveryStatus, default=DeliveryStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField()
    #: when the next attempt is due; the sweep re-enqueues a pending row long past it
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="core_delivery_due"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.address}: {self.subject}"
