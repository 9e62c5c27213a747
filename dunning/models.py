"""Collections: the dunning policy and its steps (admin, with history), each step taken once per
past-due invoice, tasks for collectors, promises to pay, the contact log, and each customer's
standing from past-due days."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from billing.models import Invoice
from orders.models import Customer
from orders.models.master import MONEY

_USER = {"on_delete": models.SET_NULL, "null": True, "blank": True, "related_name": "+"}


class DunningPolicy(models.Model):
    """The one row of collections policy: past-due days that put a customer on credit watch and
    on credit block (their oldest past-due invoice o2c issued), and the amount below which a
    past-due balance is not chased."""

    watch_after_days = models.PositiveIntegerField(default=30)
    block_after_days = models.PositiveIntegerField(default=60)
    minimum_past_due = models.DecimalField(**MONEY, default=Decimal("10.00"))
    history = HistoricalRecords()

    class Meta:
        verbose_name_plural = "dunning policy"

    def __str__(self) -> str:
        return (
            f"Watch after {self.watch_after_days} days past due, block after "
            f"{self.block_after_days}"
        )


class DunningStep(models.Model):
    """A step at ``days_past_due``: a reminder letter to the customer's collections contact (a
    task when there is none), or a task for the collector."""

    class Action(models.TextChoices):
        REMINDER = "reminder", "Send a reminder"
        TASK = "task", "Create a task"

    name = models.CharField(max_length=100)
    days_past_due = models.PositiveIntegerField(unique=True)
    action = models.CharField(max_length=16, choices=Action)
    message = models.TextField(
        help_text="The reminder's text or the task's instruction; {customer}, {invoices} and "
        "{amount} are filled in."
    )
    active = models.BooleanField(default=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["days_past_due"]

    def __str__(self) -> str:
        return f"{self.name} ({self.days_past_due} days)"


class CollectionContact(models.Model):
    """Who at the customer answers for payments: where reminders go."""

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, related_name="collection_contact"
    )
    name = models.CharField(max_length=200, blank=True)
    email = models.EmailField(blank=True)
    phone = models.CharField(max_length=40, blank=True)
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.name or self.email or self.phone} for {self.customer}"


class DunningEvent(models.Model):
    """A step taken for an invoice: once each (the unique pair), whatever how often the run goes."""

    step = models.ForeignKey(DunningStep, on_delete=models.PROTECT, related_name="events")
    invoice = models.ForeignKey(Invoice, on_delete=models.CASCADE, related_name="dunning_events")
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    taken_at = models.DateTimeField()
    days_past_due = models.PositiveIntegerField()
    outcome = models.CharField(max_length=200)  # "reminder sent to …", "task 12 created"

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["step", "invoice"], name="dunning_step_once")
        ]

    def __str__(self) -> str:
        return f"{self.step} for invoice {self.invoice_id}"


class TaskState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"


class CollectionTask(models.Model):
    """Something a collector should do for a customer: a dunning step's call, a broken promise."""

    class Kind(models.TextChoices):
        DUNNING = "dunning", "Dunning step"
        BROKEN_PROMISE = "broken_promise", "Broken promise"
        NO_CONTACT = "no_contact", "Reminder with no contact"
        NOTICE = "notice", "Tell the customer"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind)
    text = models.TextField()
    state = models.CharField(max_length=8, choices=TaskState, default=TaskState.OPEN)
    due_on = models.DateField()
    created_at = models.DateTimeField()
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    done_note = models.TextField(blank=True)
    promise = models.ForeignKey(
        "PromiseToPay", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(
                fields=["customer", "due_on"],
                name="collection_task_open",
                condition=Q(state="open"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} task {self.pk}"


class PromiseState(models.TextChoices):
    OPEN = "open", "Open"
    KEPT = "kept", "Kept"
    BROKEN = "broken", "Broken"
    CANCELLED = "cancelled", "Cancelled"


class PromiseToPay(models.Model):
    """The customer's word: ``amount`` by ``promised_for``. Kept when that much cash has been
    applied to their invoices since the promise, by the date; broken otherwise."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3, default="USD")
    promised_for = models.DateField()
    state = models.CharField(max_length=10, choices=PromiseState, default=PromiseState.OPEN)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    settled_at = models.DateTimeField(null=True, blank=True)
    paid_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    history = HistoricalRecords()

    class Meta:
        indexes = [
            models.Index(fields=["promised_for"], name="promise_open", condition=Q(state="open"))
        ]

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency} by {self.promised_for:%Y-%m-%d}"


class ContactLog(models.Model):
    """A conversation with the customer about money, or a reminder o2c sent."""

    class Channel(models.TextChoices):
        PHONE = "phone", "Phone"
        EMAIL = "email", "Email"
        MEETING = "meeting", "Meeting"
        LETTER = "letter", "Letter"
        REMINDER = "reminder", "Reminder (sent by o2c)"
        NOTICE = "notice", "Notice (sent by o2c)"

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel)
    summary = models.TextField()
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    history = HistoricalRecords()

    class Meta:
        indexes = [models.Index(fields=["customer", "-at"], name="contact_latest")]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} on {self.at:%Y-%m-%d}"


#: How a collector may say they were in touch (reminders and notices are o2c's own).
CONTACT_CHANNELS = [
    choice
    for choice in ContactLog.Channel.choices
    if choice[0] not in (ContactLog.Channel.REMINDER, ContactLog.Channel.NOTICE)
]


class Standing(models.TextChoices):
    OK = "ok", "OK"
    WATCH = "watch", "Watch"
    BLOCKED = "blocked", "Blocked"


class CollectionAccount(models.Model):
    """What a customer owes o2c in one currency, by age, as of the last refresh (each night, and
    whenever cash is applied to them): the worklist reads these rows, not a million invoices.
    ``score`` orders the worklist: past due × days past due × risk × (1 + late risk)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    open_amount = models.DecimalField(**MONEY, default=Decimal("0"))
    past_due = models.DecimalField(**MONEY, default=Decimal("0"))
    days_1_30 = models.DecimalField(**MONEY, default=Decimal("0"))
    days_31_60 = models.DecimalField(**MONEY, default=Decimal("0"))
    days_61_90 = models.DecimalField(**MONEY, default=Decimal("0"))
    days_over_90 = models.DecimalField(**MONEY, default=Decimal("0"))
    open_invoices = models.PositiveIntegerField(default=0)
    oldest_due_on = models.DateField(null=True, blank=True)
    days_past_due = models.PositiveIntegerField(default=0)
    risk = models.DecimalField(max_digits=6, decimal_places=3, default=Decimal("1"))
    #: The open invoices' chance of being paid late, weighted by what is owed on each, as
    #: triage's payment-risk model scores them (0 while it shows nothing): the score counts it.
    late_risk = models.DecimalField(max_digits=4, decimal_places=3, default=Decimal("0"))
    score = models.DecimalField(max_digits=24, decimal_places=2, default=Decimal("0"))
    refreshed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["customer", "currency"], name="collection_account")
        ]
        indexes = [
            models.Index(fields=["-score", "-id"], name="worklist", condition=Q(past_due__gt=0))
        ]

    def __str__(self) -> str:
        return f"{self.customer_id} {self.currency}: {self.past_due:,.2f} past due"


class CustomerStanding(models.Model):
    """A customer's credit standing from how late they pay: watch or blocked beyond the policy's
    past-due days, OK again once paid up. The credit rule takes the worse of this and the ERP's
    credit status."""

    customer = models.OneToOneField(Customer, on_delete=models.CASCADE, related_name="standing")
    status = models.CharField(max_length=8, choices=Standing, default=Standing.OK)
    days_past_due = models.PositiveIntegerField(default=0)
    since = models.DateTimeField()
    history = HistoricalRecords()

    def __str__(self) -> str:
        return f"{self.customer}: {self.get_status_display()}"
