"""App config for billing: connects its receivers and adds shipments and invoices to the order page."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from orders import selectors as order_selectors

        from . import receivers  # noqa: F401 - connects the signal receivers
        from .order_page import billing_panel, billing_timeline

        if billing_panel not in order_selectors.order_panels:
            order_selectors.order_panels.append(billing_panel)
            order_selectors.timeline_providers.append(billing_timeline)
