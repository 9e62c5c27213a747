"""Admin: thresholds and reasons are governed here (with history); holds are read-only here and
worked in the queues, where the services keep locks, maker-checker and reasons."""

from django.contrib import admin

from core.admin import HistoryAdmin

from .models import Hold, HoldPolicy, HoldReason, Notification


@admin.register(HoldPolicy)
class HoldPolicyAdmin(HistoryAdmin):
    list_display = [
        "__str__",
        "credit_tolerance",
        "past_due_days",
        "price_tolerance",
        "margin_floor",
        "stock_variance",
        "anomaly_factor",
        "anomaly_score_threshold",
        "maker_checker_amount",
        "segment_weight",
    ]
    search_fields = ["segment"]
    fieldsets = [
        (
            None,
            {
                "fields": ["segment"],
                "description": "Empty fields on a segment row inherit the global default.",
            },
        ),
        ("Credit", {"fields": ["credit_tolerance", "past_due_days"]}),
        ("Pricing", {"fields": ["price_tolerance", "margin_floor"]}),
        (
            "Inventory and anomalies",
            {
                "fields": [
                    "stock_variance",
                    "anomaly_factor",
                    "anomaly_history_orders",
                    "anomaly_score_threshold",
                ]
            },
        ),
        (
            "What makes a change material (a released hold is judged again)",
            {"fields": list(HoldPolicy.MATERIAL_FIELDS)},
        ),
        ("Controls and priority", {"fields": ["maker_checker_amount", "segment_weight"]}),
    ]


@admin.register(HoldReason)
class HoldReasonAdmin(HistoryAdmin):
    list_display = [
        "code",
        "category",
        "description",
        "blocks",
        "queue",
        "sla_hours",
        "overridable",
        "active",
    ]
    list_filter = ["category", "queue", "blocks", "overridable", "active"]
    search_fields = ["code", "description"]


@admin.register(Hold)
class HoldAdmin(HistoryAdmin):
    list_display = [
        "id",
        "order",
        "reason",
        "queue",
        "state",
        "value_at_risk",
        "priority_score",
        "escalation_level",
        "assignee",
        "due_at",
    ]
    list_select_related = ["order", "reason", "assignee"]
    list_filter = ["queue", "state", "category", "escalation_level"]
    search_fields = ["order__number", "order__customer__name", "reason__code"]
    date_hierarchy = "raised_at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["user", "message", "created_at", "read_at"]
    list_select_related = ["user"]
    list_filter = ["read_at"]
    search_fields = ["user__username", "message"]
