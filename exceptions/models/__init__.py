"""Models of the exceptions app: governed thresholds, reasons, holds, notifications, and
the notes and files of orders and holds."""

from .hold import ACTIVE_STATES, Hold, HoldState, Notification
from .notes import OrderAttachment, OrderNote
from .policy import HoldPolicy, HoldReason, Queue

__all__ = [
    "ACTIVE_STATES",
    "Hold",
    "HoldPolicy",
    "HoldReason",
    "HoldState",
    "Notification",
    "OrderAttachment",
    "OrderNote",
    "Queue",
]
