"""Admin for integrations: connectors are configured here; inbox and outbox are read-only records."""

from django.contrib import admin

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import (
    Connector,
    ControlNumber,
    InboundMessage,
    IntegrationAlert,
    IntegrationPolicy,
    Interchange,
    MissedRecord,
    OutboundMessage,
    SyncCursor,
    TradingPartner,
    WorkerHeartbeat,
)


@admin.register(Connector)
class ConnectorAdmin(HistoryAdmin):
    list_display = ["name", "kind", "base_url", "enabled", "poll_interval_seconds", "page_size"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name", "base_url"]

    def save_model(self, request, obj, form, change) -> None:
        from .services.schedule import connector_schedule

        super().save_model(request, obj, form, change)
        connector_schedule(connector=obj)  # the pull schedule follows the connector's settings


@admin.register(SyncCursor)
class SyncCursorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "connector",
        "stream",
        "cursor",
        "running",
        "last_success_at",
        "last_error_at",
        "reconciled_at",
    ]
    list_select_related = ["connector"]
    list_filter = ["connector", "stream"]
    search_fields = ["connector__name", "stream"]


@admin.register(MissedRecord)
class MissedRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """What reconciliations found missing from the pulls; open ones have no resolved time."""

    list_display = ["external_id", "version", "connector", "stream", "found_at", "resolved_at"]
    list_select_related = ["connector"]
    list_filter = ["connector", "stream", ("resolved_at", admin.EmptyFieldListFilter)]
    search_fields = ["external_id", "note"]
    date_hierarchy = "found_at"


@admin.register(InboundMessage)
class InboundMessageAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = [
        "id",
        "connector",
        "stream",
        "external_id",
        "version",
        "state",
        "attempts",
        "parked_since",
        "park_checks",
        "received_at",
    ]
    list_select_related = ["connector"]
    list_filter = ["state", "connector", "stream"]
    search_fields = ["external_id", "correlation_id", "last_error"]
    date_hierarchy = "received_at"


@admin.register(OutboundMessage)
class OutboundMessageAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    list_display = ["id", "connector", "topic", "key", "state", "attempts", "created_at", "sent_at"]
    list_select_related = ["connector"]
    list_filter = ["state", "topic", "connector"]
    search_fields = ["key", "correlation_id", "last_error"]


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["hostname", "queues", "pid", "started_at", "last_seen", "stopped_at", "beats"]
    search_fields = ["hostname"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # a worker retired without a clean stop stays silent (and alerted on) until removed here
        return request.user.has_perm("integrations.delete_workerheartbeat")


@admin.register(IntegrationPolicy)
class IntegrationPolicyAdmin(HistoryAdmin):
    list_display = ["__str__", "worker_silent_after_seconds"]

    def has_add_permission(self, request) -> bool:
        return not IntegrationPolicy.objects.exists()  # one row: edit it, don't add another

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(IntegrationAlert)
class IntegrationAlertAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Resolved from the integration console, which names who resolved it."""

    list_display = (
        "kind",
        "subject",
        "count",
        "raised_at",
        "last_raised_at",
        "resolved_at",
        "resolved_by",
    )
    list_filter = ("kind", ("resolved_at", admin.EmptyFieldListFilter))
    search_fields = ("subject", "message")


@admin.register(TradingPartner)
class TradingPartnerAdmin(HistoryAdmin):
    list_display = [
        "name",
        "customer",
        "isa_qualifier",
        "isa_id",
        "version",
        "production",
        "active",
    ]
    list_filter = ["version", "production", "active"]
    search_fields = ["name", "isa_id", "gs_id", "customer__name", "customer__number"]
    autocomplete_fields = ["customer"]


@admin.register(ControlNumber)
class ControlNumberAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Taken under a lock by ``edi_send``; shown, never edited (a reused number is a repeat to
    the partner)."""

    list_display = ["partner", "last"]


@admin.register(Interchange)
class InterchangeAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["at", "direction", "partner", "control_number", "state", "ack_state", "via"]
    list_filter = ["direction", "state", "ack_state", "partner"]
    search_fields = ["control_number", "file_name", "sender"]
    list_select_related = ["partner"]
