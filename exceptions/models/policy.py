"""Governed thresholds (HoldPolicy, one global row plus segment overrides) and admin-defined reasons."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from orders.lifecycle import Step
from orders.models import Customer

from ..decisions import Materiality
from ..rules import Category, Thresholds

FRACTION = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]
POSITIVE = [MinValueValidator(Decimal("0"))]


class Queue(models.TextChoices):
    CREDIT = "credit", "Credit"
    PRICING = "pricing", "Pricing"
    WAREHOUSE = "warehouse", "Warehouse"  # inventory and fulfilment
    CUSTOMER_SERVICE = "customer_service", "Customer service"  # master data and anomalies
    FINANCE = "finance", "Finance"
    INTEGRATION = "integration_admin", "Integration"


class HoldPolicy(models.Model):
    """Thresholds for the hold rules. The row with no segment is the global default; a segment row
    overrides only the fields it fills in. Edits apply to evaluations after them."""

    #: Fields a segment row may leave empty to inherit the global value.
    THRESHOLD_FIELDS = (
        "credit_tolerance",
        "past_due_days",
        "price_tolerance",
        "margin_floor",
        "stock_variance",
        "anomaly_factor",
        "anomaly_history_orders",
        "anomaly_score_threshold",
        "maker_checker_amount",
        "model_credit_amount",
        "segment_weight",
    )
    #: What makes a change to an order material (a released hold's decision is judged again).
    MATERIAL_FIELDS = (
        "material_increase_fraction",
        "material_increase_amount",
        "material_new_line",
        "material_price_lowered",
        "material_ship_to_change",
        "material_customer_change",
    )
    THRESHOLD_FIELDS += MATERIAL_FIELDS

    segment = models.CharField(
        max_length=16,
        choices=Customer.Segment,
        blank=True,
        unique=True,
        help_text="Empty for the global default; otherwise the segment this row overrides.",
    )
    credit_tolerance = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=FRACTION,
        help_text="0.10 lets exposure reach 110 % of the credit limit.",
    )
    past_due_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Oldest past-due age allowed, days."
    )
    price_tolerance = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=FRACTION,
        help_text="How far below the contract (or list) price a line may be, as a fraction.",
    )
    margin_floor = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=FRACTION,
        help_text="Lowest (price − cost) / price allowed.",
    )
    stock_variance = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=FRACTION,
        help_text="Largest ERP vs WMS on-hand difference, as a fraction of ERP on-hand.",
    )
    anomaly_factor = models.DecimalField(
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("1"))],
        help_text="A line above this many times the customer's median quantity is an anomaly.",
    )
    anomaly_history_orders = models.PositiveIntegerField(
        null=True, blank=True, help_text="How many of the customer's recent orders form the median."
    )
    anomaly_score_threshold = models.DecimalField(
        max_digits=3,
        decimal_places=2,
        null=True,
        blank=True,
        validators=FRACTION,
        help_text="An order whose anomaly score (0-1, from the order-anomaly model when it is in "
        "suggest or act mode) is above this is held for customer service.",
    )
    maker_checker_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text="Releasing a hold whose amount (credit overage, or value at risk) is above this "
        "needs a second approver.",
    )
    model_credit_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text="A model in act mode never releases a credit hold whose overage is above this; "
        "a credit analyst decides it (the maker-checker amount bounds every release as well).",
    )
    segment_weight = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text="Multiplies the priority of this segment's holds.",
    )
    # What makes a change to an order material: a released hold's decision stands until one
    # happens, and then the rules judge the order again against the numbers it was released for.
    material_increase_fraction = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text="An order total rising by more than this fraction of what it was when a hold "
        "was released (0.10 = 10 %), and by more than the amount below, is a material change.",
    )
    material_increase_amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=POSITIVE,
        help_text="The rise must also pass this amount (0 leaves the fraction alone to decide).",
    )
    material_new_line = models.BooleanField(
        null=True, blank=True, help_text="A line added after a release is a material change."
    )
    material_price_lowered = models.BooleanField(
        null=True, blank=True, help_text="A line's price lowered after a release is material."
    )
    material_ship_to_change = models.BooleanField(
        null=True, blank=True, help_text="A new ship-to after a release is a material change."
    )
    material_customer_change = models.BooleanField(
        null=True, blank=True, help_text="A new customer after a release is a material change."
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "hold policies"
        ordering = ["segment"]

    def __str__(self) -> str:
        return f"Policy: {self.get_segment_display() if self.segment else 'global default'}"

    def clean(self) -> None:
        if not self.segment:
            missing = [name for name in self.THRESHOLD_FIELDS if getattr(self, name) is None]
            if missing:
                raise ValidationError(
                    {name: "The global default must set every threshold." for name in missing}
                )

    def merged_over(self, default: "HoldPolicy") -> dict:
        return {
            name: getattr(self, name) if getattr(self, name) is not None else getattr(default, name)
            for name in self.THRESHOLD_FIELDS
        }

    @staticmethod
    def materiality_from(values: dict) -> Materiality:
        return Materiality(
            **{name.removeprefix("material_"): values[name] for name in HoldPolicy.MATERIAL_FIELDS}
        )

    @staticmethod
    def thresholds_from(values: dict) -> Thresholds:
        return Thresholds(
            credit_tolerance=values["credit_tolerance"],
            past_due_days=values["past_due_days"],
            price_tolerance=values["price_tolerance"],
            margin_floor=values["margin_floor"],
            stock_variance=values["stock_variance"],
            anomaly_factor=values["anomaly_factor"],
            anomaly_score_threshold=values["anomaly_score_threshold"],
        )


class HoldReason(models.Model):
    CATEGORIES = [
        (Category.CREDIT, "Credit"),
        (Category.PRICING, "Pricing"),
        (Category.INVENTORY, "Inventory"),
        (Category.MASTER_DATA, "Master data"),
        (Category.ANOMALY, "Anomaly"),
        ("fulfilment", "Fulfilment"),
        ("billing", "Billing"),
        ("integration", "Integration"),
    ]

    code = models.CharField(max_length=32, unique=True)
    category = models.CharField(max_length=16, choices=CATEGORIES)
    description = models.CharField(max_length=200)
    blocks = models.CharField(max_length=16, choices=Step, default=Step.RELEASE)
    queue = models.CharField(max_length=24, choices=Queue)
    sla_hours = models.PositiveIntegerField(default=24)
    overridable = models.BooleanField(
        default=True, help_text="May a person release it without fixing the cause?"
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["category", "code"]

    def __str__(self) -> str:
        return f"{self.code}: {self.description}"
