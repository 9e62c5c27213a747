"""Admin pieces every app shares (this module imports no app), the admin of people's
preferences, and the deliveries of mail and chat (failed ones can be sent again)."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from .deliveries import deliveries_retry
from .models import Delivery, DeliveryStatus, NoticePreference, UserPreference


class ReadOnlyAdminMixin:
    """A record admin: browse, search and read history; no add, edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class HistoryAdmin(SimpleHistoryAdmin):
    """simple-history's admin with its history kept a record: the history list and each past
    version can be read, never posted back. (SIMPLE_HISTORY_REVERT_DISABLED only hides the
    Revert button; the version page would still accept a POST and overwrite the object.)"""

    def has_change_history_permission(self, request, obj=None) -> bool:
        return False

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("History is read-only.")
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(UserPreference)
class UserPreferenceAdmin(HistoryAdmin):
    """A changed zone reaches a person signed in elsewhere at their next sign-in (it is kept on
    the session); their own Preferences page applies it at once."""

    list_display = ("user", "time_zone")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)


@admin.register(NoticePreference)
class NoticePreferenceAdmin(HistoryAdmin):
    list_display = ("user", "kind", "mode")
    list_filter = ("kind", "mode")
    search_fields = ("user__username", "user__first_name", "user__last_name")
    autocomplete_fields = ("user",)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Every mail and chat message and how its sending went; a failed one also raised an
    integration alert. Read-only: a delivery changes only by being sent (or sent again)."""

    list_display = (
        "created_at", "channel", "address", "kind", "subject", "status", "attempts", "sent_at"
    )  # fmt: skip
    list_filter = ("status", "channel", "kind")
    search_fields = ("address", "subject")
    date_hierarchy = "created_at"
    actions = ["send_again"]

    @admin.action(description="Send the selected failed deliveries again")
    def send_again(self, request, queryset) -> None:
        failed = list(queryset.filter(status=DeliveryStatus.FAILED).values_list("pk", flat=True))
        count = deliveries_retry(delivery_ids=failed)
        self.message_user(request, f"{count} failed deliveries queued again.", messages.SUCCESS)
