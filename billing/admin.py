"""Admin for billing: shipments are records of what the warehouse and carrier reported."""

from django.contrib import admin
from simple_history.admin import SimpleHistoryAdmin

from .models import Shipment, ShipmentLine


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    readonly_fields = ["order_line", "quantity", "lot"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(SimpleHistoryAdmin):
    list_display = [
        "external_id",
        "order",
        "state",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
    ]
    list_select_related = ["order"]
    list_filter = ["state", "carrier"]
    search_fields = ["external_id", "order__number", "tracking_number"]
    inlines = [ShipmentLineInline]
    readonly_fields = [
        "order",
        "warehouse",
        "carrier",
        "tracking_number",
        "shipped_at",
        "delivered_at",
        "signed_by",
        "correlation_id",
        "state",
        "source_system",
        "external_id",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ShipmentLine)
class ShipmentLineAdmin(SimpleHistoryAdmin):
    list_display = ["shipment", "order_line", "quantity", "lot"]
    list_select_related = ["shipment", "order_line"]
    search_fields = ["shipment__external_id"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
