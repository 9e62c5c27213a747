"""Admin for integrations."""

from django.contrib import admin

from .models import WorkerHeartbeat


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "beats", "last_seen"]
    search_fields = ["hostname"]
    readonly_fields = ["hostname", "beats", "last_seen"]
