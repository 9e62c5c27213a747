"""Mail and chat messages that arrive: each is a ``Delivery`` row written in the transaction that
caused it, sent by a Celery task after commit, retried with backoff, and marked failed (with an
integration alert, through ``delivery_failed``) after its last attempt. A beat sweep re-enqueues
a row whose hand-off was lost; a row already sent is never sent again."""

import hashlib
import logging
import random
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.dispatch import Signal
from django.utils import timezone

from .models import Delivery, DeliveryChannel, DeliveryStatus

#: Sent inside the transaction that marks a delivery failed (kwargs: ``delivery``), so whatever a
#: receiver records (the integrations app raises an alert) commits with it or not at all.
delivery_failed = Signal()

#: A pending row this long past its due time lost its task (a worker died, the broker dropped it,
#: the hand-off after commit never ran): the sweep enqueues it again.
SWEEP_GRACE = timedelta(minutes=5)
#: The longest wait between two tries: well below the broker's visibility timeout (1 h).
RETRY_CAP_SECONDS = 900


def chat_channel_id(url: str) -> str:
    """A chat channel's name in a delivery row: its scheme and a digest of the URL, never the URL
    itself (it carries the webhook's secret)."""
    scheme = url.split("://", 1)[0]
    return f"{scheme}:{hashlib.sha256(url.encode()).hexdigest()[:12]}"


def _hand_off(deliveries: list[Delivery]) -> None:
    from .tasks import delivery_send_task  # noqa: PLC0415 - the task module imports this one

    for delivery in deliveries:
        delivery_send_task.delay_on_commit(delivery.pk)


def deliveries_enqueue(deliveries: list[Delivery]) -> list[Delivery]:
    """Write these unsaved deliveries in the caller's transaction; each is handed to its task once
    the caller commits (and never if it rolls back)."""
    now = timezone.now()
    for delivery in deliveries:
        delivery.created_at = delivery.next_attempt_at = now
    created = Delivery.objects.bulk_create(deliveries)
    _hand_off(created)
    return created


def mail_message(*, to: str, subject: str, body: str, kind: str = "", user=None) -> Delivery:
    """An unsaved email delivery, for ``deliveries_enqueue``."""
    return Delivery(
        channel=DeliveryChannel.EMAIL,
        address=to,
        user=user,
        kind=kind,
        subject=subject[:200],
        body=body,
    )


def mail_enqueue(*, to: str, subject: str, body: str, kind: str = "", user=None) -> Delivery:
    """One email, sent after the caller commits."""
    (delivery,) = deliveries_enqueue(
        [mail_message(to=to, subject=subject, body=body, kind=kind, user=user)]
    )
    return delivery


def mail_enqueue_once(*, key: str, to: str, subject: str, body: str, kind: str, user=None):
    """An email that must exist once under ``key`` (a person's digest of a day): a second call
    with the same key writes and sends nothing, and returns None."""
    delivery = mail_message(to=to, subject=subject, body=body, kind=kind, user=user)
    delivery.key = key
    delivery.created_at = delivery.next_attempt_at = timezone.now()
    # The unique key decides under concurrency: of two runs at once, one inserts, one conflicts.
    created = Delivery.objects.bulk_create([delivery], ignore_conflicts=True)
    saved = Delivery.objects.filter(key=key, created_at=delivery.created_at).first()
    if saved is None or not created:
        return None
    _hand_off([saved])
    return saved


def chat_messages(*, subject: str, body: str, kind: str) -> list[Delivery]:
    """Unsaved deliveries of a notice to every configured chat channel, if its kind goes to chat;
    none when O2C_CHAT_URLS is empty (the default)."""
    if kind not in settings.O2C_CHAT_KINDS:
        return []
    return [
        Delivery(
            channel=DeliveryChannel.CHAT,
            address=chat_channel_id(url),
            kind=kind,
            subject=subject[:200],
            body=body,
        )
        for url in settings.O2C_CHAT_URLS
    ]


def _send_email(delivery: Delivery) -> None:
    EmailMessage(
        subject=delivery.subject,
        body=delivery.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.address],
    ).send(fail_silently=False)


