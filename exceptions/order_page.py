"""What the holds app adds to the order page: the holds panel, the notes thread, and hold, note
and file rows in the timeline."""

from orders.selectors import TimelineEntry, history_entries

from .models import Hold, OrderAttachment, OrderNote
from .notes import order_thread
from .selectors import holds_of_order, queues_for_user


def holds_panel(order, user) -> tuple[str, dict]:
    holds = list(holds_of_order(order_id=order.pk))
    return "exceptions/order_holds_panel.html", {"holds": holds, "my_queues": queues_for_user(user)}


def notes_panel(order, user) -> tuple[str, dict]:
    return "notes/order_panel.html", {"notes": order_thread(user=user, order=order)}


def hold_timeline(order) -> list[TimelineEntry]:
    rows = list(
        Hold.history.filter(order_id=order.pk)
        .select_related("history_user", "reason")
        .order_by("history_date")
    )
    return history_entries(rows, subject_of=lambda row: f"Hold {row.reason.code}")


def notes_timeline(order) -> list[TimelineEntry]:
    """A row per note and file. The timeline is read by everyone who opens the order, so it says
    who wrote or attached, when, and on which hold; the words and the file stay in the thread,
    behind its access check."""
    notes = list(
        OrderNote.history.filter(order_id=order.pk)
        .select_related("history_user")
        .order_by("history_date")
    )
    files = list(
        OrderAttachment.history.filter(order_id=order.pk)
        .select_related("history_user")
        .order_by("history_date")
    )
    if not notes and not files:
        return []
    codes = dict(Hold.objects.filter(order_id=order.pk).values_list("pk", "reason__code"))

    def on(row) -> str:
        return f"on hold {codes.get(row.hold_id, '?')}" if row.hold_id else "on the order"

    return history_entries(notes, subject_of=lambda row: f"Note {on(row)}") + history_entries(
        files, subject_of=lambda row: f"File {on(row)}"
    )
