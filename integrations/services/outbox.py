"""The outbox: rows written in the business transaction, relayed to the target after commit.

Topics: an order release goes to the WMS; an invoice release and a credit memo go to the ERP,
whose answer posts the invoice (or, refused, raises a billing hold for finance).
"""

from django.db import transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from billing.selectors import invoice_lines_with_orders
from billing.services import invoice_mark_posted, invoice_record_posting_refusal
from core.errors import TransientError
from core.roles import get_system_user
from exceptions.models import ACTIVE_STATES, Hold
from orders.extensions import blocking_reasons
from orders.lifecycle import Step
from orders.models import Order, OrderState

from ..client import PermanentError, post
from ..models import Connector, OutboundMessage, OutboundState

MAX_ATTEMPTS = 8
K = Connector.Kind
#: topic -> (the kind of system it goes to, the path it is posted to)
TOPICS = {
    "order_release": (K.WMS, "wms/releases"),
    "invoice_release": (K.ERP, "erp/invoices"),
    "credit_memo": (K.ERP, "erp/credit-memos"),
}


def outbox_recipient(topic: str) -> Connector | None:
    """The connector a topic's messages go to: the first enabled one of its kind."""
    kind, _ = TOPICS[topic]
    return Connector.objects.filter(kind=kind, enabled=True).order_by("pk").first()


def _enqueue(*, topic: str, key: str, payload: dict, correlation_id) -> OutboundMessage | None:
    """Write the outbox row in the caller's transaction; the relay runs after it commits. With no
    enabled connector of the right kind there is nobody to tell, and nothing is written."""
    connector = outbox_recipient(topic)
    if connector is None:
        return None
    message, created = OutboundMessage.objects.get_or_create(
        key=key,
        defaults={
            "connector": connector,
            "topic": topic,
            "correlation_id": correlation_id,
            "created_at": timezone.now(),
            "payload": {"key": key, "correlation_id": str(correlation_id), **payload},
        },
    )
    if created:
        from ..tasks import outbox_relay_task

        outbox_relay_task.delay_on_commit()
    return message


def outbox_enqueue_release(*, order) -> OutboundMessage | None:
    """Called inside the transaction that releases the order: the instruction to the WMS commits
    (or rolls back) with the release itself."""
    return _enqueue(
        topic="order_release",
        key=f"release:{order.number}",
        correlation_id=order.correlation_id,
        payload={
            "order": order.number,
            "lines": [
                {"line": line.line_number, "sku": line.item.sku, "quantity": str(line.ordered_qty)}
                for line in order.lines.select_related("item").filter(cancelled=False)
            ],
        },
    )


def outbox_release_if_shippable(*, order_id: int) -> OutboundMessage | None:
    """A hold that blocked shipping closed: a released order with no such hold left is now told
    to the WMS, in the same transaction. Once per order, as every release instruction (its key)."""
    order = Order.objects.filter(pk=order_id, state=OrderState.RELEASED).first()
    if order is None or blocking_reasons(order, Step.SHIP):
        return None
    return outbox_enqueue_release(order=order)


def outbox_enqueue_releases(*, orders, actor) -> int:
    """The batch twin of ``outbox_enqueue_release`` for imported orders, whose lines are in
    memory (``imported_lines``): one insert for the rows and their history, one relay task. An
    order with a hold that blocks shipping is left out: it is told when the hold closes."""
    connector = outbox_recipient("order_release")
    if connector is None or not orders:
        return 0
    now = timezone.now()
    keys = {f"release:{order.number}" for order in orders}
    taken = set(OutboundMessage.objects.filter(key__any=keys).values_list("key", flat=True))
    ship_held = set(
        Hold.objects.filter(
            order_id__any=[order.pk for order in orders],
            blocks=Step.SHIP,
            state__in=ACTIVE_STATES,
        ).values_list("order_id", flat=True)
    )
    rows = []
    for order in orders:
        key = f"release:{order.number}"
        if key in taken or order.pk in ship_held:  # as the per-order path: the instruction
            continue  # stands, or waits for the hold
        rows.append(
            OutboundMessage(
                key=key,
                connector=connector,
                topic="order_release",
                correlation_id=order.correlation_id,
                created_at=now,
                payload={
                    "key": key,
                    "correlation_id": str(order.correlation_id),
                    "order": order.number,
                    "lines": [
                        {
                            "line": line.line_number,
                            "sku": line.item.sku,
                            "quantity": str(line.ordered_qty),
                        }
                        for line in order.imported_lines
                        if not line.cancelled
                    ],
                },
            )
        )
    bulk_create_with_history(rows, OutboundMessage, default_user=actor)
    from ..tasks import outbox_relay_task

    outbox_relay_task.delay_on_commit()
    return len(rows)


