"""App config for exceptions: connects the order-event receivers and the lifecycle step guard."""

from django.apps import AppConfig


class ExceptionsConfig(AppConfig):
    name = "exceptions"
    verbose_name = "Holds and work queues"

    def ready(self) -> None:
        from orders.lifecycle import register_step_guard

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .selectors import blocking_reasons

        register_step_guard(blocking_reasons)
