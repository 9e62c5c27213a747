"""Writes of the notes threads: a note on a hold or an order (its @-mentions notified), and a
file attached to either. Each checks the writer may see the hold or order, and refuses bad input
(an empty note, a mention of someone who could not read it, a file of the wrong type or size)
with a clear message, storing nothing."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.audit import save_audited
from core.errors import ApplicationError
from core.mentions import mentioned_colleagues
from core.models import NoticeKind
from core.uploads import NOTE_ATTACHMENT_TYPES, check_upload

from ..models import Hold, OrderAttachment, OrderNote
from ..notes import may_see_hold, may_see_order, order_get_for_notes
from ..notifications import notify_people
from ..selectors import hold_get

#: A note longer than this is a document: attach it instead.
MAX_NOTE_CHARS = 4000
_CONFLICT = "Someone else changed this a moment ago; reload to see it."


def _who(user) -> str:
    return user.get_full_name() or user.get_username()


def _text(text: str) -> str:
    text = (text or "").strip()
    if not text:
        raise ApplicationError("Write something in the note first.", {"field": "text"})
    if len(text) > MAX_NOTE_CHARS:
        raise ApplicationError(
            f"A note holds up to {MAX_NOTE_CHARS:,} characters (this one has {len(text):,}); "
            "attach a longer text as a file.",
            {"field": "text"},
        )
    return text


def _add(*, actor, order, hold: Hold | None, text: str, where: str, can_see) -> OrderNote:
    text = _text(text)
    people = mentioned_colleagues(text, actor=actor, can_see=can_see, where=where)
    # A note only adds a row: nothing of the order or hold changes, so neither is locked (two
    # people writing at once both get their note in).
    note = save_audited(
        OrderNote(order=order, hold=hold, author=actor, text=text, created_at=timezone.now()),
        actor=actor,
        reason="Note added",
        conflict=_CONFLICT,
    )
    note.told = people  # for the writer's confirmation: who was notified
    if people:
        excerpt = text if len(text) <= 160 else f"{text[:157]}..."
        notify_people(
            people,
            f"{_who(actor)} mentioned you on {where}: {excerpt}",
            kind=NoticeKind.MENTION,
            hold=hold,
            order=order,
            actor=actor,
        )
    return note


def _hold_words(hold: Hold) -> str:
    return f"the {hold.reason.code} hold of order {hold.order.number}"


@transaction.atomic
def hold_note_add(*, actor, hold_id: int, text: str) -> OrderNote:
    """A note on a hold the writer may see; each colleague mentioned (who may see it) is told."""
    hold = hold_get(user=actor, hold_id=hold_id)
    return _add(
        actor=actor,
        order=hold.order,
        hold=hold,
        text=text,
        where=_hold_words(hold),
        can_see=lambda user: may_see_hold(user, hold),
    )


@transaction.atomic
def order_note_add(*, actor, order_id: int, text: str) -> OrderNote:
    """A note on an order the writer may open; each colleague mentioned (who may open it) is told."""
    order = order_get_for_notes(user=actor, order_id=order_id)
    return _add(
        actor=actor,
        order=order,
        hold=None,
        text=text,
        where=f"order {order.number}",
        can_see=lambda user: may_see_order(user, order),
    )


def _attach(*, actor, order, hold: Hold | None, upload) -> OrderAttachment:
    checked = check_upload(
        upload,
        allowed=NOTE_ATTACHMENT_TYPES,
        limit=settings.O2C_ATTACHMENT_MAX_BYTES,
        where="notes",
    )
    attachment = OrderAttachment(
        order=order,
        hold=hold,
        name=checked.name,
        size=checked.size,
        sha256=checked.sha256,
        uploaded_by=actor,
        uploaded_at=timezone.now(),
    )
    attachment.file.save(checked.stored_name(), upload, save=False)
    try:
        # the file's name stays in the thread, behind its access check: the timeline, which
        # everyone who opens the order reads, says only that a file came
        save_audited(
            attachment,
            actor=actor,
            reason=f"File attached ({checked.size:,} bytes)",
            conflict=_CONFLICT,
        )
    except Exception:
        # no row points at the file: remove it (a rollback after this returns leaves an
        # unlinked file behind, which nothing can reach)
        attachment.file.storage.delete(attachment.file.name)
        raise
    return attachment


@transaction.atomic
def hold_attach(*, actor, hold_id: int, upload) -> OrderAttachment:
    hold = hold_get(user=actor, hold_id=hold_id)
    return _attach(actor=actor, order=hold.order, hold=hold, upload=upload)


@transaction.atomic
def order_attach(*, actor, order_id: int, upload) -> OrderAttachment:
    order = order_get_for_notes(user=actor, order_id=order_id)
    return _attach(actor=actor, order=order, hold=None, upload=upload)
