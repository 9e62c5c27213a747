"""The proactive customer-service queue: released orders a model expects to miss their requested
date, while there is still time to act (tell the customer, expedite, split the shipment).

An entry is opened by ``triage`` (through ``orders.services.ship_watch_open``) when its
late-shipment model calls an order late in a mode people see; a person closes it with what they
did; it closes by itself when the order ships or is cancelled, since nothing is left to prevent."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from .order import Order, OrderState

#: Released, not yet shipped in full: what a late-shipment expectation is about.
WATCHED_STATES = (OrderState.RELEASED, OrderState.ALLOCATED, OrderState.PARTIALLY_SHIPPED)


class WatchState(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"  # a person acted, or the order shipped or was cancelled


class WatchAction(models.TextChoices):
    CUSTOMER_TOLD = "customer_told", "Customer told of the new date"
    EXPEDITED = "expedited", "Expedited with the warehouse or carrier"
    DATE_MOVED = "date_moved", "Requested date moved with the customer"
    NO_ACTION = "no_action", "Checked: no action needed"


class ShipWatch(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="ship_watches")
    state = models.CharField(max_length=8, choices=WatchState, default=WatchState.OPEN)
    #: the model's probability of missing the requested date when the entry was opened
    probability = models.DecimalField(max_digits=5, decimal_places=4)
    requested_date = models.DateField()
    opened_at = models.DateTimeField()
    action = models.CharField(max_length=16, choices=WatchAction, blank=True)
    note = models.TextField(blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(no_db_index=["closed_by"])

    class Meta:
        constraints = [
            # one open entry per order: a second scoring run never queues it twice
            models.UniqueConstraint(
                fields=["order"], condition=Q(state="open"), name="orders_one_open_watch"
            )
        ]
        indexes = [
            # the queue page: open entries, soonest requested date first, keyset on id
            models.Index(
                fields=["requested_date", "id"],
                condition=Q(state="open"),
                name="orders_watch_queue",
            )
        ]

    def __str__(self) -> str:
        return f"watch {self.pk} on order {self.order_id}"
