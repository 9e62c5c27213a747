"""Events the holds app sends, so higher apps (billing, integrations) can act on a resolution."""

from django.dispatch import Signal

#: A person (or the second approver) released a hold. kwargs: hold_id, order_id, reason_code,
#: resolution_code, actor_id.
hold_released = Signal()
#: A hold left the active states (released, rejected or cleared). Sent inside the transaction
#: that saves it, after the save, so a receiver's writes (an outbox row) commit or roll back with
#: it. kwargs: hold.
hold_closed = Signal()
