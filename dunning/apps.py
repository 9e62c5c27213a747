"""App config for collections (``dunning``): connects its receivers and declares each customer's
standing from past-due days as a credit status the credit rule reads (see orders.extensions)."""

from django.apps import AppConfig


class DunningConfig(AppConfig):
    name = "dunning"
    verbose_name = "Collections"
    order_credit_standings = ("dunning.selectors.standings_of",)
    saved_view_lists = {"dunning:worklist": ("Collections", "dunning.views.saved_view_count")}

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
