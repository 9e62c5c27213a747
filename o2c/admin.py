"""Admin pieces every app shares (this module imports no app)."""


class ReadOnlyAdminMixin:
    """A record admin: browse, search and read history; no add, edit or delete."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
