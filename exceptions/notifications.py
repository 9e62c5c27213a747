"""In-app and email notices to a role's people (the managers, when a hold or a case escalates), or
to chosen people (customer service, of an order likely to ship late; a colleague mentioned in a
note)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from core.roles import Role

from .models import Hold, Notification


def notify_users(role: str, message: str, *, hold: Hold | None = None) -> int:
    """Notify every active user of ``role`` in the app, and by mail once the caller commits."""
    people = list(get_user_model().objects.filter(groups__name=role, is_active=True))
    return notify_people(people, message, hold=hold)


def notify_people(people: list, message: str, *, hold: Hold | None = None, order=None) -> int:
    """Notify these people in the app (linked to ``hold`` or ``order``), and by mail once the
    caller commits."""
    now = timezone.now()
    Notification.objects.bulk_create(
        [
            Notification(user=p, hold=hold, order=order, message=message[:300], created_at=now)
            for p in people
        ]
    )
    mails = [
        (f"[o2c] {message[:120]}", message, settings.DEFAULT_FROM_EMAIL, [p.email])
        for p in people
        if p.email
    ]
    if mails:
        # Mail only once the escalation is committed, and never let a mail outage undo it.
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True))
    return len(people)


def notify_managers(hold: Hold, message: str) -> None:
    notify_users(Role.MANAGER, message, hold=hold)
