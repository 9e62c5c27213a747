"""Shipments confirmed by the warehouse, and their proof of delivery."""

import uuid

from django.conf import settings
from django.db import models
from django_fsm import ConcurrentTransitionMixin, FSMField, FSMModelMixin, transition
from simple_history.models import HistoricalRecords

from orders.models import ExternalRef, Order, OrderLine, Warehouse


class ShipmentState(models.TextChoices):
    CONFIRMED = "confirmed", "Confirmed"  # the WMS confirmed it left the dock
    DELIVERED = "delivered", "Delivered"  # the TMS reported proof of delivery


class Shipment(ConcurrentTransitionMixin, FSMModelMixin, ExternalRef):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="shipments")
    warehouse = models.ForeignKey(
        Warehouse, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    carrier = models.CharField(max_length=100, blank=True)
    tracking_number = models.CharField(max_length=100, blank=True)
    shipped_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)
    signed_by = models.CharField(max_length=100, blank=True)
    pod_waived_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Finance chose to invoice without waiting for proof of delivery.",
    )
    correlation_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    state = FSMField(default=ShipmentState.CONFIRMED, choices=ShipmentState, protected=True)
    history = HistoricalRecords()

    class Meta(ExternalRef.Meta):
        indexes = [models.Index(fields=["order", "shipped_at"], name="shipment_order")]

    def __str__(self) -> str:
        return self.external_id or f"shipment {self.pk}"

    @transition(state, source=ShipmentState.CONFIRMED, target=ShipmentState.DELIVERED)
    def deliver(self, *, at, signed_by: str) -> None:
        self.delivered_at = at
        self.signed_by = signed_by


class ShipmentLine(models.Model):
    shipment = models.ForeignKey(Shipment, on_delete=models.CASCADE, related_name="lines")
    order_line = models.ForeignKey(
        OrderLine, on_delete=models.PROTECT, related_name="shipment_lines"
    )
    quantity = models.DecimalField(max_digits=14, decimal_places=3)
    lot = models.CharField(max_length=50, blank=True)
    history = HistoricalRecords()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["shipment", "order_line"], name="billing_shipment_line_unique"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gte=0), name="billing_shipment_qty_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.shipment_id}/{self.order_line_id}: {self.quantity}"
