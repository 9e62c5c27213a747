"""App config for integrations."""

from django.apps import AppConfig


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = "Integrations"

    def ready(self) -> None:
        from orders import selectors as order_selectors

        from . import receivers  # noqa: F401 - connects the lifecycle receivers
        from .order_page import message_timeline

        if message_timeline not in order_selectors.timeline_providers:
            order_selectors.timeline_providers.append(message_timeline)
