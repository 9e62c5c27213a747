"""What the holds app adds to the order page: the holds panel and hold rows in the timeline."""

from orders.selectors import TimelineEntry, history_entries

from .models import Hold
from .selectors import holds_of_order, queues_for_user


def holds_panel(order, user) -> tuple[str, dict]:
    holds = list(holds_of_order(order_id=order.pk))
    return "exceptions/order_holds_panel.html", {"holds": holds, "my_queues": queues_for_user(user)}


def hold_timeline(order) -> list[TimelineEntry]:
    rows = list(
        Hold.history.filter(order_id=order.pk)
        .select_related("history_user", "reason")
        .order_by("history_date")
    )
    return history_entries(rows, subject_of=lambda row: f"Hold {row.reason.code}")
