"""Saving a business record the audited way: its history row names who and why, and a stale copy
of a state machine (someone moved it meanwhile) is refused as a conflict, not saved over."""

from django_fsm import ConcurrentTransition

from .errors import Conflict


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
