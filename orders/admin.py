"""Django admin for master data and orders; order transitions go through the services."""

from django.contrib import admin, messages
from django_fsm.admin import FSMAdminMixin

from core.admin import HistoryAdmin
from core.errors import ApplicationError

from .forms import ReasonForm
from .models import (
    ARBalance,
    Customer,
    CustomerItem,
    InventoryPosition,
    Item,
    ItemUnit,
    Order,
    OrderLine,
    PriceAgreement,
    ShipTo,
    ShipWatch,
    TerritoryAssignment,
    Warehouse,
)
from .services import MANUAL_TRANSITIONS, order_transition


class ShipToInline(admin.TabularInline):
    model = ShipTo
    extra = 0
    fields = ["code", "name", "address", "city", "postal_code", "country", "gln"]


class CustomerItemInline(admin.TabularInline):
    model = CustomerItem
    extra = 0
    fields = ["buyer_part", "item"]
    autocomplete_fields = ["item"]


class ItemUnitInline(admin.TabularInline):
    model = ItemUnit
    extra = 0
    fields = ["uom", "factor"]


@admin.register(Customer)
class CustomerAdmin(HistoryAdmin):
    list_display = [
        "number",
        "name",
        "segment",
        "territory",
        "credit_limit",
        "credit_status",
        "billing_rule",
        "payment_terms",
        "tax_region",
    ]
    list_filter = ["segment", "credit_status", "billing_rule", "territory"]
    search_fields = ["number", "name", "external_id"]
    inlines = [ShipToInline, CustomerItemInline]


@admin.register(ShipTo)
class ShipToAdmin(HistoryAdmin):
    list_display = ["code", "name", "customer", "city", "country", "gln"]
    list_select_related = ["customer"]
    search_fields = ["code", "name", "gln", "customer__name", "customer__number"]
    list_filter = ["country"]
    autocomplete_fields = ["customer"]


@admin.register(Item)
class ItemAdmin(HistoryAdmin):
    list_display = ["sku", "description", "uom", "upc", "list_price", "unit_cost", "active"]
    list_filter = ["active", "uom"]
    search_fields = ["sku", "description", "upc", "external_id"]
    inlines = [ItemUnitInline]


@admin.register(ItemUnit)
class ItemUnitAdmin(HistoryAdmin):
    list_display = ["item", "uom", "factor"]
    list_select_related = ["item"]
    search_fields = ["item__sku", "uom"]
    autocomplete_fields = ["item"]


@admin.register(CustomerItem)
class CustomerItemAdmin(HistoryAdmin):
    list_display = ["buyer_part", "item", "customer"]
    list_select_related = ["item", "customer"]
    search_fields = ["buyer_part", "item__sku", "customer__number", "customer__name"]
    autocomplete_fields = ["customer", "item"]


@admin.register(Warehouse)
class WarehouseAdmin(HistoryAdmin):
    list_display = ["code", "name", "source_system"]
    search_fields = ["code", "name"]


@admin.register(PriceAgreement)
class PriceAgreementAdmin(HistoryAdmin):
    list_display = ["customer", "item", "contract_price", "valid_from", "valid_to"]
    list_select_related = ["customer", "item"]
    list_filter = ["valid_from"]
    search_fields = ["customer__name", "customer__number", "item__sku"]
    autocomplete_fields = ["customer", "item"]


@admin.register(InventoryPosition)
class InventoryPositionAdmin(HistoryAdmin):
    list_display = ["item", "warehouse", "erp_on_hand", "wms_on_hand", "allocated", "as_of"]
    list_select_related = ["item", "warehouse"]
    list_filter = ["warehouse"]
    search_fields = ["item__sku"]
    autocomplete_fields = ["item"]


@admin.register(ARBalance)
class ARBalanceAdmin(HistoryAdmin):
    list_display = [
        "customer",
        "open_amount",
        "current",
        "past_due_1_30",
        "past_due_31_60",
        "past_due_61_90",
        "past_due_over_90",
        "oldest_past_due_days",
        "as_of",
    ]
    list_select_related = ["customer"]
    search_fields = ["customer__name", "customer__number"]
    autocomplete_fields = ["customer"]


@admin.register(TerritoryAssignment)
class TerritoryAssignmentAdmin(HistoryAdmin):
    list_display = ["user", "territory"]
    list_select_related = ["user"]
    list_filter = ["territory"]
    search_fields = ["user__username", "territory"]


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    can_delete = False
    fields = [
        "line_number",
        "item",
        "ordered_qty",
        "allocated_qty",
        "shipped_qty",
        "invoiced_qty",
        "unit_price",
        "contract_price",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Order)
class OrderAdmin(FSMAdminMixin, HistoryAdmin):
    """Orders are read-only here: entry and edits belong to the services that keep maker-checker
    and re-evaluation honest; the transition buttons ask for a reason and call the services."""

    fsm_fields = ["state"]
    fsm_forms = {name: ReasonForm for name in MANUAL_TRANSITIONS}
    list_display = ["number", "customer", "channel", "state", "total", "currency", "received_at"]
    list_select_related = ["customer"]
    list_filter = ["state", "channel", "customer__segment", "customer__territory"]
    search_fields = ["number", "customer__name", "customer__number", "external_id"]
    date_hierarchy = "received_at"
    inlines = [OrderLineInline]
    readonly_fields = [
        "number",
        "channel",
        "customer",
        "ship_to",
        "requested_date",
        "currency",
        "subtotal",
        "tax_total",
        "total",
        "correlation_id",
        "received_at",
        "released_at",
        "entered_by",
        "last_edited_by",
        "source_system",
        "external_id",
        "ship_risk",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def is_fsm_transition_visible(self, transition) -> bool:
        return transition.name in MANUAL_TRANSITIONS

    def _apply_fsm_transition(self, *, obj, transition_name, request, kwargs=None) -> bool:
        reason = (kwargs or {}).get("reason", "")
        try:
            order_transition(
                actor=request.user, order_id=obj.pk, transition=transition_name, reason=reason
            )
        except ApplicationError as error:
            self.message_user(request, error.message, level=messages.ERROR)
            return False
        self.message_user(request, f"Order {obj.number}: {transition_name.replace('_', ' ')} done.")
        return True


@admin.register(OrderLine)
class OrderLineAdmin(HistoryAdmin):
    """Read-only: lines change through order entry, line edits and shipment/invoice events."""

    list_display = [
        "order",
        "line_number",
        "item",
        "ordered_qty",
        "allocated_qty",
        "shipped_qty",
        "invoiced_qty",
        "unit_price",
        "contract_price",
    ]
    list_select_related = ["order", "item"]
    list_filter = ["order__state", "warehouse"]
    search_fields = ["order__number", "item__sku"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ShipWatch)
class ShipWatchAdmin(HistoryAdmin):
    """The proactive customer-service queue, read-only: entries are opened by the late-shipment
    model and closed from the queue page (``/orders/at-risk/``), with who and what was done."""

    list_display = ["order", "state", "requested_date", "probability", "action", "closed_by",
                    "opened_at"]  # fmt: skip
    list_select_related = ["order", "closed_by"]
    list_filter = ["state", "action"]
    search_fields = ["order__number", "order__customer__name", "note"]
    date_hierarchy = "opened_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
