"""Governed predictions: each model's mode and thresholds (admin, with history), its trained
versions with their training facts and held-out metrics, and every prediction made with its
explanation and, once a person decides, the outcome.

A version keeps its fitted parameters as JSON (coefficients, means, scales, categories), not a
pickle: loading it runs no code, a manager can read it on the model card, and a damaged one is
refused with a message instead of breaking the pages that show predictions."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords


class Mode(models.TextChoices):
    OFF = "off", "Off: no predictions"
    SHADOW = "shadow", "Shadow: recorded, not shown"
    SUGGEST = "suggest", "Suggest: shown to people, who decide"
    #: as suggest, and releases the holds it is surest of inside narrow limits
    #: (``exceptions.services.automatic``); everything else stays with people
    ACT = "act", "Act: shown, and releases inside its limits"


#: Modes whose predictions people see.
SHOWN_MODES = (Mode.SUGGEST, Mode.ACT)


class TriageModel(models.Model):
    """One kind of prediction and how far it may go."""

    HOLD_OUTCOME = "hold_outcome"
    CASE_REASON = "case_reason"
    PAYMENT_RISK = "payment_risk"
    LATE_SHIPMENT = "late_shipment"
    ORDER_ANOMALY = "order_anomaly"
    NAMES = {
        HOLD_OUTCOME: "Hold outcome: released or rejected",
        CASE_REASON: "Case reason: what a deduction or dispute will turn out to be",
        PAYMENT_RISK: "Payment risk: will an invoice be paid late, and by how much",
        LATE_SHIPMENT: "Late shipment: will a released order miss its requested date",
        ORDER_ANOMALY: "Order anomaly: how unlike the customer's usual orders an order is",
    }

    name = models.SlugField(max_length=40, unique=True)
    mode = models.CharField(max_length=8, choices=Mode, default=Mode.SHADOW)
    #: A prediction is called ("likely release") at or above this probability, "likely
    #: rejection" at or below one minus it; between, it is uncertain and calls nothing.
    threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("0.99"))],
    )
    #: Training refuses below this many resolved examples (with both outcomes among them).
    min_examples = models.PositiveIntegerField(default=200)
    #: Act mode releases a hold only at or above this probability of release ...
    act_confidence = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.95"),
        validators=[MinValueValidator(Decimal("0.5")), MaxValueValidator(Decimal("0.99"))],
        help_text="Act mode releases a hold only at or above this probability of release.",
    )
    #: ... and only a hold worth at most this much (the policy's limits bound it as well).
    act_value_limit = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Act mode releases only holds whose value at risk is at most this; the "
        "maker-checker and model credit amounts of the hold policy bound it as well.",
    )
    #: Live precision of its release calls over the last 7 days below this, on at least
    #: ``floor_calls`` decided calls, takes a model in act mode back to suggest.
    precision_floor = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.80"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="Below this live precision (last 7 days), act mode drops back to suggest and "
        "managers are told.",
    )
    floor_calls = models.PositiveIntegerField(
        default=20, help_text="Decided calls needed before the floor is judged."
    )
    history = HistoricalRecords()

    def __str__(self) -> str:
        return self.NAMES.get(self.name, self.name)


class ModelVersion(models.Model):
    """A trained version: what it learnt from, how it did on the most recent weeks it did not
    see, and against what naive baseline. One version of a model is active at a time."""

    model = models.ForeignKey(TriageModel, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField()
    trained_at = models.DateTimeField()
    #: sha256 of the parameters below, as stored
    digest = models.CharField(max_length=64)
    features = models.JSONField(default=list)
    parameters = models.JSONField(default=dict)
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    #: the split: examples trained on, and held out (the most recent), with their outcomes
    counts = models.JSONField(default=dict)
    #: held-out ROC AUC, precision and recall at the threshold, Brier score; and the baseline's
    metrics = models.JSONField(default=dict)
    active = models.BooleanField(default=False)
    history = HistoricalRecords(excluded_fields=["parameters"])

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["model", "number"], name="triage_version_number"),
            models.UniqueConstraint(
                fields=["model"], condition=Q(active=True), name="triage_one_active_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.model.name} v{self.number}"


class Prediction(models.Model):
    """One prediction for one subject (a hold), with its explanation; the outcome is filled in
    when a person decides: what they did, and whether that followed the recommendation."""

    #: no index of its own: the unique constraint's first column serves every look-up by version
    #: (every prediction written pays for each index, and ingestion writes one an order)
    version = models.ForeignKey(
        ModelVersion, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    subject = models.CharField(max_length=16)  # "hold", "case", "invoice", "order"
    subject_id = models.BigIntegerField()
    probability = models.DecimalField(max_digits=5, decimal_places=4)
    #: "release" or "reject" when called (at the model's threshold), "uncertain" between
    label = models.CharField(max_length=24)
    factors = models.JSONField(default=list)
    #: hold outcome: hours from raising to a person's decision, as the version expects
    expected_hours = models.FloatField(null=True, blank=True)
    #: payment risk: days after the due date the invoice is expected to be paid
    expected_days = models.FloatField(null=True, blank=True)
    shown = models.BooleanField(default=False)  # made in suggest mode: people saw it
    made_at = models.DateTimeField()
    #: what happened: release / reject (holds), the category the root cause says (cases)
    outcome = models.CharField(max_length=24, blank=True)
    #: the person did what it recommended (only for a call that was shown; else unknown)
    followed = models.BooleanField(null=True)
    #: indexed only where set (below): most predictions are never decided by anyone
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    #: what the model did itself in act mode: "released", "refused" (a limit stopped it; the
    #: note says which), "undone" (a person reopened what it released)
    action = models.CharField(max_length=16, blank=True)
    action_note = models.TextField(blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject", "subject_id", "-made_at"], name="triage_subject"),
            # deleting a user nulls their decisions: found here, without an entry for every
            # undecided prediction
            models.Index(
                fields=["decided_by"],
                name="triage_prediction_decider",
                condition=models.Q(decided_by__isnull=False),
            ),
        ]
        constraints = [
            # a version scores a subject once: two overlapping runs cannot record it twice
            models.UniqueConstraint(
                fields=["version", "subject", "subject_id"], name="triage_prediction_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.label} {self.probability} for {self.subject} {self.subject_id}"
