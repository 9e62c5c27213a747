"""Events the order lifecycle emits after commit, so higher apps (holds, billing) can react."""

from django.dispatch import Signal

#: A new order was stored. kwargs: order_id, correlation_id.
order_received = Signal()
#: An order changed materially (lines, prices, quantities or customer). kwargs: order_id.
order_changed = Signal()
#: An order moved in its lifecycle. kwargs: order_id, transition, source, target.
order_transitioned = Signal()
#: Sent inside the transaction that moves the order, so a receiver's writes (an outbox row)
#: commit or roll back with it. kwargs: order, transition, source, target, actor.
order_transitioning = Signal()
