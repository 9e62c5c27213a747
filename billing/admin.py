"""Admin for billing: finance keeps the billing policy and tax rates here. Shipments, invoices and
credit memos are records (read-only): invoices change only through the finance desk's services."""

from django.contrib import admin

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import (
    BillingPolicy,
    CreditMemo,
    CreditMemoLine,
    Invoice,
    InvoiceLine,
    Shipment,
    ShipmentLine,
    TaxRate,
)


class ReadOnlyAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    pass


@admin.register(BillingPolicy)
class BillingPolicyAdmin(HistoryAdmin):
    list_display = ["__str__", "approval_amount", "second_approval_amount", "pod_overdue_days"]

    def has_add_permission(self, request) -> bool:
        return not BillingPolicy.objects.exists()  # one row: edit it, don't add another

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TaxRate)
class TaxRateAdmin(HistoryAdmin):
    list_display = ["region", "name", "rate", "active"]
    list_filter = ["active"]
    search_fields = ["region", "name"]


class InvoiceLineInline(admin.TabularInline):
    model = InvoiceLine
    extra = 0
    can_delete = False
    fields = readonly_fields = [
        "line_number",
        "description",
        "quantity",
        "unit_price",
        "amount",
        "tax_rate",
        "tax_amount",
        "price_overridden",
        "over_shipped_qty",
        "voided",
    ]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Invoice)
class InvoiceAdmin(ReadOnlyAdmin):
    list_display = ["number", "customer", "order", "state", "approval_tier", "total", "issued_on"]
    list_select_related = ["customer", "order"]
    list_filter = ["state", "approval_tier", "billing_rule"]
    search_fields = ["number", "customer__name", "customer__number", "order__number"]
    date_hierarchy = "issued_on"
    inlines = [InvoiceLineInline]


class CreditMemoLineInline(admin.TabularInline):
    model = CreditMemoLine
    extra = 0
    can_delete = False
    fields = readonly_fields = ["invoice_line", "quantity", "amount", "tax_amount"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CreditMemo)
class CreditMemoAdmin(ReadOnlyAdmin):
    list_display = ["number", "invoice", "total", "created_by", "created_at"]
    list_select_related = ["invoice", "created_by"]
    search_fields = ["number", "invoice__number"]
    inlines = [CreditMemoLineInline]


class ShipmentLineInline(admin.TabularInline):
    model = ShipmentLine
    extra = 0
    can_delete = False
    readonly_fields = ["order_line", "quantity", "lot"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Shipment)
class ShipmentAdmin(HistoryAdmin):
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
        "pod_waived_by",
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
class ShipmentLineAdmin(ReadOnlyAdmin):
    list_display = ["shipment", "order_line", "quantity", "lot"]
    list_select_related = ["shipment", "order_line"]
    search_fields = ["shipment__external_id"]
