"""Deduction and dispute cases with their reason taxonomy, the customers' remittance codes mapped
onto it, and the notes people add; and returns (RMA): goods the customer sends back against
invoiced lines, received by the warehouse and credited (less a restocking fee) or refused."""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from billing.models import CreditMemo, Invoice, InvoiceLine
from orders.models import Customer
from orders.models.master import MONEY, QTY
from receivables.models import Application, Payment, WriteOff

_USER = {"on_delete": models.SET_NULL, "null": True, "blank": True, "related_name": "+"}


class Category(models.TextChoices):
    PRICING = "pricing", "Pricing"
    SHORTAGE = "shortage", "Shortage"
    DAMAGE = "damage", "Damage"
    PROMOTION = "promotion", "Promotion or allowance"
    FREIGHT = "freight", "Freight"
    TAX = "tax", "Tax"
    DUPLICATE_BILLING = "duplicate_billing", "Duplicate billing"
    UNAUTHORISED = "unauthorised", "Unauthorised"
    OTHER = "other", "Other"


class CaseQueue(models.TextChoices):
    """The teams that own cases; each is worked by the role of the same name (managers see all)."""

    PRICING = "pricing", "Pricing"
    WAREHOUSE = "warehouse", "Warehouse"
    CUSTOMER_SERVICE = "customer_service", "Customer service"
    FINANCE = "finance", "Finance"
    CASH_APPLICATION = "cash_application", "Cash application"


#: Where each category's cases go unless its reason says otherwise. Freight goes to the
#: warehouse (it books the carriers); duplicate billing to finance (it releases invoices);
#: unauthorised and other to cash application, which took the short payment.
QUEUE_OF_CATEGORY = {
    Category.PRICING: CaseQueue.PRICING,
    Category.SHORTAGE: CaseQueue.WAREHOUSE,
    Category.DAMAGE: CaseQueue.WAREHOUSE,
    Category.FREIGHT: CaseQueue.WAREHOUSE,
    Category.PROMOTION: CaseQueue.CUSTOMER_SERVICE,
    Category.TAX: CaseQueue.FINANCE,
    Category.DUPLICATE_BILLING: CaseQueue.FINANCE,
    Category.UNAUTHORISED: CaseQueue.CASH_APPLICATION,
    Category.OTHER: CaseQueue.CASH_APPLICATION,
}


