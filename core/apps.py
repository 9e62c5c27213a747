"""The core app: installed so its template tags load, its lookups register at start-up, and each
person's time zone preference is stored and remembered at sign-in."""

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "o2c core"

    def ready(self) -> None:
        from core import (
            lookups,  # noqa: F401, PLC0415 - registers field__any for every field
            timezones,  # noqa: F401, PLC0415 - puts the zone on the session at sign-in
        )
