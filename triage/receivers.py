"""Outcomes: when a person decides a hold a model scored, the latest prediction records what they
did, who, when, and whether it followed a recommendation they were shown (a call: an uncertain
score recommends nothing). A hold cleared because its cause went away, or released by a model, has
no outcome; a model's release that a person undoes marks its prediction "undone"."""

from django.dispatch import receiver

from exceptions.models import Hold, HoldState
from exceptions.models.hold import MODEL_RELEASE
from exceptions.signals import hold_closed, hold_reinstated

from .hold_outcome import CLEARED
from .models import Prediction
from .order_anomaly import ANOMALY_REASONS


@receiver(hold_closed, dispatch_uid="triage_hold_outcome")
def record_outcome(sender, *, hold, **kwargs) -> None:
    if hold.suggestion:  # a closed hold shows no recommendation, anywhere
        Hold.objects.filter(pk=hold.pk).update(suggestion={})
        hold.suggestion = {}  # nor writes one back if the service saves it again
    if hold.resolution_code in (CLEARED, MODEL_RELEASE):
        # its cause went away, or a model released it: nobody decided, so no outcome yet (a
        # model's release a person undoes is decided by a person later, and counted then)
        return
    latest = (
        Prediction.objects.filter(subject="hold", subject_id=hold.pk, outcome="")
        .order_by("-made_at", "-pk")
        .first()
    )
    if latest is None:
        return
    outcome = "release" if hold.state == HoldState.RELEASED else "reject"
    called = latest.shown and latest.label in ("release", "reject")
    Prediction.objects.filter(pk=latest.pk).update(
        outcome=outcome,
        followed=(latest.label == outcome) if called else None,
        decided_by_id=hold.resolved_by_id,
        decided_at=hold.resolved_at,
    )


@receiver(hold_closed, dispatch_uid="triage_order_anomaly_outcome")
def record_anomaly_outcome(sender, *, hold, **kwargs) -> None:
    """A person decided an anomaly hold: the order's latest anomaly prediction records whether
    they found it truly unusual (rejected) or not (released)."""
    if hold.resolution_code in (CLEARED, MODEL_RELEASE) or hold.reason.code not in ANOMALY_REASONS:
        return
    latest = (
        Prediction.objects.filter(subject="order", subject_id=hold.order_id, outcome="")
        .order_by("-made_at", "-pk")
        .first()
    )
    if latest is None:
        return
    outcome = "anomaly" if hold.state == HoldState.REJECTED else "usual"
    Prediction.objects.filter(pk=latest.pk).update(
        outcome=outcome,
        followed=(latest.label == outcome) if latest.shown else None,
        decided_by_id=hold.resolved_by_id,
        decided_at=hold.resolved_at,
    )


@receiver(hold_reinstated, dispatch_uid="triage_release_undone")
def record_undo(sender, *, hold, actor, **kwargs) -> None:
    """A person undid a model's release: its prediction says so, and no model releases the hold
    automatically again (``scoring.holds_act``)."""
    from exceptions.services.locking import who

    Prediction.objects.filter(subject="hold", subject_id=hold.pk, action="released").update(
        action="undone", action_note=f"Undone by {who(actor)}"
    )
