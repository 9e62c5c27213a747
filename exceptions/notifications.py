"""In-app and email notices to the managers when a hold escalates."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import transaction
from django.utils import timezone

from core.roles import Role

from .models import Hold, Notification


def notify_managers(hold: Hold, message: str) -> None:
    managers = list(get_user_model().objects.filter(groups__name=Role.MANAGER, is_active=True))
    now = timezone.now()
    Notification.objects.bulk_create(
        [Notification(user=m, hold=hold, message=message, created_at=now) for m in managers]
    )
    mails = [
        (f"[o2c] {message[:120]}", message, settings.DEFAULT_FROM_EMAIL, [m.email])
        for m in managers
        if m.email
    ]
    if mails:
        # Mail only once the escalation is committed, and never let a mail outage undo it.
        transaction.on_commit(lambda: send_mass_mail(mails, fail_silently=True))
