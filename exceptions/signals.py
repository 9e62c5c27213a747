"""Events the holds app sends after commit, so higher apps (billing) can act on a resolution."""

from django.dispatch import Signal

#: A person (or the second approver) released a hold. kwargs: hold_id, order_id, reason_code,
#: resolution_code, actor_id.
hold_released = Signal()
