"""App config for exceptions: connects the order-event receivers and the lifecycle step guard."""

from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Holds and work queues"

    def ready(self) -> None:
        from orders import selectors as order_selectors
        from orders.lifecycle import register_step_guard

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .order_page import hold_timeline, holds_panel
        from .selectors import blocking_reasons

        register_step_guard(blocking_reasons)
        if holds_panel not in order_selectors.order_panels:
            order_selectors.order_panels.append(holds_panel)
            order_selectors.timeline_providers.append(hold_timeline)
