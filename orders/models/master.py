"""Master data: customers, ship-tos, items, warehouses, contract prices, stock and AR."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

MONEY = {"max_digits": 14, "decimal_places": 2}
PRICE = {"max_digits": 14, "decimal_places": 4}
QTY = {"max_digits": 14, "decimal_places": 3}
NON_NEGATIVE = [MinValueValidator(Decimal("0"))]


class ExternalRef(models.Model):
    """Where a record came from; (source system, external id) is unique per model."""

    source_system = models.CharField(max_length=32, default="o2c")
    external_id = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        abstract = True
        constraints = [
            models.UniqueConstraint(
                fields=["source_system", "external_id"],
                name="%(app_label)s_%(class)s_unique_external_ref",
            )
        ]


class Customer(ExternalRef):
    class Segment(models.TextChoices):
        STRATEGIC = "strategic", "Strategic"  # largest accounts, highest hold priority weight
        KEY = "key", "Key account"
        STANDARD = "standard", "Standard"
        SMALL = "small", "Small business"

    class CreditStatus(models.TextChoices):
        OK = "ok", "OK"  # orders flow within the limit
        WATCH = "watch", "Watch"  # flagged by credit, still allowed
        BLOCKED = "blocked", "Blocked"  # every order raises a credit hold

    class BillingRule(models.TextChoices):
        IMMEDIATE = "immediate", "Immediate"  # invoice at shipment
        HOLD_FOR_POD = "hold_for_pod", "Hold for proof of delivery"
        CONSOLIDATED_DAILY = "consolidated_daily", "Consolidated daily"
        CONSOLIDATED_WEEKLY = "consolidated_weekly", "Consolidated weekly"

    class PaymentTerms(models.TextChoices):
        NET15 = "NET15", "Net 15"
        NET30 = "NET30", "Net 30"
        NET45 = "NET45", "Net 45"
        NET60 = "NET60", "Net 60"
        PREPAID = "PREPAID", "Prepaid"

    number = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    segment = models.CharField(max_length=16, choices=Segment, default=Segment.STANDARD)
    territory = models.CharField(max_length=32, db_index=True)
    credit_limit = models.DecimalField(**MONEY, default=Decimal("0"), validators=NON_NEGATIVE)
    payment_terms = models.CharField(max_length=16, choices=PaymentTerms, blank=True)
    credit_status = models.CharField(max_length=16, choices=CreditStatus, default=CreditStatus.OK)
    billing_rule = models.CharField(
        max_length=24, choices=BillingRule, default=BillingRule.IMMEDIATE
    )
    tax_region = models.CharField(max_length=16, blank=True)
    #: Early-payment terms: this percentage off when paid within ``discount_days`` of the
    #: invoice date (0: none).
    discount_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("0"), validators=NON_NEGATIVE
    )
    discount_days = models.PositiveIntegerField(default=0)
    #: The group company that may pay this customer's invoices (cash matching reads it).
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="subsidiaries"
    )
    history = HistoricalRecords()

    class Meta(ExternalRef.Meta):
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.number} {self.name}"


class ShipTo(ExternalRef):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="ship_tos")
    code = models.CharField(max_length=32)
    name = models.CharField(max_length=200)
    address = models.CharField(max_length=300)
    city = models.CharField(max_length=100)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, default="US")
    #: GS1 Global Location Number: how EDI partners that send N1 with qualifier UL name it.
    gln = models.CharField("GLN", max_length=13, blank=True, db_index=True)
    history = HistoricalRecords()

    class Meta(ExternalRef.Meta):
        verbose_name = "ship-to"
        constraints = [
            *ExternalRef.Meta.constraints,
            models.UniqueConstraint(fields=["customer", "code"], name="orders_shipto_unique_code"),
        ]

    def __str__(self) -> str:
        return f"{self.name}, {self.city}"


class Item(ExternalRef):
    sku = models.CharField("SKU", max_length=64, unique=True)
    description = models.CharField(max_length=300)
    uom = models.CharField("UoM", max_length=8, default="EA")
    #: GTIN-12 as printed on the pack: how EDI partners that send PO1 with qualifier UP name it.
    upc = models.CharField("UPC", max_length=14, blank=True, db_index=True)
    list_price = models.DecimalField(**PRICE, validators=NON_NEGATIVE)
    unit_cost = models.DecimalField(**PRICE, validators=NON_NEGATIVE)
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta(ExternalRef.Meta):
        ordering = ["sku"]

    def __str__(self) -> str:
        return f"{self.sku} {self.description}"


class ItemUnit(models.Model):
    """A unit the item is also ordered in, and how many of its base unit (``Item.uom``) one of
    them holds: a case of 12 is ``CA`` × 12. EDI order lines in another unit are converted."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="units")
    uom = models.CharField("UoM", max_length=8)
    factor = models.DecimalField(
        max_digits=10, decimal_places=3, validators=[MinValueValidator(Decimal("0.001"))]
    )
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "uom"], name="orders_itemunit_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.item.sku}: 1 {self.uom} = {self.factor} {self.item.uom}"


class CustomerItem(models.Model):
    """A customer's own part number for an item (EDI PO1 qualifier BP, the buyer's part)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="part_numbers")
    buyer_part = models.CharField(max_length=48)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="customer_parts")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "customer part number"
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "buyer_part"], name="orders_customeritem_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.buyer_part} → {self.item.sku}"


class Warehouse(ExternalRef):
    code = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=100)
    history = HistoricalRecords()

    class Meta(ExternalRef.Meta):
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class PriceAgreement(ExternalRef):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="prices")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="prices")
    contract_price = models.DecimalField(**PRICE, validators=NON_NEGATIVE)
    valid_from = models.DateField()
    valid_to = models.DateField(null=True, blank=True, help_text="Empty means open-ended.")
    history = HistoricalRecords()

    class Meta(ExternalRef.Meta):
        constraints = [
            *ExternalRef.Meta.constraints,
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="orders_priceagreement_valid_range",
            ),
        ]
        indexes = [models.Index(fields=["customer", "item", "valid_from"])]

    def __str__(self) -> str:
        return f"{self.customer_id}/{self.item_id} @ {self.contract_price}"


class InventoryPosition(models.Model):
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="positions")
    warehouse = models.ForeignKey(Warehouse, on_delete=models.CASCADE, related_name="positions")
    erp_on_hand = models.DecimalField(**QTY, default=Decimal("0"))
    wms_on_hand = models.DecimalField(**QTY, default=Decimal("0"))
    allocated = models.DecimalField(**QTY, default=Decimal("0"), validators=NON_NEGATIVE)
    as_of = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "warehouse"], name="orders_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.warehouse_id}"


class ARBalance(models.Model):
    """Open receivables of one customer, by age bucket, as last reported by the ERP."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="ar")
    open_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    current = models.DecimalField(**MONEY, default=Decimal("0"))
    past_due_1_30 = models.DecimalField(**MONEY, default=Decimal("0"))
    past_due_31_60 = models.DecimalField(**MONEY, default=Decimal("0"))
    past_due_61_90 = models.DecimalField(**MONEY, default=Decimal("0"))
    past_due_over_90 = models.DecimalField(**MONEY, default=Decimal("0"))
    oldest_past_due_days = models.PositiveIntegerField(default=0)
    as_of = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        verbose_name = "AR balance"

    def __str__(self) -> str:
        return f"AR {self.customer_id}: {self.open_amount}"


class TerritoryAssignment(models.Model):
    """Row access: a user with assignments sees only customers in those territories."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="territories"
    )
    territory = models.CharField(max_length=32)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "territory"], name="orders_territory_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.territory}"
