"""The notes thread of an order and of its holds: what people wrote, and the files they attached
(a customer's mail, a signed credit application, a photo). A hold's notes belong to its order's
thread too, so the order page tells the whole conversation."""

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from orders.models import Order

from .hold import Hold

_USER = {"on_delete": models.SET_NULL, "null": True, "blank": True, "related_name": "+"}


class OrderNote(models.Model):
    """A note on an order, or on one of its holds (``hold`` set)."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="notes")
    hold = models.ForeignKey(
        Hold, on_delete=models.CASCADE, null=True, blank=True, related_name="notes"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    text = models.TextField()
    created_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["order", "created_at"], name="order_note_order"),
            models.Index(fields=["hold", "created_at"], name="order_note_hold"),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class OrderAttachment(models.Model):
    """A file attached to an order or one of its holds. Stored under a generated name through
    the storage API (never served from a media URL); ``name`` is the file's own, for download."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="attachments")
    hold = models.ForeignKey(
        Hold, on_delete=models.CASCADE, null=True, blank=True, related_name="attachments"
    )
    file = models.FileField(upload_to="notes/%Y/%m/")
    name = models.CharField(max_length=200)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, **_USER)
    uploaded_at = models.DateTimeField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["uploaded_at", "id"]
        indexes = [
            models.Index(fields=["order", "uploaded_at"], name="order_attachment_order"),
            models.Index(fields=["hold", "uploaded_at"], name="order_attachment_hold"),
        ]

    def __str__(self) -> str:
        return self.name
