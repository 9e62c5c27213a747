"""App config for cases: deductions from short payments and disputes from customer service."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Deductions, disputes and returns"
    order_timelines = ("cases.order_page.returns_timeline",)
    saved_view_lists = {"cases:queue": ("Cases", "cases.views.saved_view_count")}

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
