"""Saving a business record the audited way: its history row names who and why, and a stale copy
of a state machine (someone moved it meanwhile) is refused as a conflict, not saved over."""

from django_fsm import ConcurrentTransition

from .errors import Conflict

#: History options of the records the import writes in bulk (orders, their lines, holds, inbox
#: messages): no foreign-key constraint on a history row's author. Its check was a lookup of the
#: user for every history row, eleven an imported order, and measured ~20 µs of PostgreSQL time
#: an order; the authors are signed-in users or the system user, and Django still applies
#: on_delete (SET_NULL) to them when a user is deleted.
BULK_HISTORY = {"user_db_constraint": False}


def save_audited(obj, *, actor, reason: str, conflict: str):
    """Save ``obj`` with ``actor`` and ``reason`` on its history row; ``conflict`` is the message
    a person sees when someone else changed it first (reload and retry)."""
    obj._history_user = actor
    obj._change_reason = reason
    try:
        obj.save()
    except ConcurrentTransition as exc:
        raise Conflict(conflict) from exc
    return obj
