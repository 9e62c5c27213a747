"""The daily AR reconciliation: per customer, the ERP's AR snapshot beside o2c's own receivables,
with the part of the difference that timing does not explain, flagged beyond a tolerance. Each
run is a snapshot kept for a month; the lines are derived figures, so they carry no history."""

from django.conf import settings
from django.db import models

from orders.models import Customer
from orders.models.master import MONEY


class ArReconciliation(models.Model):
    """One comparison of every customer the ERP reports AR for."""

    as_of = models.DateTimeField()  # when the comparison was made
    tolerance = models.DecimalField(**MONEY)  # an unexplained difference beyond it is flagged
    customers = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    #: Customers with o2c invoices receivable but no ERP snapshot to compare with.
    without_snapshot = models.PositiveIntegerField(default=0)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )  # who asked for it ("Run now"); the daily task runs as the system user

    class Meta:
        verbose_name = "AR reconciliation"
        indexes = [models.Index(fields=["-as_of", "-id"], name="ar_reconciliation_latest")]

    def __str__(self) -> str:
        return f"AR reconciliation {self.as_of:%Y-%m-%d %H:%M}: {self.flagged} flagged"


class ArReconciliationLine(models.Model):
    """One customer in one run. ``erp_open`` − ``erp_counted`` is the difference neither side
    explains (``difference``); ``erp_counted`` − ``own_open`` is explained by timing: cash o2c
    applied that the snapshot has not seen, less o2c's invoices the ERP had not posted yet."""

    run = models.ForeignKey(ArReconciliation, on_delete=models.CASCADE, related_name="lines")
    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="+")
    currency = models.CharField(max_length=3, blank=True)  # of o2c's invoices to the customer
    erp_open = models.DecimalField(**MONEY)  # the ERP's snapshot
    erp_as_of = models.DateTimeField()  # when the ERP took it
    #: o2c's own open receivables: total − settled − credited of the invoices it issued. None
    #: (with ``difference``) when those are in several currencies: no figure sums two.
    own_open = models.DecimalField(**MONEY, null=True, blank=True)
    #: What the snapshot counts of o2c's invoices: total − credited of those posted by its as-of.
    erp_counted = models.DecimalField(**MONEY, null=True, blank=True)
    difference = models.DecimalField(**MONEY, null=True, blank=True)
    #: |difference|, kept for the page's order (largest differences first) and its keyset.
    gap = models.DecimalField(**MONEY, default=0)
    flagged = models.BooleanField(default=False)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "customer"], name="ar_reconciliation_customer")
        ]
        indexes = [
            models.Index(fields=["run", "-flagged", "-gap", "id"], name="ar_reconciliation_order")
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.difference}"

    @property
    def explained(self):
        """The part of ERP − o2c that timing explains (None across currencies)."""
        if self.erp_counted is None or self.own_open is None:
            return None
        return self.erp_counted - self.own_open

    @property
    def erp_minus_own(self):
        return None if self.own_open is None else self.erp_open - self.own_open