class CasePolicy(models.Model):
    """The one row of case policy: a return the customer chose to make is credited less
    ``restocking_fee_percent``. (Who approves a credit, a case's or a return's, follows the
    billing policy's credit memo tiers.)"""

    restocking_fee_percent = models.DecimalField(
        max_digits=5,
        decimal_places=2,
        default=Decimal("15.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        help_text="Kept back from the credit of a return the customer chose to make (not needed, "
        "ordered in error); never for goods that arrived damaged, defective or wrong.",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "case policy"

    def __str__(self) -> str:
        return f"Restocking fee {self.restocking_fee_percent} %"


class CaseReason(models.Model):
    """One reason of the taxonomy: its owning queue and how long a case of it may stay open."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=20, choices=Category)
    queue = models.CharField(max_length=20, choices=CaseQueue)
    sla_hours = models.PositiveIntegerField(default=120)
    history = HistoricalRecords()

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class ReasonCodeMapping(models.Model):
    """A customer's remittance reason code (as their remittances write it) and the reason it
    means. A mapping with no customer applies to every customer without one of their own."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    code = models.CharField(max_length=32)
    reason = models.ForeignKey(CaseReason, on_delete=models.PROTECT, related_name="mappings")
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "code"],
                condition=Q(customer__isnull=False),
                name="cases_mapping_customer_code",
            ),
            models.UniqueConstraint(
                fields=["code"], condition=Q(customer__isnull=True), name="cases_mapping_any_code"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.reason}"


class CaseState(models.TextChoices):
    OPEN = "open", "Open"  # waiting in its queue
    CLAIMED = "claimed", "Claimed"  # someone is investigating
    VALID = "resolved_valid", "Valid"  # credited in full
    INVALID = "resolved_invalid", "Invalid"  # the customer still owes it, and was told why
    PARTLY = "resolved_partly", "Partly valid"  # part credited, the rest still owed
    WRITTEN_OFF = "written_off", "Written off"
    #: the short application it came from was reversed: nothing left to decide
    WITHDRAWN = "withdrawn", "Withdrawn"
    #: a credit above the policy's limit, agreed by one person, waits for a second
    AWAITING = "awaiting_approval", "Credit waiting for approval"


S = CaseState
#: Cases their owners may still resolve.
OPEN_STATES = (S.OPEN, S.CLAIMED)
#: Cases shown in the queues.
ACTIVE_STATES = (S.OPEN, S.CLAIMED, S.AWAITING)
CLOSED_STATES = (S.VALID, S.INVALID, S.PARTLY, S.WRITTEN_OFF)
#: The states a case waits in, as choices (the queue's filter, named in the API schema).
ACTIVE_STATE_CHOICES = [(state.value, state.label) for state in ACTIVE_STATES]


class RootCause(models.TextChoices):
    PRICE_FILE = "price_file", "Price file wrong or late"
    SHIPMENT_SHORT = "shipment_short", "Shipment short"
    DAMAGE_IN_TRANSIT = "damage_in_transit", "Damage in transit"
    PROMOTION_NOT_SET_UP = "promotion_not_set_up", "Promotion not set up"
    FREIGHT_TERMS = "freight_terms", "Freight terms"
    TAX_SETUP = "tax_setup", "Tax set-up"
    BILLED_TWICE = "billed_twice", "Billed twice"
    CUSTOMER_ERROR = "customer_error", "Customer's error"
    OTHER = "other", "Other"


class Case(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    class Kind(models.TextChoices):
        DEDUCTION = "deduction", "Deduction"  # the customer paid short
        DISPUTE = "dispute", "Dispute"  # the customer complained before paying

    kind = models.CharField(max_length=10, choices=Kind)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="cases")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="cases")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    #: The short application a deduction came from: one case per application.
    application = models.OneToOneField(
        Application, on_delete=models.PROTECT, null=True, blank=True, related_name="case"
    )
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    reason = models.ForeignKey(CaseReason, on_delete=models.PROTECT, related_name="cases")
    remittance_code = models.CharField(max_length=32, blank=True)  # as the customer wrote it
    queue = models.CharField(max_length=20, choices=CaseQueue)
    state = FSMField(default=S.OPEN, choices=CaseState, protected=True)
    opened_at = models.DateTimeField()
    opened_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    due_at = models.DateTimeField()
    #: One level per SLA period a case stays open past its due time (managers are told each).
    escalation_level = models.PositiveSmallIntegerField(default=0)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    #: What was credited or written off on closing (zero for an invalid case).
    outcome_amount = models.DecimalField(**MONEY, null=True, blank=True)
    root_cause = models.CharField(max_length=24, choices=RootCause, blank=True)
    root_cause_text = models.TextField(blank=True)
    credit_memo = models.ForeignKey(
        CreditMemo, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    #: A credit agreed above the policy's limit, waiting for a second person: outcome, amount,
    #: quantities by invoice line, root cause and note, as the resolver gave them.
    proposal = models.JSONField(default=dict, blank=True)
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    #: A tier 2 credit's first approval; a second, other person issues it.
    first_approver = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    write_off = models.ForeignKey(
        WriteOff, on_delete=models.PROTECT, null=True, blank=True, related_name="cases"
    )
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    #: What triage's case-reason model suggests (category, reason, owning queue, probability,
    #: text, factors, model, version) while its model is in suggest or act mode; empty
    #: otherwise. Kept here, not in triage, so the queue row reads it without importing triage.
    suggestion = models.JSONField(default=dict, blank=True)
    # the prediction itself is recorded, with its version, in triage
    history = HistoricalRecords(excluded_fields=["suggestion"])

    class Meta:
        indexes = [
            # the queue: active cases, the most urgent first, keyset on id; partial, so a page
            # walks it in order and stops after its rows (20k open cases: 40 ms -> 2 ms)
            models.Index(
                fields=["due_at", "id"],
                condition=Q(state__in=list(ACTIVE_STATES)),
                name="case_active_due",
            ),
            models.Index(fields=["customer", "reason", "-opened_at"], name="case_customer_reason"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="case_amount_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.pk}: {self.amount} {self.currency}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    # -- transitions: state and the fields that go with it; services lock, save and record --

    @transition(state, source=S.OPEN, target=S.CLAIMED)
    def claim(self, *, by, at) -> None:
        self.claimed_by, self.claimed_at = by, at

    @transition(state, source=OPEN_STATES, target=S.OPEN)
    def route(self, *, reason: "CaseReason", at) -> None:
        """To another reason and its queue, unclaimed there, due by that reason's SLA."""
        self.reason, self.queue = reason, reason.queue
        self.claimed_by = self.claimed_at = None
        self.due_at = at + timedelta(hours=reason.sla_hours)
        self.escalation_level = 0

    def _close(self, *, by, at, amount: Decimal, root_cause: str, text: str) -> None:
        self.resolved_by, self.resolved_at = by, at
        self.outcome_amount, self.root_cause, self.root_cause_text = amount, root_cause, text

    @transition(state, source=ACTIVE_STATES, target=S.WITHDRAWN)
    def withdraw(self, *, at) -> None:
        self.resolved_at, self.outcome_amount, self.proposal = at, Decimal("0"), {}

    @transition(state, source=OPEN_STATES, target=S.AWAITING)
    def propose_credit(self, *, by, proposal: dict) -> None:
        self.proposed_by, self.proposal = by, proposal

    @transition(state, source=S.AWAITING, target=S.CLAIMED)
    def reject_credit(self) -> None:
        self.claimed_by = self.proposed_by  # back with the person who proposed it
        self.first_approver = None
        self.proposal = {}

    @transition(state, source=[*OPEN_STATES, S.AWAITING], target=S.VALID)
    def resolve_valid(self, **closing) -> None:
        self._close(**closing)

    @transition(state, source=[*OPEN_STATES, S.AWAITING], target=S.PARTLY)
    def resolve_partly(self, **closing) -> None:
        self._close(**closing)

    @transition(state, source=OPEN_STATES, target=S.INVALID)
    def resolve_invalid(self, **closing) -> None:
        self._close(**closing)

    @transition(state, source=OPEN_STATES, target=S.WRITTEN_OFF)
    def resolve_written_off(self, **closing) -> None:
        self._close(**closing)


class CaseNote(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    text = models.TextField()
    created_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["case", "created_at"], name="case_note_case")]

    def __str__(self) -> str:
        return self.text[:60]


class CustomerLogin(models.Model):
    """A login the customer's own systems (their portal, their payables software) use on the
    API to raise disputes and follow them: it sees its customer's invoices and disputes only,
    and nothing of the desk (it has no role)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="customer_login"
    )
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="logins")
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.user} for {self.customer}"


class CaseAttachment(models.Model):
    """A file someone added to a case as evidence (a proof of delivery scan, the customer's
    claim, a photo). Stored under a generated name; ``name`` is the file's own, for download."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="cases/%Y/%m/")
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    uploaded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class ReturnReason(models.TextChoices):
    DAMAGED = "damaged", "Arrived damaged"
    DEFECTIVE = "defective", "Defective"
    WRONG_ITEM = "wrong_item", "Wrong item shipped"
    NOT_NEEDED = "not_needed", "No longer needed"
    ORDERED_IN_ERROR = "ordered_in_error", "Ordered in error"


#: Returns the customer chose to make: the restocking fee applies, and goods that come back
#: damaged are the customer's loss (not credited). The other reasons are the seller's fault.
CUSTOMER_CHOICE_REASONS = frozenset({ReturnReason.NOT_NEEDED, ReturnReason.ORDERED_IN_ERROR})


class ReturnState(models.TextChoices):
    AUTHORISED = "authorised", "Authorised: waiting for the goods"
    RECEIVED = "received", "Received: credit waits for finance"
    CREDITED = "credited", "Credited"
    REFUSED = "refused", "Refused"


R = ReturnState


class ReturnAuthorisation(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    """An RMA: customer service authorises quantities of an invoice's lines to come back; the
    WMS is told to expect them, reports what arrived and in what state, and the inspected
    quantities are credited (above the policy's limit only once finance approves) or refused."""

    number = models.CharField(max_length=32, unique=True)
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="returns")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="returns")
    reason = models.CharField(max_length=20, choices=ReturnReason)
    note = models.TextField()
    #: The policy's fee when authorised: what the customer was told.
    restocking_fee_percent = models.DecimalField(max_digits=5, decimal_places=2)
    state = FSMField(default=R.AUTHORISED, choices=ReturnState, protected=True)
    authorised_at = models.DateTimeField()
    authorised_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    received_at = models.DateTimeField(null=True, blank=True)
    #: The WMS's receipt: a repeat of it changes nothing.
    receipt_id = models.CharField(max_length=64, blank=True)
    #: What the inspected goods credit, before and after the fee (set on receipt).
    credit_gross = models.DecimalField(**MONEY, null=True, blank=True)
    fee = models.DecimalField(**MONEY, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    #: A tier 2 credit's first approval; a second, other person issues it.
    first_approver = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    #: Why it was refused, as the customer is told.
    refusal = models.TextField(blank=True)
    credit_memo = models.OneToOneField(
        CreditMemo, on_delete=models.PROTECT, null=True, blank=True, related_name="return_of"
    )
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["state", "-authorised_at"], name="return_state_recent")]

    def __str__(self) -> str:
        return self.number

    @property
    def fee_applies(self) -> bool:
        return self.reason in CUSTOMER_CHOICE_REASONS

    @transition(state, source=R.AUTHORISED, target=R.RECEIVED)
    def receive(self, *, at, receipt_id: str, gross: Decimal, fee: Decimal) -> None:
        self.received_at, self.receipt_id = at, receipt_id
        self.credit_gross, self.fee = gross, fee

    @transition(state, source=R.RECEIVED, target=R.CREDITED)
    def credit(self, *, by, at, memo: CreditMemo) -> None:
        self.decided_by, self.decided_at, self.credit_memo = by, at, memo

    @transition(state, source=R.RECEIVED, target=R.REFUSED)
    def refuse(self, *, by, at, why: str) -> None:
        self.decided_by, self.decided_at, self.refusal = by, at, why


class ReturnLine(models.Model):
    """One invoice line coming back: how many were authorised, and, once the warehouse has them,
    how many arrived, how many of those were damaged, and how many are credited."""

    rma = models.ForeignKey(ReturnAuthorisation, on_delete=models.CASCADE, related_name="lines")
    line_number = models.PositiveIntegerField()  # as the WMS's receipt names it
    invoice_line = models.ForeignKey(
        InvoiceLine, on_delete=models.PROTECT, related_name="return_lines"
    )
    quantity = models.DecimalField(**QTY)
    received_qty = models.DecimalField(**QTY, null=True, blank=True)
    damaged_qty = models.DecimalField(**QTY, null=True, blank=True)
    credit_qty = models.DecimalField(**QTY, null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["rma_id", "line_number"]
        constraints = [
            models.UniqueConstraint(fields=["rma", "line_number"], name="return_line_number"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="return_line_qty_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.rma_id}/{self.line_number}: {self.quantity}"
