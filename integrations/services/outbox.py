"""The outbox: rows written in the business transaction, relayed to the target after commit."""

from django.db import transaction
from django.utils import timezone

from o2c.errors import TransientError
from orders.roles import get_system_user

from ..client import PermanentError, post
from ..models import Connector, OutboundMessage, OutboundState

MAX_ATTEMPTS = 8


def outbox_enqueue_release(*, order) -> OutboundMessage | None:
    """Called inside the transaction that releases the order: the instruction to the WMS commits
    (or rolls back) with the release itself."""
    wms = Connector.objects.filter(kind=Connector.Kind.WMS, enabled=True).order_by("pk").first()
    if wms is None:
        return None
    message, created = OutboundMessage.objects.get_or_create(
        key=f"release:{order.number}",
        defaults={
            "connector": wms,
            "topic": "order_release",
            "correlation_id": order.correlation_id,
            "created_at": timezone.now(),
            "payload": {
                "key": f"release:{order.number}",
                "order": order.number,
                "correlation_id": str(order.correlation_id),
                "lines": [
                    {
                        "line": line.line_number,
                        "sku": line.item.sku,
                        "quantity": str(line.ordered_qty),
                    }
                    for line in order.lines.select_related("item").filter(cancelled=False)
                ],
            },
        },
    )
    if created:
        from ..tasks import outbox_relay_task

        outbox_relay_task.delay_on_commit()
    return message


def outbox_relay(*, limit: int = 100) -> dict[str, int]:
    """Send pending messages; each is locked while sent, so two relays never send one twice at once.
    The target deduplicates on the key, so a send repeated after a crash is harmless."""
    counts = {"sent": 0, "failed": 0, "dead": 0}
    system = get_system_user()
    ids = list(
        OutboundMessage.objects.filter(state__in=[OutboundState.PENDING, OutboundState.FAILED])
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in ids:
        with transaction.atomic():
            message = (
                OutboundMessage.objects.select_for_update(skip_locked=True)
                .select_related("connector")
                .filter(pk=pk, state__in=[OutboundState.PENDING, OutboundState.FAILED])
                .first()
            )
            if message is None:
                continue
            message.attempts += 1
            try:
                post(message.connector, "wms/releases", message.payload)
            except TransientError as exc:
                if message.attempts >= MAX_ATTEMPTS:
                    message.mark_dead(error=f"gave up after {message.attempts} attempts: {exc}")
                    counts["dead"] += 1
                else:
                    message.mark_failed(error=str(exc))
                    counts["failed"] += 1
            except PermanentError as exc:
                message.mark_dead(error=str(exc))
                counts["dead"] += 1
            else:
                message.mark_sent(at=timezone.now())
                counts["sent"] += 1
            message._history_user = system
            message._change_reason = (
                f"Relay attempt {message.attempts}: {message.get_state_display()}"
            )
            message.save()
    return counts
