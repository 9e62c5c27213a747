"""Admin: the group mapping table, and who is linked to the provider with what it granted."""

from django.contrib import admin

from core.admin import HistoryAdmin, ReadOnlyAdminMixin

from .models import Grant, GroupMapping, Identity


@admin.register(GroupMapping)
class GroupMappingAdmin(HistoryAdmin):
    """Each person's roles and territories follow these rows at every company sign-in."""

    list_display = ["idp_group", "role", "territory", "every_territory"]
    list_filter = ["role", "every_territory"]
    search_fields = ["idp_group", "territory"]


@admin.register(Identity)
class IdentityAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """Read-only but for deletion: deleting unlinks the account, whose next company sign-in then
    links again by the rules of a first one."""

    list_display = ["user", "subject", "issuer", "last_sign_in_at"]
    search_fields = ["user__username", "user__email", "subject"]
    readonly_fields = ["user", "issuer", "subject", "groups", "linked_at", "last_sign_in_at"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.has_perm("sso.delete_identity")


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdminMixin, HistoryAdmin):
    """What single sign-on gave; the rest of a person's roles and territories an admin gave."""

    list_display = ["user", "kind", "value", "granted_at"]
    list_filter = ["kind"]
    search_fields = ["user__username", "value"]
