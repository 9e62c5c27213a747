"""Invoices (with their lines from shipment lines) and credit memos, the only way to correct one."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import (
    RETURN_VALUE,
    ConcurrentTransitionMixin,
    FSMField,
    FSMModelMixin,
    transition,
)
from simple_history.models import HistoricalRecords

from orders.models import Customer, Order, OrderLine
from orders.models.master import MONEY, PRICE, QTY

from .shipment import ShipmentLine


class InvoiceState(models.TextChoices):
    DRAFT = "draft", "Draft"  # being built; never seen by the customer
    PENDING_APPROVAL = "pending_approval", "Pending approval"  # waits in the finance queue
    RELEASED = "released", "Released"  # final; sent to the ERP through the outbox
    POSTED = "posted", "Posted"  # the ERP acknowledged it
    PARTIALLY_PAID = "partially_paid", "Partially paid"  # cash applied, some still open
    PAID = "paid", "Paid"  # nothing open, cash settled the rest (discounts, write-offs too)
    VOID = "void", "Void"  # cancelled before release


I = InvoiceState  # noqa: E741 - the state machine reads better with a short alias
FINAL_STATES = (I.RELEASED, I.POSTED, I.PARTIALLY_PAID, I.PAID)
#: Invoices the customer owes on (or has paid): receivables o2c keeps itself.
RECEIVABLE_STATES = FINAL_STATES


class Invoice(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    class Tier(models.IntegerChoices):
        NONE = 0, "No approval"
        ONE = 1, "One approver"
        TWO = 2, "Two approvers"

    number = models.CharField(max_length=32, unique=True)
    #: Found by ``invoice_customer`` (customer, state), as the state is by the indexes that lead
    #: with it: an index of either alone would be one more to keep up for every invoice settled.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="invoices", db_index=False
    )
    #: The order invoiced; empty for a consolidated invoice spanning several orders.
    order = models.ForeignKey(
        Order, on_delete=models.PROTECT, null=True, blank=True, related_name="invoices"
    )
    billing_rule = models.CharField(max_length=24, choices=Customer.BillingRule)
    window_start = models.DateTimeField(null=True, blank=True)
    window_end = models.DateTimeField(null=True, blank=True)
    currency = models.CharField(max_length=3, default="USD")
    payment_terms = models.CharField(max_length=16, blank=True)
    issued_on = models.DateField()
    due_date = models.DateField()
    tax_region = models.CharField(max_length=16, blank=True)
    subtotal = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_total = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY, default=Decimal("0"))
    #: Cash applied to it, with the discounts and write-offs granted (receivables keeps the
    #: applications; billing keeps the sum, under the invoice's lock).
    settled_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    #: Credit memos issued against it.
    credited_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    state = FSMField(default=I.DRAFT, choices=InvoiceState, protected=True)
    approval_tier = models.PositiveSmallIntegerField(choices=Tier, default=Tier.NONE)
    approval_reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    last_edited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    first_approved_at = models.DateTimeField(null=True, blank=True)
    second_approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    second_approved_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    erp_reference = models.CharField(max_length=64, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    #: From the earliest shipment it bills to the invoice's creation: the latency KPI.
    shipment_to_invoice_seconds = models.PositiveIntegerField(null=True, blank=True)
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    #: What triage's payment-risk model expects (probability of a late payment, days late, text,
    #: factors, model, version) while the model is in suggest or act mode; empty otherwise.
    #: Kept here, not in triage, so billing's and collections' pages read it without triage.
    payment_risk = models.JSONField(default=dict, blank=True)
    # the prediction itself is recorded, with its version, in triage
    #: History is read by invoice (id) and by time: the invoice's other indexes are not kept on
    #: it (each is written for every history row, and cash writes one an invoice it settles).
    history = HistoricalRecords(
        excluded_fields=["payment_risk"],
        no_db_index=[
            "number",
            "customer",
            "order",
            "state",
            "created_by",
            "last_edited_by",
            "first_approver",
            "second_approver",
            "correlation_id",
        ],
    )

    class Meta:
        constraints = [
            # One consolidated invoice per customer, window and currency (voided ones aside).
            models.UniqueConstraint(
                fields=["customer", "billing_rule", "window_end", "currency"],
                condition=Q(window_end__isnull=False) & ~Q(state="void"),
                name="billing_one_invoice_per_window",
            ),
        ]
        indexes = [
            # The finance queue: pending invoices by amount or age, keyset on id.
            models.Index(fields=["state", "-total", "-id"], name="invoice_state_total"),
            models.Index(fields=["state", "created_at", "id"], name="invoice_state_age"),
            models.Index(fields=["-created_at", "-id"], name="invoice_keyset"),
            models.Index(fields=["customer", "state"], name="invoice_customer"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def bills_over_shipment(self) -> bool:
        return any(line.over_shipped_qty > 0 for line in self.lines.all())

    # -- transitions: state and the fields that go with it; services lock, save and send --

    @transition(state, source=I.DRAFT, target=I.PENDING_APPROVAL)
    def submit(self) -> None:
        pass

    @transition(state, source=I.PENDING_APPROVAL, target=I.PENDING_APPROVAL)
    def approve_first(self, *, by, at) -> None:
        """Tier 2: the first of two approvals; the invoice keeps waiting for a second person."""
        self.first_approver = by
        self.first_approved_at = at

    @transition(state, source=[I.DRAFT, I.PENDING_APPROVAL], target=I.RELEASED)
    def release(self, *, by, at) -> None:
        if self.state == I.PENDING_APPROVAL:
            if self.first_approver_id is None:
                self.first_approver = by
                self.first_approved_at = at
            else:
                self.second_approver = by
                self.second_approved_at = at
        self.released_at = at

    @transition(state, source=I.RELEASED, target=I.POSTED)
    def post(self, *, at, reference: str) -> None:
        self.posted_at = at
        self.erp_reference = reference

    @property
    def open_amount(self) -> Decimal:
        """What the customer still owes: total − settled (applied, discounted, written off) −
        credited."""
        return self.total - self.settled_amount - self.credited_amount

    @transition(
        state,
        source=[I.RELEASED, I.POSTED, I.PARTIALLY_PAID, I.PAID],
        target=RETURN_VALUE(I.RELEASED, I.POSTED, I.PARTIALLY_PAID, I.PAID),
    )
    def settle(self, *, at) -> str:
        """Follow the open amount after cash was applied, reversed or credited: paid when cash
        settled what is left, partially paid while some is settled and some open, else as before
        any cash (an invoice credited in full owes nothing and was never paid)."""
        if self.settled_amount <= 0:
            self.paid_at = None
            return I.POSTED if self.posted_at else I.RELEASED
        if self.open_amount <= 0:
            self.paid_at = self.paid_at or at
            return I.PAID
        self.paid_at = None
        return I.PARTIALLY_PAID

    @transition(state, source=[I.DRAFT, I.PENDING_APPROVAL], target=I.VOID)
    def void(self, *, at, reason: str) -> None:
        self.voided_at = at
        self.void_reason = reason


class InvoiceLine(models.Model):
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    shipment_line = models.ForeignKey(
        ShipmentLine, on_delete=models.PROTECT, related_name="invoice_lines"
    )
    description = models.CharField(max_length=250)
    quantity = models.DecimalField(**QTY)
    unit_price = models.DecimalField(**PRICE)
    amount = models.DecimalField(**MONEY)
    tax_rate = models.DecimalField(max_digits=6, decimal_places=5)
    tax_amount = models.DecimalField(**MONEY)
    price_overridden = models.BooleanField(default=False)
    #: Shipped beyond what was ordered; billed only once finance approves the invoice.
    over_shipped_qty = models.DecimalField(**QTY, default=Decimal("0"))
    #: The invoice was voided: the shipment line may be invoiced again.
    voided = models.BooleanField(default=False)
    history = HistoricalRecords()

    class Meta:
        ordering = ["invoice_id", "line_number"]
        constraints = [
            # A shipment line is billed on one live invoice at most: never invoiced twice.
            models.UniqueConstraint(
                fields=["shipment_line"],
                condition=Q(voided=False),
                name="billing_shipment_line_invoiced_once",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gte=0), name="billing_invoice_line_qty_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.line_number}"

    @property
    def total(self) -> Decimal:
        return self.amount + self.tax_amount


class CreditReason(models.TextChoices):
    """Why a credit memo was issued: the code the ERP books it under and the KPIs count by."""

    PRICING = "pricing", "Pricing"
    SHORTAGE = "shortage", "Shortage"
    DAMAGE = "damage", "Damage"
    RETURN = "return", "Return"
    PROMOTION = "promotion", "Promotion or allowance"
    FREIGHT = "freight", "Freight"
    TAX = "tax", "Tax"
    DUPLICATE_BILLING = "duplicate_billing", "Duplicate billing"
    BILLING_ERROR = "billing_error", "Billing error"
    OTHER = "other", "Other"


class CreditMemo(models.Model):
    """A correction of a released invoice: it credits quantities of the invoice's lines, less
    any restocking fee a return's policy charges."""

    number = models.CharField(max_length=32, unique=True)
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="credit_memos")
    reason_code = models.CharField(max_length=20, choices=CreditReason, default=CreditReason.OTHER)
    reason = models.TextField()
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    subtotal = models.DecimalField(**MONEY, default=Decimal("0"))
    tax_total = models.DecimalField(**MONEY, default=Decimal("0"))
    #: Kept back from the credit (a return's restocking fee): total = subtotal + tax - fee.
    fee = models.DecimalField(**MONEY, default=Decimal("0"))
    total = models.DecimalField(**MONEY, default=Decimal("0"))
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.number


class CreditMemoLine(models.Model):
    credit_memo = models.ForeignKey(CreditMemo, on_delete=models.CASCADE, related_name="lines")
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, related_name="credit_lines"
    )
    quantity = models.DecimalField(**QTY)
    amount = models.DecimalField(**MONEY)
    tax_amount = models.DecimalField(**MONEY)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="billing_credit_line_qty_positive"
            )
        ]

    def __str__(self) -> str:
        return f"{self.credit_memo_id}/{self.invoice_line_id}: {self.quantity}"
