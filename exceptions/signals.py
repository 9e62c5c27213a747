"""Events the holds app sends, so higher apps (billing, integrations) can act on a resolution."""

from django.dispatch import Signal

#: A person (or the second approver) released a hold. kwargs: hold_id, order_id, reason_code,
#: resolution_code, actor_id.
hold_released = Signal()
#: A hold left the active states (released, rejected or cleared). Sent inside the transaction
#: that saves it, after the save, so a receiver's writes (an outbox row) commit or roll back with
#: it. kwargs: hold.
hold_closed = Signal()
#: A person undid a model's automatic release: the hold is open again. Sent inside the
#: transaction. kwargs: hold, actor.
hold_reinstated = Signal()
