"""App config for billing: connects its receivers, and declares the shipments and invoices panel
and timeline rows of the order page and its own receivables for credit exposure (see
orders.extensions)."""

from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = "Billing"
    order_panels = ("billing.order_page.billing_panel",)
    order_timelines = ("billing.order_page.billing_timeline",)
    order_ar_sources = ("billing.selectors.own_receivables",)
    saved_view_lists = {
        "billing:queue": ("Invoice approvals", "billing.views.finance_queue_count"),
        "billing:invoices": ("Invoices", "billing.views.invoice_list_count"),
    }

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
