"""Integration alerts: raised by the desk when something needs an integration admin (a notice not
delivered after all its tries), one open alert per kind and subject counting repeats, resolved by
a person (the worker watch raises and resolves its own: integrations.workers.services)."""

from django.db import transaction
from django.utils import timezone

from core.errors import Conflict

from ..models import IntegrationAlert


@transaction.atomic
def alert_raise(*, kind: str, message: str, subject: str = "") -> IntegrationAlert:
    """Raise an alert of ``kind`` about ``subject``, or count one more on the open one. Runs in
    the caller's transaction, so the alert commits with what caused it."""
    now = timezone.now()
    open_ = IntegrationAlert.objects.select_for_update().filter(resolved_at=None)
    alert = open_.filter(kind=kind, subject=subject).first()
    if alert is None:
        # Two raisers at once: the partial unique index lets one insert; the other counts on it.
        with transaction.atomic():
            alert, created = IntegrationAlert.objects.get_or_create(
                kind=kind,
                subject=subject,
                resolved_at=None,
                defaults={"message": message[:500], "raised_at": now, "last_raised_at": now},
            )
        if created:
            return alert
        alert = IntegrationAlert.objects.select_for_update().get(pk=alert.pk)
    alert.count += 1
    alert.message = message[:500]
    alert.last_raised_at = now
    alert.save(update_fields=["count", "message", "last_raised_at"])
    return alert


@transaction.atomic
def alert_resolve(*, alert_id: int, actor) -> IntegrationAlert:
    alert = IntegrationAlert.objects.select_for_update().filter(pk=alert_id).first()
    if alert is None:
        raise Conflict("No such alert.")
    if alert.resolved_at is not None:
        who = alert.resolved_by.get_username() if alert.resolved_by else "someone"
        raise Conflict(
            f"Already resolved by {who} at {alert.resolved_at:%Y-%m-%d %H:%M}; nothing was changed."
        )
    alert.resolved_at, alert.resolved_by = timezone.now(), actor
    alert.save(update_fields=["resolved_at", "resolved_by"])
    return alert
