"""Models of the exceptions app: governed thresholds, reasons, holds and notifications."""

from .hold import ACTIVE_STATES, Hold, HoldState, Notification
from .policy import HoldPolicy, HoldReason, Queue

__all__ = [
    "ACTIVE_STATES",
    "Hold",
    "HoldPolicy",
    "HoldReason",
    "HoldState",
    "Notification",
    "Queue",
]
