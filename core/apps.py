"""The core app: installed so its template tags load and its lookups register at start-up."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "o2c core"

    def ready(self) -> None:
        from core import lookups  # noqa: F401, PLC0415 - registers field__any for every field
