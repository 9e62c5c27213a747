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
    has_queues = any(queue in WORK_QUEUES for queue in queues_for_user(user))
    finance = is_finance(user)
    # A few menus (<details>: no script needed, keyboard-operable) keep the bar on one line
    # whatever the roles; a menu of one link is shown as the link.
    orders, money, insight, admin = [], [], [], []
    if can_view_orders(user):
        orders.append(("Orders", reverse("orders:list")))
    if roles & {Role.CUSTOMER_SERVICE, Role.MANAGER}:
        orders.append(("New order", reverse("orders:create")))
        orders.append(("At risk", reverse("orders:at-risk")))
    if finance:
        money.append(("Invoices", reverse("billing:invoices")))
    if roles & {Role.CASH_APPLICATION, Role.MANAGER}:
        money.append(("Cash", reverse("receivables:queue")))
    elif Role.FINANCE in roles:  # finance approves write-offs
        money.append(("Write-offs", reverse("receivables:write_offs")))
    if case_queues_for_user(user):
        money.append(("Cases", reverse("cases:queue")))
    if roles & set(RETURN_VIEWER_ROLES):
        money.append(("Returns", reverse("returns:list")))
    if sees_collections(user):
        money.append(("Collections", reverse("dunning:worklist")))
    if Role.MANAGER in roles:
        insight.append(("Dashboard", reverse("insights:dashboard")))
        insight.append(("Triage", reverse("triage:models")))
    if roles & {Role.INTEGRATION_ADMIN, Role.MANAGER}:
        admin.append(("Integrations", reverse("integrations:console")))
    if user.is_staff:
        admin.append(("Admin", reverse("admin:index")))
    items = [{"label": "Home", "url": reverse("home")}]
    if has_queues:
        items.append({"label": "My work", "url": reverse("exceptions:mine")})
        # the queues with their live counts (exceptions:counts), loaded into the menu
        items.append({"label": "Queues", "links": [], "slot": "queues"})
    for label, links, slot in (
        ("Orders", orders, ""),
        ("Finance", money, "finance" if finance else ""),
        ("Insight", insight, ""),
        ("Admin", admin, ""),
    ):
        if len(links) == 1 and not slot:
            items.append({"label": links[0][0], "url": links[0][1]})
        elif links or slot:
            items.append({"label": label, "links": links, "slot": slot})
    unread = unread_notifications(user=user)
    items.append(
        {
            "label": f"Notifications ({unread})" if unread else "Notifications",
            "url": reverse("exceptions:notifications"),
        }
    )
    return {
        "nav_items": items,
        "user_roles": roles,
        "has_queues": has_queues,
        "is_finance": finance,
        "now": timezone.now(),
    }
