"""Navigation shown to each user according to their roles; lives here because it spans apps."""

from django.urls import reverse
from django.utils import timezone

from billing.selectors import is_finance
from cases.returns import RETURN_VIEWER_ROLES
from cases.selectors import case_queues_for_user
from core.roles import Role, user_roles
from dunning.selectors import sees_collections
from exceptions.selectors import WORK_QUEUES, queues_for_user, unread_notifications
from orders.selectors import can_view_orders


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {
            "nav_items": [],
            "user_roles": frozenset(),
            "has_queues": False,
            "is_finance": False,
        }
    roles = user_roles(user)
    items = [("Home", reverse("home"))]
    if can_view_orders(user):
        items.append(("Orders", reverse("orders:list")))
    if roles & {Role.CUSTOMER_SERVICE, Role.MANAGER}:
        items.append(("New order", reverse("orders:create")))
        items.append(("At risk", reverse("orders:at-risk")))
    has_queues = any(queue in WORK_QUEUES for queue in queues_for_user(user))
    if has_queues:
        items.append(("My work", reverse("exceptions:mine")))
    finance = is_finance(user)
    if finance:
        items.append(("Invoices", reverse("billing:invoices")))
    if roles & {Role.CASH_APPLICATION, Role.MANAGER}:
        items.append(("Cash", reverse("receivables:queue")))
    elif Role.FINANCE in roles:  # finance approves write-offs
        items.append(("Write-offs", reverse("receivables:write_offs")))
    if case_queues_for_user(user):
        items.append(("Cases", reverse("cases:queue")))
    if roles & set(RETURN_VIEWER_ROLES):
        items.append(("Returns", reverse("returns:list")))
    if sees_collections(user):
        items.append(("Collections", reverse("dunning:worklist")))
    if Role.MANAGER in roles:
        items.append(("Dashboard", reverse("insights:dashboard")))
        items.append(("Triage", reverse("triage:models")))
    if roles & {Role.INTEGRATION_ADMIN, Role.MANAGER}:
        items.append(("Integrations", reverse("integrations:console")))
    unread = unread_notifications(user=user)
    items.append(
        (
            f"Notifications ({unread})" if unread else "Notifications",
            reverse("exceptions:notifications"),
        )
    )
    if user.is_staff:
        items.append(("Admin", reverse("admin:index")))
    return {
        "nav_items": items,
        "user_roles": roles,
        "has_queues": has_queues,
        "is_finance": finance,
        "now": timezone.now(),
    }
