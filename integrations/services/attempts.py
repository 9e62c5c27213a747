"""One attempt at an inbound message: its row claimed or locked, and its outcome recorded (state,
attempt counts, error) with the history author and reason; shared by every stream's handler."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from core.roles import get_system_user

from ..models import PARKED, InboundMessage, InboundState

#: The states of a message still to apply (a failed one is retried).
WAITING = (InboundState.RECEIVED, InboundState.FAILED)


def finish(
    message: InboundMessage,
    *,
    error: str | None,
    dead: bool = False,
    parked: bool = False,
    actor=None,
) -> None:
    """Record the attempt's outcome and save it, with its history row. A parked message checked
    again with nothing new (same reason) is bookkeeping: saved without a history row, so four
    hours of checks every run are one row in its history, not hundreds. Only the outcome's
    columns are written: the payload never changes, and writing it back re-encoded a bank
    file's whole content, and rewrote it in the table, at every attempt."""
    unchanged = parked and message.waiting and message.last_error == _parked_reason(error)
    mark(message, error=error, dead=dead, parked=parked, actor=actor)
    if unchanged:
        message.save_without_historical_record(update_fields=MARKED_FIELDS)
    else:
        message.save(update_fields=MARKED_FIELDS)


#: The columns mark() changes, for a batch's single bulk update.
MARKED_FIELDS = [
    "state",
    "attempts",
    "unfinished_attempts",
    "parked_since",
    "park_checks",
    "processed_at",
    "last_error",
]


def mark(
    message: InboundMessage,
    *,
    error: str | None,
    dead: bool = False,
    parked: bool = False,
    actor=None,
    at=None,
) -> None:
    """The outcome of an attempt on the message, with its history author and reason; unsaved.

    ``parked``: the message cannot apply yet because what it refers to is not there (its order,
    its shipment). That is a wait, not a failure: it counts a check and starts the waiting clock
    (``park_overdue``), and leaves ``attempts``, which the poison limit reads, alone."""
    actor = actor or get_system_user()
    at = at or timezone.now()
    message.unfinished_attempts = 0
    if parked and error is not None and not dead:
        message.park_checks += 1
        if message.parked_since is None:
            message.parked_since = at
        message.mark_failed(error=_parked_reason(error))
        reason = f"Waiting: {message.last_error}"
    elif error is None:
        message.attempts += 1
        message.mark_processed(at=at)
        reason = "Applied"
    elif dead:
        message.attempts += 1
        message.mark_dead(error=error)
        reason = f"Dead letter: {error}"
    else:
        message.attempts += 1
        message.mark_failed(error=error)
        reason = f"Will retry: {error}"
    message._history_user = actor
    message._change_reason = reason[:1000]


def _parked_reason(error: str | None) -> str:
    error = error or ""
    return error if error.startswith(PARKED) else PARKED + error


def waited(message: InboundMessage, *, now=None) -> timedelta:
    """How long the message has waited for what it refers to; nothing if it never had to."""
    if message.parked_since is None:
        return timedelta(0)
    return (now or timezone.now()) - message.parked_since


def park_overdue(message: InboundMessage, *, now=None) -> bool:
    """Waited longer than O2C_PARK_HOURS: its wait ends in a hold or a dead letter. Counted from
    the first time it had to wait, not from its arrival nor by its checks, so a message checked
    every run and one checked hourly wait alike."""
    return waited(message, now=now) > timedelta(hours=settings.O2C_PARK_HOURS)


def locked(message: InboundMessage) -> InboundMessage:
    """The message locked for this transaction, waiting for another worker to let go: for an
    outcome that must be recorded, such as a failure."""
    return InboundMessage.objects.select_for_update().get(pk=message.pk)


def claimed(message: InboundMessage, *, payload: bool = True) -> InboundMessage | None:
    """The message locked for this transaction, or None while another worker holds it: workers
    sharing a stream split its messages instead of queueing behind each other's locks.
    ``payload=False``: without it (a bank file's content is read and decoded only to apply it)."""
    # of=self: without it the joined connector row is locked too, and SKIP LOCKED then skips
    # every message of the connector while one worker is applying any of them
    found = (
        InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=message.pk)
        .select_related("connector")
    )
    return (found if payload else found.defer("payload")).first()
