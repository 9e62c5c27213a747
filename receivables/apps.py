"""App config for receivables: payments from bank statements and remittances, matched to invoices
and applied, with the customer's unapplied cash and write-offs."""

from django.apps import AppConfig


class ReceivablesConfig(AppConfig):
    name = "receivables"
    verbose_name = "Receivables"
    # cash the ERP already took off its AR snapshot (see billing's own_receivables)
    order_ar_sources = ("receivables.selectors.cash_known_to_erp",)
    saved_view_lists = {"receivables:queue": ("Payments", "receivables.views.saved_view_count")}

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