def _send_chat(delivery: Delivery) -> None:
    import apprise  # noqa: PLC0415 - loaded only by a worker that posts to chat

    url = next((u for u in settings.O2C_CHAT_URLS if chat_channel_id(u) == delivery.address), None)
    if url is None:
        raise LookupError(f"Chat channel {delivery.address} is no longer in O2C_CHAT_URLS.")
    channel = apprise.Apprise()
    if not channel.add(url):
        raise ValueError(f"Chat channel {delivery.address}: apprise does not accept its URL.")
    with apprise.LogCapture(level=logging.WARNING) as log:
        if not channel.notify(title=delivery.subject, body=delivery.body):
            raise ConnectionError(log.getvalue().strip() or "the chat service refused the post")


SENDERS = {DeliveryChannel.EMAIL: _send_email, DeliveryChannel.CHAT: _send_chat}


def retry_wait(attempts: int) -> float:
    """Seconds before the next try after ``attempts`` failed ones: doubling from
    O2C_NOTIFY_RETRY_SECONDS, capped, with jitter so a mail outage's retries do not arrive as
    one wave."""
    wait = min(settings.O2C_NOTIFY_RETRY_SECONDS * 2 ** (attempts - 1), RETRY_CAP_SECONDS)
    return wait * random.uniform(0.75, 1.0)  # noqa: S311 - jitter, not a secret


def delivery_send(*, delivery_id: int) -> tuple[str, float]:
    """Try a delivery once. Returns its outcome and, for ``"retry"``, the seconds to wait.

    The row is locked for the try, and only a pending row is sent: a duplicate task (the sweep's,
    or the broker's redelivery) waits, then finds it sent and does nothing; one that cannot get
    the lock at once leaves it to the holder. If a worker dies after the server accepted the mail
    but before the commit, the row is still pending and is sent again: at least once, never
    silently not at all."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update(skip_locked=True).filter(pk=delivery_id)
        delivery = delivery.first()
        if delivery is None:
            return "busy", 0
        if delivery.status != DeliveryStatus.PENDING:
            return delivery.status, 0
        now = timezone.now()
        delivery.attempts += 1
        delivery.last_attempt_at = now
        try:
            SENDERS[delivery.channel](delivery)
        except Exception as exc:  # noqa: BLE001 - any failure of a mail or chat server is retried, then recorded
            delivery.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if delivery.attempts >= settings.O2C_NOTIFY_MAX_ATTEMPTS:
                delivery.status = DeliveryStatus.FAILED
                delivery.next_attempt_at = None
                delivery.save()
                delivery_failed.send(sender=Delivery, delivery=delivery)
                return "failed", 0
            wait = retry_wait(delivery.attempts)
            delivery.next_attempt_at = now + timedelta(seconds=wait)
            delivery.save()
            return "retry", wait
        delivery.status = DeliveryStatus.SENT
        delivery.sent_at = now
        delivery.next_attempt_at = None
        delivery.save()
        return "sent", 0


def deliveries_sweep(*, now=None, limit: int = 1000) -> int:
    """Beat task body: enqueue again each pending delivery long past its due time. Sending is
    guarded by the row's status, so a row whose task was only late is still sent once."""
    from .tasks import delivery_send_task  # noqa: PLC0415 - the task module imports this one

    now = now or timezone.now()
    stale = Delivery.objects.filter(
        status=DeliveryStatus.PENDING, next_attempt_at__lt=now - SWEEP_GRACE
    ).order_by("next_attempt_at")
    ids = list(stale.values_list("pk", flat=True)[:limit])
    for delivery_id in ids:
        delivery_send_task.apply_async(args=[delivery_id])
    return len(ids)


@transaction.atomic
def deliveries_retry(*, delivery_ids: list[int]) -> int:
    """An operator sends failed deliveries again (after fixing the mail server or a chat URL):
    each starts over with a fresh count of attempts."""
    retried = []
    for delivery in Delivery.objects.select_for_update().filter(
        pk__in=delivery_ids, status=DeliveryStatus.FAILED
    ):
        delivery.status = DeliveryStatus.PENDING
        delivery.attempts = 0
        delivery.next_attempt_at = timezone.now()
        delivery.save()
        retried.append(delivery)
    _hand_off(retried)
    return len(retried)
