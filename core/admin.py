"""Admin pieces every app shares (this module imports no app), and the admin of people's
preferences."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from simple_history.admin import SimpleHistoryAdmin

from .models import UserPreference


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
