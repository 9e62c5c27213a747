"""Governed billing settings: approval tiers of invoices and of credit memos and the POD wait
(one row), and tax rates by region."""

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords


class BillingPolicy(models.Model):
    """Finance's thresholds. One row (the migration creates it); edits apply to invoices after them."""

    approval_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("10000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Tier 1: an invoice total at or above this needs a finance approval.",
    )
    second_approval_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("50000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Tier 2: at or above this, two different finance approvers are needed.",
    )
    credit_memo_approval_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("1000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Credit memo tier 1: a credit above this needs a second person from finance "
        "(never the one who agreed it, superusers too); finance raises it through a case.",
    )
    credit_memo_second_approval_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        default=Decimal("10000.00"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text="Credit memo tier 2: above this, two different people approve the credit.",
    )
    pod_overdue_days = models.PositiveIntegerField(
        default=5,
        help_text="Hold-for-POD customers: a billing hold is raised when proof of delivery is "
        "this many days late.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "billing policy"

    def __str__(self) -> str:
        return "Billing policy"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        if self.second_approval_amount < self.approval_amount:
            raise ValidationError(
                {"second_approval_amount": "Tier 2 must be at or above the tier 1 amount."}
            )
        if self.credit_memo_second_approval_amount < self.credit_memo_approval_amount:
            raise ValidationError(
                {
                    "credit_memo_second_approval_amount": "Tier 2 must be at or above the tier 1 "
                    "amount."
                }
            )


class TaxRate(models.Model):
    """The default tax calculator's table: one rate per tax region (customers name their region)."""

    region = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100, blank=True)
    rate = models.DecimalField(
        max_digits=6,
        decimal_places=5,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
        help_text="0.0825 is 8.25 %.",
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["region"]

    def __str__(self) -> str:
        return f"{self.region} {self.rate}"
