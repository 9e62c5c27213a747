"""Payments as the bank reported them, with their remittances, what matching made of them, and
where their money went: applications to invoices, unapplied cash on the customer's account, and
write-offs."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from billing.models import Invoice
from orders.models import Customer
from orders.models.master import MONEY

_USER = {"on_delete": models.SET_NULL, "null": True, "blank": True, "related_name": "+"}


class BankStatement(models.Model):
    """One bank file (BAI2, camt.053, lockbox) as received; its payments point at it."""

    format = models.CharField(max_length=16)
    #: The receiving account, masked to its last four digits; the fingerprint identifies it.
    bank_account = models.CharField(max_length=40)
    bank_account_fingerprint = models.CharField(max_length=64)
    statement_id = models.CharField(max_length=100)
    received_at = models.DateTimeField()
    source = models.CharField(max_length=40, blank=True)  # the connector it came through
    message_id = models.BigIntegerField(null=True, blank=True)  # its inbox message
    entries = models.PositiveIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bank_account_fingerprint", "statement_id"], name="receivables_statement"
            )
        ]

    def __str__(self) -> str:
        return f"{self.format} {self.statement_id}"


class PaymentState(models.TextChoices):
    RECEIVED = "received", "Received"  # stored, not matched yet
    SUGGESTED = "suggested", "Suggested"  # a credible candidate waits for an analyst
    AMBIGUOUS = "ambiguous", "Ambiguous"  # two candidates too close to tell apart
    UNMATCHED = "unmatched", "Unmatched"  # nothing credible (an unknown payer among them)
    APPLIED = "applied", "Applied"  # all its money is on invoices or on account
    REFUND = "refund", "Marked for refund"  # goes back to the payer
    POSTED = "posted", "Posted to the ERP"


P = PaymentState
#: Payments waiting for a person, in the cash application queue.
OPEN_STATES = (P.SUGGESTED, P.AMBIGUOUS, P.UNMATCHED)
#: Payments whose money may still be applied.
APPLICABLE_STATES = (P.RECEIVED, *OPEN_STATES)


class Payment(ConcurrentTransitionMixin, FSMModelMixin, models.Model):
    class Method(models.TextChoices):
        ACH = "ach", "ACH"
        WIRE = "wire", "Wire"
        CHECK = "check", "Check"
        LOCKBOX = "lockbox", "Lockbox"
        CARD = "card", "Card"

    #: bank account + statement id + entry reference: the same statement loaded twice applies
    #: nothing twice.
    key = models.CharField(max_length=64, unique=True)
    statement = models.ForeignKey(
        BankStatement, on_delete=models.PROTECT, null=True, blank=True, related_name="payments"
    )
    entry_reference = models.CharField(max_length=100)
    position = models.CharField(max_length=40, blank=True)  # where in the file: "line 14"
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    value_date = models.DateField()
    payer_name = models.CharField(max_length=200, blank=True)
    #: Masked except its last four digits; the number itself is never stored nor logged.
    payer_account = models.CharField(max_length=40, blank=True)
    payer_account_fingerprint = models.CharField(max_length=64, blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    method = models.CharField(max_length=8, choices=Method)
    free_text = models.TextField(blank=True)
    #: Who paid, once known (matched, or chosen by an analyst). Found by ``payment_customer``
    #: (customer, state), as the state is by the queue's indexes that lead with it: an index of
    #: either alone would be one more for every payment written to keep up.
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="payments",
        db_index=False,
    )
    state = FSMField(default=P.RECEIVED, choices=PaymentState, protected=True)
    #: What matching concluded: auto, suggested, ambiguous or unmatched.
    outcome = models.CharField(max_length=12, blank=True)
    confidence = models.DecimalField(max_digits=3, decimal_places=2, null=True, blank=True)
    explanation = models.TextField(blank=True)
    #: The candidates matching found, best first, each with its allocations and explanation.
    candidates = models.JSONField(default=list, blank=True)
    applied_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    unapplied_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    received_at = models.DateTimeField()
    matched_at = models.DateTimeField(null=True, blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    #: When the ERP acknowledged the applications: its AR counts this cash from then on.
    posted_at = models.DateTimeField(null=True, blank=True)
    automatic = models.BooleanField(default=False)  # applied by matching, no person involved
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    #: History is read by payment (id) and by time: the payment's other indexes are not kept
    #: on it (each is written for every history row, and a bank file writes two a payment).
    history = HistoricalRecords(
        excluded_fields=["candidates"],
        no_db_index=[
            "key",
            "statement",
            "payer_account_fingerprint",
            "customer",
            "state",
            "applied_by",
            "correlation_id",
        ],
    )

    class Meta:
        indexes = [
            # the queue: waiting payments, largest first, keyset on id
            models.Index(fields=["state", "-amount", "-id"], name="payment_queue_amount"),
            models.Index(fields=["state", "received_at", "id"], name="payment_queue_age"),
            # the queue's default tab, every waiting payment: with the state leading, PostgreSQL
            # reads all of them (three states) and sorts them for each page; these hold only
            # the waiting ones, in the page's order, so a page reads its rows and stops
            models.Index(
                fields=["received_at", "id"],
                name="payment_waiting_age",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(
                fields=["-amount", "-id"],
                name="payment_waiting_amount",
                condition=models.Q(state__in=OPEN_STATES),
            ),
            models.Index(fields=["customer", "state"], name="payment_customer"),
            # accounts confirmed for a customer, looked up by fingerprint (no LIKE index)
            models.Index(fields=["payer_account_fingerprint"], name="payment_account"),
            # an 820 names its payment by the reference the bank reports it under
            models.Index(fields=["bank_reference"], name="payment_bank_reference"),
            models.Index(fields=["entry_reference"], name="payment_entry_reference"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="payment_amount_positive"),
            models.CheckConstraint(
                condition=Q(applied_amount__gte=0)
                & Q(unapplied_amount__gte=0)
                & Q(applied_amount__lte=models.F("amount")),
                name="payment_never_over_applied",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} from {self.payer_name or 'unknown payer'}"

    @property
    def open_amount(self) -> Decimal:
        """Money of the payment not yet on an invoice nor on account."""
        return self.amount - self.applied_amount - self.unapplied_amount

    # -- transitions: state and the fields that go with it; services lock, save and announce --

    @transition(state, source=APPLICABLE_STATES, target=P.SUGGESTED)
    def suggest(self) -> None:
        pass

    @transition(state, source=APPLICABLE_STATES, target=P.AMBIGUOUS)
    def find_ambiguous(self) -> None:
        pass

    @transition(state, source=APPLICABLE_STATES, target=P.UNMATCHED)
    def find_unmatched(self) -> None:
        pass

    @transition(state, source=APPLICABLE_STATES, target=P.APPLIED)
    def apply(self, *, by, at, automatic: bool) -> None:
        self.applied_by, self.applied_at, self.automatic = by, at, automatic

    @transition(state, source=APPLICABLE_STATES, target=P.REFUND)
    def mark_refund(self) -> None:
        pass

    @transition(state, source=[P.APPLIED, P.POSTED, P.REFUND], target=P.SUGGESTED)
    def reopen(self) -> None:
        """An application was reversed: the money waits in the queue again (a refund marked
        before is taken back: it was for what was open then)."""
        self.applied_at, self.automatic = None, False

    @transition(state, source=P.APPLIED, target=P.POSTED)
    def post(self, *, at) -> None:
        self.posted_at = at


class RemittanceAdvice(models.Model):
    """What the customer said the payment pays: from bank addenda, a lockbox file, camt RmtInf or
    an EDI 820.

    An 820 travels apart from its money, so it may come before the bank reports the payment or
    after: it waits with no payment, naming the payment by its reference (TRN02, the trace or
    check number) and amount, and is tied to the payment whichever of the two comes second
    (``services.remittances``)."""

    EDI_820 = "edi820"

    payment = models.ForeignKey(
        Payment, on_delete=models.CASCADE, null=True, blank=True, related_name="remittances"
    )
    source = models.CharField(max_length=16)  # addenda, lockbox, camt, edi820
    received_at = models.DateTimeField()
    # -- what a remittance sent apart from its payment (an 820) says of the payment ----------
    #: The payer, as the trading partner that sent it maps.
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    payer_name = models.CharField(max_length=200, blank=True)
    #: TRN02: the trace, check or wire reference the bank reports the payment under.
    reference = models.CharField(max_length=100, blank=True)
    amount = models.DecimalField(**MONEY, null=True, blank=True)  # BPR02
    currency = models.CharField(max_length=3, blank=True)
    method = models.CharField(max_length=8, blank=True)  # BPR04: ACH, CHK, FWT...
    paid_on = models.DateField(null=True, blank=True)  # BPR16: the effective date
    message_id = models.BigIntegerField(null=True, blank=True)  # its inbox message
    #: Why it is tied to its payment, or why not yet.
    note = models.CharField(max_length=200, blank=True)
    history = HistoricalRecords(no_db_index=["payment", "customer"])  # read by id and time

    class Meta:
        indexes = [
            # advices waiting for their payment, found by the payment's reference
            models.Index(
                fields=["reference"],
                condition=Q(payment__isnull=True),
                name="remittance_waiting",
            ),
            # the EDI console finds an 820's advice by its inbox message
            models.Index(
                fields=["message_id"],
                condition=Q(source="edi820"),
                name="remittance_820_message",
            ),
        ]
        constraints = [
            # a partner's resend of the same remittance is one advice, not two
            models.UniqueConstraint(
                fields=["customer", "reference", "amount"],
                condition=Q(source="edi820"),
                name="remittance_820_once",
            ),
            # a payment takes one 820: two would have their lines counted together
            models.UniqueConstraint(
                fields=["payment"],
                condition=Q(source="edi820", payment__isnull=False),
                name="remittance_820_per_payment",
            ),
        ]

    def __str__(self) -> str:
        if self.payment_id is None:
            return f"{self.source} remittance {self.reference} waiting for its payment"
        return f"{self.source} remittance of {self.payment_id}"


class RemittanceLine(models.Model):
    advice = models.ForeignKey(RemittanceAdvice, on_delete=models.CASCADE, related_name="lines")
    reference = models.CharField(max_length=100)  # the invoice as the customer wrote it
    paid = models.DecimalField(**MONEY, null=True, blank=True)
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    adjustment = models.DecimalField(**MONEY, default=Decimal("0"))
    reason_code = models.CharField(max_length=16, blank=True)
    text = models.TextField(blank=True)
    #: What the payer believes the invoice was for (RMR05, camt DuePyblAmt), a cross-check.
    invoice_amount = models.DecimalField(**MONEY, null=True, blank=True)
    history = HistoricalRecords(no_db_index=["advice"])  # read by id and time

    def __str__(self) -> str:
        return self.reference


class Application(models.Model):
    """Money of one payment on one invoice, with any discount granted and the short amount the
    customer deducted (left open on the invoice with its reason code); who or what applied it and
    why. A reversal keeps the row, marked, with its reason."""

    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="applications")
    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="applications")
    amount = models.DecimalField(**MONEY)
    discount = models.DecimalField(**MONEY, default=Decimal("0"))
    short_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    short_reason = models.CharField(max_length=32, blank=True)
    automatic = models.BooleanField(default=False)
    explanation = models.TextField(blank=True)
    applied_at = models.DateTimeField()
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    reversal_reason = models.TextField(blank=True)
    #: read by id, time, and payment (the cash drawer's story of a payment)
    history = HistoricalRecords(no_db_index=["invoice", "applied_by", "reversed_by"])

    class Meta:
        indexes = [
            models.Index(fields=["invoice", "reversed_at"], name="application_invoice"),
            models.Index(fields=["-applied_at", "-id"], name="application_recent"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0) & Q(discount__gte=0) & Q(short_amount__gte=0),
                name="application_non_negative",
            )
        ]

    def __str__(self) -> str:
        return f"{self.amount} of payment {self.payment_id} on invoice {self.invoice_id}"

    @property
    def settles(self) -> Decimal:
        """What the application takes off the invoice's open amount."""
        return self.amount + self.discount


