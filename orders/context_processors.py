"""Navigation shown to each user according to their roles."""

from django.urls import reverse

from .roles import Role, user_roles
from .selectors import can_view_orders


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav_items": [], "user_roles": frozenset()}
    roles = user_roles(user)
    items = [("Home", reverse("home"))]
    if can_view_orders(user):
        items.append(("Orders", reverse("orders:list")))
    if roles & {Role.CUSTOMER_SERVICE, Role.MANAGER}:
        items.append(("New order", reverse("orders:create")))
    if user.is_staff:
        items.append(("Admin", reverse("admin:index")))
    return {"nav_items": items, "user_roles": roles}
