"""The cash application policy finance governs in admin: matching thresholds and the write-off
limit above which a second person approves (early-payment terms are each customer's)."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

_UNIT = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]
_MONEY = {"max_digits": 14, "decimal_places": 2, "validators": [MinValueValidator(Decimal("0"))]}


class CashPolicy(models.Model):
    """One row (the migration creates it); an edit applies to payments matched after it."""

    auto_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.90"),
        validators=_UNIT,
        help_text="Apply automatically at or above this confidence (0–1), when the best "
        "candidate is clearly ahead of the next.",
    )
    suggest_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.50"),
        validators=_UNIT,
        help_text="Suggest to an analyst at or above this; below it a payment is unmatched.",
    )
    margin = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        default=Decimal("0.10"),
        validators=_UNIT,
        help_text="How far the best candidate must be ahead of the second to apply "
        "automatically; closer than this, the payment is ambiguous.",
    )
    amount_tolerance = models.DecimalField(
        **_MONEY,
        default=Decimal("0.01"),
        help_text="A payment within this of the invoices' open amount counts as equal.",
    )
    write_off_limit = models.DecimalField(
        **_MONEY,
        default=Decimal("50.00"),
        help_text="A write-off up to this is applied by the analyst who makes it; above it a "
        "second person approves it (superusers too).",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "cash policy"

    def __str__(self) -> str:
        return "Cash application policy"

    def clean(self) -> None:
        if self.suggest_threshold > self.auto_threshold:
            raise ValidationError(
                {"suggest_threshold": "Suggest must be at or below the automatic threshold."}
            )
