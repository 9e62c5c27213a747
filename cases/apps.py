"""App config for cases: deductions from short payments and disputes from customer service."""

from django.apps import AppConfig


class CasesConfig(AppConfig):
    name = "cases"
    verbose_name = "Deductions and disputes"

    def ready(self) -> None:
        from . import receivers  # noqa: F401 - connects the signal receivers
