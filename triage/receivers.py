"""Outcomes: when a person decides a hold a model scored, the latest prediction records what they
did, who, when, and whether it followed a recommendation they were shown (a call: an uncertain
score recommends nothing). A hold cleared because its cause went away has no outcome."""

from django.dispatch import receiver

from exceptions.models import Hold, HoldState
from exceptions.signals import hold_closed

from .hold_outcome import CLEARED
from .models import Prediction


@receiver(hold_closed, dispatch_uid="triage_hold_outcome")
def record_outcome(sender, *, hold, **kwargs) -> None:
    if hold.suggestion:  # a closed hold shows no recommendation, anywhere
        Hold.objects.filter(pk=hold.pk).update(suggestion={})
        hold.suggestion = {}  # nor writes one back if the service saves it again
    if hold.resolution_code == CLEARED:
        return  # its cause went away: nobody decided, so there is no outcome to learn from
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
