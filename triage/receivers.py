"""Outcomes: when a person decides a hold a model scored, the latest prediction records what they
did, who, when, and whether it followed a recommendation they were shown."""

from django.dispatch import receiver

from exceptions.models import HoldState
from exceptions.signals import hold_closed

from .models import Prediction


@receiver(hold_closed, dispatch_uid="triage_hold_outcome")
def record_outcome(sender, *, hold, **kwargs) -> None:
    latest = (
        Prediction.objects.filter(subject="hold", subject_id=hold.pk, outcome="")
        .order_by("-made_at", "-pk")
        .first()
    )
    if latest is None:
        return
    outcome = "release" if hold.state == HoldState.RELEASED else "reject"
    Prediction.objects.filter(pk=latest.pk).update(
        outcome=outcome,
        followed=(latest.label == outcome) if latest.shown else None,
        decided_by_id=hold.resolved_by_id,
        decided_at=hold.resolved_at,
    )