def outbox_enqueue_invoice(*, invoice) -> OutboundMessage | None:
    """Called inside the transaction that releases the invoice: the ERP posting goes with it."""
    return _enqueue(
        topic="invoice_release",
        key=f"invoice:{invoice.number}",
        correlation_id=invoice.correlation_id,
        payload={
            "number": invoice.number,
            "customer": invoice.customer.number,
            "issued_on": invoice.issued_on.isoformat(),
            "due_date": invoice.due_date.isoformat(),
            "currency": invoice.currency,
            "subtotal": str(invoice.subtotal),
            "tax": str(invoice.tax_total),
            "total": str(invoice.total),
            "lines": [
                {
                    "line": line.line_number,
                    "order": line.order_line.order.number,
                    "order_line": line.order_line.line_number,
                    "sku": line.order_line.item.sku,
                    "quantity": str(line.quantity),
                    "unit_price": str(line.unit_price),
                    "amount": str(line.amount),
                    "tax": str(line.tax_amount),
                }
                for line in invoice_lines_with_orders(invoice)
            ],
        },
    )


def outbox_enqueue_credit_memo(*, credit_memo) -> OutboundMessage | None:
    return _enqueue(
        topic="credit_memo",
        key=f"credit_memo:{credit_memo.number}",
        correlation_id=credit_memo.correlation_id,
        payload={
            "number": credit_memo.number,
            "invoice": credit_memo.invoice.number,
            "subtotal": str(credit_memo.subtotal),
            "tax": str(credit_memo.tax_total),
            "total": str(credit_memo.total),
            "reason": credit_memo.reason,
            "lines": [
                {
                    "invoice_line": line.invoice_line.line_number,
                    "quantity": str(line.quantity),
                    "amount": str(line.amount),
                    "tax": str(line.tax_amount),
                }
                for line in credit_memo.lines.select_related("invoice_line")
            ],
        },
    )


@transaction.atomic
def outbox_resend_invoices(*, order_id: int, actor, reason: str) -> int:
    """Finance released an ERP-rejection hold: send the order's refused invoices again."""
    from billing.models import Invoice

    numbers = Invoice.objects.filter(lines__order_line__order_id=order_id).values_list(
        "number", flat=True
    )
    resent = 0
    for message in OutboundMessage.objects.select_for_update().filter(
        topic="invoice_release",
        state=OutboundState.DEAD,
        key__in=[f"invoice:{number}" for number in set(numbers)],
    ):
        message.replay()
        message._history_user = actor
        message._change_reason = f"Resent: {reason}"
        message.save()
        resent += 1
    if resent:
        from ..tasks import outbox_relay_task

        outbox_relay_task.delay_on_commit()
    return resent


def _claimed(pk: int) -> OutboundMessage | None:
    """The message, still to send, locked for this transaction; None while another relay has it."""
    # of=self: locking the joined connector row too would make every other relay skip all of
    # that connector's messages meanwhile
    return (
        OutboundMessage.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("connector")
        .filter(pk=pk, state__in=[OutboundState.PENDING, OutboundState.FAILED])
        .first()
    )


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
            message = _claimed(pk)
            if message is None:
                continue
            message.attempts += 1
            answer = None
            try:
                answer = post(message.connector, TOPICS[message.topic][1], message.payload)
            except TransientError as exc:
                if message.attempts >= MAX_ATTEMPTS:
                    message.mark_dead(error=f"gave up after {message.attempts} attempts: {exc}")
                    counts["dead"] += 1
                    if message.topic == "invoice_release":
                        invoice_record_posting_refusal(
                            number=message.payload["number"], error=message.last_error
                        )
                else:
                    message.mark_failed(error=str(exc))
                    counts["failed"] += 1
            except PermanentError as exc:
                message.mark_dead(error=str(exc))
                counts["dead"] += 1
                if message.topic == "invoice_release":
                    invoice_record_posting_refusal(number=message.payload["number"], error=str(exc))
            else:
                message.mark_sent(at=timezone.now())
                counts["sent"] += 1
                if message.topic == "invoice_release":
                    invoice_mark_posted(
                        number=message.payload["number"], reference=str(answer.get("reference", ""))
                    )
            message._history_user = system
            message._change_reason = (
                f"Relay attempt {message.attempts}: {message.get_state_display()}"
            )
            message.save()
    return counts


@transaction.atomic
def outbox_replay(*, actor, message_ids: list[int], reason: str) -> int:
    """Put dead outbound messages back to pending, with who and why in their history, and relay
    them after commit. A reason is required; without one nothing changes. Returns how many were
    dead and are now pending (others are left as they are: a message sent meanwhile stays sent)."""
    from core.errors import require_reason

    reason = require_reason(reason)
    replayed = 0
    for message in OutboundMessage.objects.select_for_update().filter(
        pk__in=message_ids, state=OutboundState.DEAD
    ):
        message.replay()
        message._history_user = actor
        message._change_reason = f"Replayed: {reason}"
        message.save()
        replayed += 1
    if replayed:
        from ..tasks import outbox_relay_task

        outbox_relay_task.delay_on_commit()
    return replayed
