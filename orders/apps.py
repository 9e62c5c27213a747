"""App config for orders."""

from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = "Orders and master data"
    #: lists that can be saved as views (``core.saved_views``)
    saved_view_lists = {"orders:list": ("Orders", "orders.views.saved_view_count")}
