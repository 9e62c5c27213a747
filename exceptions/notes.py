"""Reads of the notes threads of orders and holds, scoped to the reader: who may see a thread,
its notes and files in order, and one file for download.

Who sees what: an order's own notes and files, whoever may open the order; a hold's, whoever may
see the hold (its queue, in their territories). The order page's thread shows both, less the
notes of holds the reader may not see."""

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import Q
from django.urls import reverse

from core.errors import PermissionDenied
from core.roles import UserLike
from orders.models import Order
from orders.selectors import orders_for_user

from .models import Hold, OrderAttachment, OrderNote
from .selectors import holds_for_user


@dataclass(frozen=True)
class ThreadItem:
    """A note or a file of a thread, for the page."""

    at: datetime
    who: str
    note: OrderNote | None = None
    attachment: OrderAttachment | None = None

    @property
    def hold(self) -> Hold | None:
        return (self.note or self.attachment).hold


@dataclass
class Thread:
    """A thread and its forms: where to post a note and a file, and the last refusal."""

    dom_id: str
    title: str
    items: list[ThreadItem]
    note_url: str
    attach_url: str
    page_url: str
    limit_mb: int = field(default_factory=lambda: settings.O2C_ATTACHMENT_MAX_BYTES // 1_048_576)
    error: str = ""
    done: str = ""  # what the last post did, said to screen readers too
    text: str = ""  # the refused note's text, kept in the box to be fixed


def _who(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else "system"


def _items(notes: Q, files: Q) -> list[ThreadItem]:
    """Two queries, however long the thread: the notes and the files with their authors."""
    items = [
        ThreadItem(at=n.created_at, who=_who(n.author), note=n)
        for n in OrderNote.objects.filter(notes).select_related("author", "hold__reason")
    ] + [
        ThreadItem(at=a.uploaded_at, who=_who(a.uploaded_by), attachment=a)
        for a in OrderAttachment.objects.filter(files).select_related("uploaded_by", "hold__reason")
    ]
    items.sort(key=lambda item: item.at)
    return items


def hold_thread(*, user: UserLike, hold: Hold) -> Thread:
    """The hold's own notes and files (``hold`` already fetched through ``hold_get``)."""
    return Thread(
        dom_id=f"notes-hold-{hold.pk}",
        title="Notes and attachments on this hold",
        items=_items(Q(hold=hold), Q(hold=hold)),
        note_url=reverse("notes:hold", args=[hold.pk]),
        attach_url=reverse("notes:hold-attach", args=[hold.pk]),
        page_url=reverse("exceptions:hold", args=[hold.pk]),
    )


def _visible_to(user: UserLike, order: Order) -> Q:
    """The order's own rows, and its holds' rows the reader may see."""
    return Q(order=order) & (
        Q(hold__isnull=True) | Q(hold__in=holds_for_user(user).filter(order=order))
    )


def order_thread(*, user: UserLike, order: Order) -> Thread:
    """The order's whole thread (``order`` already fetched through ``order_get``)."""
    visible = _visible_to(user, order)
    return Thread(
        dom_id=f"notes-order-{order.pk}",
        title="Notes and attachments",
        items=_items(visible, visible),
        note_url=reverse("notes:order", args=[order.pk]),
        attach_url=reverse("notes:order-attach", args=[order.pk]),
        page_url=reverse("orders:detail", args=[order.pk]),
    )


def order_get_for_notes(*, user: UserLike, order_id: int) -> Order:
    order = orders_for_user(user).select_related("customer").filter(pk=order_id).first()
    if order is None:
        raise PermissionDenied("Order not found or not yours to open.", {"order_id": order_id})
    return order


def attachment_get(*, user: UserLike, attachment_id: int) -> OrderAttachment:
    """A file the reader may see; the same refusal whether it is missing or not theirs (an id
    guessed one past a real one learns nothing)."""
    attachment = (
        OrderAttachment.objects.filter(
            Q(hold__isnull=True, order__in=orders_for_user(user)) | Q(hold__in=holds_for_user(user))
        )
        .filter(pk=attachment_id)
        .first()
    )
    if attachment is None:
        raise PermissionDenied(
            "File not found or not yours to open.", {"attachment_id": attachment_id}
        )
    return attachment


def may_see_hold(user: UserLike, hold: Hold) -> bool:
    return holds_for_user(user).filter(pk=hold.pk).exists()


def may_see_order(user: UserLike, order: Order) -> bool:
    return orders_for_user(user).filter(pk=order.pk).exists()
