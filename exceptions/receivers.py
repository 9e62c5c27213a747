"""React to order events: evaluate the rules after an order is stored or materially changed."""

import logging

from django.dispatch import receiver

from orders.signals import order_changed, order_received

from .services import order_evaluate

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
