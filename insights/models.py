"""Summary tables behind the dashboard. The KPIs read these, never the source tables: at a million
orders, aggregating a month of orders, holds and history at request time took seconds, while a
month of daily slices is a few thousand rows. ``insights.rollups`` keeps them current: it
recomputes, from the source tables and in SQL, every day whose records changed.

A slice is one local day (orders and payments by the day they were received, invoices by the day
they were created, applications of cash by the day they were made) and one channel, customer segment and territory, so every filter of the dashboard is a
WHERE over slices. Counts of distinct orders add up across slices because an order belongs to
exactly one day. Amounts are kept per currency (the orders', the payments'), so no figure sums
two currencies. Payments, applications and unapplied cash have no channel: their slices keep "".
"""

from decimal import Decimal

from django.db import models


class Figure(models.TextChoices):
    # Orders, by the day they were received.
    ORDERS = "orders", "Orders received"
    DECIDED = "decided", "Orders past received"
    TOUCHLESS = "touchless", "Decided orders never held"
    HELD = "held", "Orders with a hold"
    REHELD = "reheld", "Orders held again after a resolved hold"
    ON_HOLD = "on_hold", "Orders on hold now (amount: their total)"
    RELEASE_CYCLE = "release_cycle", "Received to released (histogram)"
    # Holds of those orders, per category, reason and queue.
    HOLDS = "holds", "Holds raised"
    HELD_BY_REASON = "held_by_reason", "Orders held, per reason"
    RESOLUTION = "resolution", "Raised to resolved (histogram)"
    # Invoices, by the day they were created.
    INVOICE_LATENCY = "invoice_latency", "Shipment to invoice (histogram)"
    INVOICES_RELEASED = "invoices_released", "Invoices released"
    INVOICES_CLEAN = "invoices_clean", "Released invoices without a credit memo"
    # Payments, by the day the bank file brought them (amount: their sum, per currency).
    PAYMENTS = "payments", "Payments received"
    PAYMENTS_AUTO = "payments_auto", "Payments applied automatically"
    RECEIPT_TO_APPLIED = "receipt_to_applied", "Received to applied (histogram)"
    # Applications of cash to invoices, by the day they were made; category "auto" or "manual".
    APPLICATIONS = "applications", "Applications made"
    APPLICATIONS_KEPT = "applications_kept", "Applications never reversed"


#: Figures whose rows are histogram buckets: ``bucket`` is a duration in seconds (see
#: ``rollups.duration_bucket`` for its resolution) and ``count`` how many fell in it.
HISTOGRAMS = (
    Figure.RELEASE_CYCLE,
    Figure.RESOLUTION,
    Figure.INVOICE_LATENCY,
    Figure.RECEIPT_TO_APPLIED,
)


class DailyFigure(models.Model):
    day = models.DateField()
    channel = models.CharField(max_length=16, blank=True)
    segment = models.CharField(max_length=16, blank=True)
    territory = models.CharField(max_length=32, blank=True)
    figure = models.CharField(max_length=24, choices=Figure)
    category = models.CharField(max_length=16, blank=True)
    reason = models.CharField(max_length=32, blank=True)
    queue = models.CharField(max_length=24, blank=True)
    bucket = models.BigIntegerField(default=0)
    count = models.BigIntegerField()
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, blank=True)  # of the orders (order figures only)

    class Meta:
        # Each KPI reads one figure over a range of days.
        indexes = [models.Index(fields=["figure", "day"], name="daily_figure_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.figure} {self.count}"


class ActiveHoldSlice(models.Model):
    """Active holds of the orders received on ``day``, by the hour they were raised and the hour
    they fall due: queue aging is computed from these against the clock at read time, so ages
    advance without a refresh. Hours are UTC and each is read at its middle, so an age or a due
    time is right to within half an hour either way (a per-hold copy, exact, read ~8× slower)."""

    day = models.DateField()
    channel = models.CharField(max_length=16, blank=True)
    segment = models.CharField(max_length=16, blank=True)
    territory = models.CharField(max_length=32, blank=True)
    queue = models.CharField(max_length=24)
    raised_hour = models.DateTimeField()
    due_hour = models.DateTimeField()
    holds = models.BigIntegerField()
    value = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, blank=True)  # of the orders: the value is in it

    class Meta:
        indexes = [models.Index(fields=["day"], name="active_hold_slice_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.queue} {self.holds}"


class UnappliedCashSlice(models.Model):
    """Unapplied cash still on customers' accounts (not released), by the day and UTC hour it
    was put there and its currency: aged against the clock at read time, like ActiveHoldSlice.
    Payments carry no channel, so ``channel`` is always ""."""

    day = models.DateField()
    channel = models.CharField(max_length=16, blank=True)
    segment = models.CharField(max_length=16, blank=True)
    territory = models.CharField(max_length=32, blank=True)
    created_hour = models.DateTimeField()
    currency = models.CharField(max_length=3)
    count = models.BigIntegerField()
    amount = models.DecimalField(max_digits=16, decimal_places=2, default=Decimal("0"))

    class Meta:
        indexes = [models.Index(fields=["day"], name="unapplied_cash_slice_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.amount} {self.currency}"


class Slice(models.Model):
    """The slice columns the flow tables share."""

    day = models.DateField()
    channel = models.CharField(max_length=16, blank=True)
    segment = models.CharField(max_length=16, blank=True)
    territory = models.CharField(max_length=32, blank=True)
    count = models.BigIntegerField()

    class Meta:
        abstract = True


class FlowStep(Slice):
    """Directly-follows steps of the orders received on ``day``: from one state to the next, with
    a histogram of the time between (``bucket`` in seconds; empty for the first step)."""

    source = models.CharField(max_length=50, blank=True)  # "" for the start of the story
    target = models.CharField(max_length=50)
    bucket = models.BigIntegerField(null=True)

    class Meta:
        indexes = [models.Index(fields=["day"], name="flow_step_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.source}→{self.target} {self.count}"


class FlowVariant(Slice):
    """Whole paths through the lifecycle ("received>on_hold>released") of those orders."""

    path = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["day"], name="flow_variant_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.path} {self.count}"


class RollupState(models.Model):
    """One row: when the slices were last refreshed (the next refresh looks for changes from
    there) and last rebuilt. Refreshes lock it, so two never interleave."""

    refreshed_at = models.DateTimeField(null=True, blank=True)
    rebuilt_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refreshed {self.refreshed_at}"
