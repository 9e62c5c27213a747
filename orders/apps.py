"""App config for orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and master data"

    def ready(self) -> None:
        from o2c import lookups  # noqa: F401, PLC0415 - registers field__any for every field