class UnappliedCash(models.Model):
    """Money of a payment held on the customer's account: put there on purpose, or the rest of
    an overpayment."""

    class Kind(models.TextChoices):
        ON_ACCOUNT = "on_account", "On account"
        OVERPAYMENT = "overpayment", "Overpayment"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="unapplied_cash")
    payment = models.ForeignKey(Payment, on_delete=models.PROTECT, related_name="unapplied")
    amount = models.DecimalField(**MONEY)
    kind = models.CharField(max_length=12, choices=Kind)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    released_at = models.DateTimeField(null=True, blank=True)  # taken back off the account
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "unapplied cash"
        indexes = [models.Index(fields=["customer", "released_at"], name="unapplied_customer")]

    def __str__(self) -> str:
        return f"{self.amount} on account of {self.customer_id}"


class WriteOff(models.Model):
    """A small balance written off an invoice: applied at once within the policy's limit, else
    waiting for a second person (maker-checker, superusers too)."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for approval"
        APPLIED = "applied", "Applied"
        REJECTED = "rejected", "Rejected"

    invoice = models.ForeignKey(Invoice, on_delete=models.PROTECT, related_name="write_offs")
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, null=True, blank=True, related_name="write_offs"
    )
    amount = models.DecimalField(**MONEY)
    reason = models.TextField()
    state = models.CharField(max_length=12, choices=State, default=State.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    requested_at = models.DateTimeField()
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    decided_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="write_off_positive"),
        ]

    def __str__(self) -> str:
        return f"Write-off {self.amount} on {self.invoice_id}"
