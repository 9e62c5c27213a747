"""Integrations reacting to the order lifecycle: a released order instructs the WMS via the outbox."""

from django.dispatch import receiver

from orders.models import OrderState
from orders.signals import order_transitioning

from .services import outbox_enqueue_release


@receiver(order_transitioning, dispatch_uid="integrations.release_to_wms")
def release_to_wms(sender, order, target, **kwargs) -> None:
    if target == OrderState.RELEASED:
        outbox_enqueue_release(order=order)
