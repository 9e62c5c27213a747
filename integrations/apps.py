"""App config for integrations: connects the lifecycle receivers, and declares the messages'
rows in the order's timeline (see orders.extensions)."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"
    order_timelines = ("integrations.order_page.message_timeline",)

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the lifecycle receivers
