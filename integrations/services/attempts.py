"""One attempt at an inbound message: its row claimed or locked, and its outcome recorded (state,
attempt counts, error) with the history author and reason; shared by every stream's handler."""

from django.utils import timezone

from core.roles import get_system_user

from ..models import InboundMessage, InboundState

#: The states of a message still to apply (a failed one is retried).
WAITING = (InboundState.RECEIVED, InboundState.FAILED)


def finish(message: InboundMessage, *, error: str | None, dead: bool = False, actor=None) -> None:
    """Record the attempt's outcome and save it, with its history row."""
    mark(message, error=error, dead=dead, actor=actor)
    message.save()


#: The columns mark() changes, for a batch's single bulk update.
MARKED_FIELDS = ["state", "attempts", "unfinished_attempts", "processed_at", "last_error"]


def mark(
    message: InboundMessage, *, error: str | None, dead: bool = False, actor=None, at=None
) -> None:
    """The outcome of an attempt on the message, with its history author and reason; unsaved."""
    actor = actor or get_system_user()
    message.attempts += 1
    message.unfinished_attempts = 0
    if error is None:
        message.mark_processed(at=at or timezone.now())
        reason = "Applied"
    elif dead:
        message.mark_dead(error=error)
        reason = f"Dead letter: {error}"
    else:
        message.mark_failed(error=error)
        reason = f"Will retry: {error}"
    message._history_user = actor
    message._change_reason = reason[:1000]


def locked(message: InboundMessage) -> InboundMessage:
    """The message locked for this transaction, waiting for another worker to let go: for an
    outcome that must be recorded, such as a failure."""
    return InboundMessage.objects.select_for_update().get(pk=message.pk)


def claimed(message: InboundMessage) -> InboundMessage | None:
    """The message locked for this transaction, or None while another worker holds it: workers
    sharing a stream split its messages instead of queueing behind each other's locks."""
    # of=self: without it the joined connector row is locked too, and SKIP LOCKED then skips
    # every message of the connector while one worker is applying any of them
    return (
        InboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(pk=message.pk)
        .select_related("connector")
        .first()
    )
