"""React to order events: evaluate the rules after an order is stored or materially changed, and
close the holds of an order that is cancelled."""

import logging

from django.dispatch import receiver

from orders.models import OrderState
from orders.signals import order_changed, order_received, order_transitioning

from .services import holds_close_for_cancelled, order_evaluate

logger = logging.getLogger(__name__)


@receiver(order_received, dispatch_uid="exceptions.evaluate_received")
@receiver(order_changed, dispatch_uid="exceptions.evaluate_changed")
def evaluate_after_commit(sender, order_id: int, **kwargs) -> None:
    # Runs after the order's transaction committed; inline, so the person who entered or edited
    # the order sees its holds at once. Imports evaluate in their own worker task.
    try:
        order_evaluate(order_id=order_id, amended=kwargs.get("amended", False))
    except Exception:
        # The order stays "received", which the queues' KPIs show; the error must be seen too.
        logger.exception("Hold evaluation failed for order %s", order_id)
        raise


@receiver(order_transitioning, dispatch_uid="exceptions.close_holds_of_cancelled")
def close_holds_of_cancelled(sender, order, target, actor, **kwargs) -> None:
    # In the cancelling transaction: the cancellation and its holds' closing commit together.
    if target == OrderState.CANCELLED:
        holds_close_for_cancelled(order=order, actor=actor)
