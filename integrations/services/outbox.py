"""The outbox: rows written in the business transaction, relayed to the target after commit.

Topics: an order release, an amendment's change, a cancellation and a return to expect go to
the WMS (an answer "already shipped" to a change or cancel holds the order for customer
service); an invoice
release and a credit memo go to the ERP, whose answer posts the invoice (or, refused, raises a
billing hold for finance); cash applied (to invoices and on account), its reversals and
write-offs go to the ERP too, whose answer posts the payment.
"""

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from billing.selectors import invoice_lines_with_orders
from billing.services import invoice_mark_posted, invoice_record_posting_refusal
from core.errors import TransientError, require_reason
from core.pgcopy import copy_create, copy_history
from core.roles import get_system_user
from exceptions.models import ACTIVE_STATES, Hold
from orders.extensions import blocking_reasons
from orders.lifecycle import Step
from orders.models import Order, OrderState
from receivables.services import payment_mark_posted

from ..client import PermanentError, post
from ..models import Connector, OutboundMessage, OutboundState

MAX_ATTEMPTS = 8
K = Connector.Kind
#: topic -> (the kind of system it goes to, the path it is posted to)
TOPICS = {
    "order_release": (K.WMS, "wms/releases"),
    "order_change": (K.WMS, "wms/changes"),
    "order_cancel": (K.WMS, "wms/cancellations"),
    "return_expected": (K.WMS, "wms/returns"),
    "invoice_release": (K.ERP, "erp/invoices"),
    "credit_memo": (K.ERP, "erp/credit-memos"),
    "cash_application": (K.ERP, "erp/cash-applications"),
    "cash_reversal": (K.ERP, "erp/cash-reversals"),
    "write_off": (K.ERP, "erp/write-offs"),
    "edi": (K.EDI, ""),  # an X12 interchange: to the partner's folder or endpoint (edi.transport)
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


def _open_lines(order) -> list[dict]:
    return [
        {"line": line.line_number, "sku": line.item.sku, "quantity": str(line.ordered_qty)}
        for line in order.lines.select_related("item").filter(cancelled=False)
    ]


def _wms_instructions(order) -> tuple[int, int]:
    """(release instructions, cancel instructions) written for the order so far. The WMS holds a
    live release while there are more releases than cancels; the keys of the next ones follow
    from these counts, so each is written exactly once (the order row is locked by the caller)."""
    number = order.number
    keys = OutboundMessage.objects.filter(
        Q(key=f"release:{number}")
        | Q(key__startswith=f"release:{number}:")
        | Q(key__startswith=f"cancel:{number}:")
    ).values_list("key", flat=True)
    releases = sum(1 for key in keys if key.startswith("release:"))
    return releases, len(keys) - releases


def outbox_enqueue_release(*, order) -> OutboundMessage | None:
    """Called inside the transaction that releases the order: the instruction to the WMS commits
    (or rolls back) with the release itself. Once per release: an order released again after
    the WMS was told to cancel (it went back on hold) is released under a new key."""
    _, cancels = _wms_instructions(order)
    # the live release's key while the WMS holds one (get_or_create then returns it)
    key = f"release:{order.number}" + (f":{cancels}" if cancels else "")
    return _enqueue(
        topic="order_release",
        key=key,
        correlation_id=order.correlation_id,
        payload={"order": order.number, "lines": _open_lines(order)},
    )


def outbox_enqueue_change(*, order, changes: list[str]) -> OutboundMessage | None:
    """An amendment of a released order, in the amendment's transaction: the WMS gets the order
    as it now is (every open line, the ship-to, the date) and what changed, once per version
    (its key). Nothing is sent while the WMS holds no live release (the release, when it goes,
    carries the amended order)."""
    releases, cancels = _wms_instructions(order)
    if releases <= cancels:
        return None
    return _enqueue(
        topic="order_change",
        key=f"change:{order.number}:{order.source_version}",
        correlation_id=order.correlation_id,
        payload={
            "order": order.number,
            "version": order.source_version,
            "ship_to": order.ship_to.code if order.ship_to else "",
            "requested_date": order.requested_date.isoformat() if order.requested_date else None,
            "lines": _open_lines(order),
            "changes": changes,
        },
    )


def outbox_enqueue_cancel(*, order, reason: str) -> OutboundMessage | None:
    """The order was cancelled, or went back on hold, after the WMS was told to ship it: the WMS
    is told not to, in the same transaction. Nothing is sent while it holds no live release."""
    releases, cancels = _wms_instructions(order)
    if releases <= cancels:
        return None
    return _enqueue(
        topic="order_cancel",
        key=f"cancel:{order.number}:{cancels + 1}",
        correlation_id=order.correlation_id,
        payload={"order": order.number, "reason": reason},
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


def outbox_enqueue_return(*, rma) -> OutboundMessage | None:
    """The WMS is told to expect a return, in the transaction that authorises it."""
    from cases.returns import return_payload

    return _enqueue(
        topic="return_expected",
        key=f"return:{rma.number}",
        correlation_id=rma.correlation_id,
        payload=return_payload(rma),
    )


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
            "fee": str(credit_memo.fee),
            "total": str(credit_memo.total),
            "reason_code": credit_memo.reason_code,
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


def _cash_application_message(payment, applications, unapplied) -> tuple[str, object, dict]:
    """(key, correlation id, payload) of the ERP's message for one application event: what went
    where, once per event (its key names the rows it made)."""
    made = [f"a{row.pk}" for row in applications] + ([f"u{unapplied.pk}"] if unapplied else [])
    return (
        f"cash:{payment.pk}:{'-'.join(made)}",
        payment.correlation_id,
        {
            "payment_id": payment.pk,
            "bank_reference": payment.bank_reference or payment.entry_reference,
            "value_date": payment.value_date.isoformat(),
            "currency": payment.currency,
            "amount": str(payment.amount),
            "customer": payment.customer.number if payment.customer_id else "",
            "applications": [
                {
                    "invoice": row.invoice.number,
                    "amount": str(row.amount),
                    "discount": str(row.discount),
                    "short": str(row.short_amount),
                    "reason_code": row.short_reason,
                }
                for row in applications
            ],
            "on_account": str(unapplied.amount) if unapplied else "0.00",
        },
    )


def outbox_enqueue_cash_application(*, payment, applications, unapplied) -> OutboundMessage | None:
    """In the transaction that applies the payment: the ERP gets what went where."""
    key, correlation_id, payload = _cash_application_message(payment, applications, unapplied)
    return _enqueue(
        topic="cash_application", key=key, correlation_id=correlation_id, payload=payload
    )


def outbox_enqueue_cash_applications(applied: list[tuple], *, actor=None) -> int:
    """``outbox_enqueue_cash_application`` for a batch of (payment, applications, unapplied), in
    its transaction: the connector looked up once, the rows and their history written by COPY,
    one relay queued. A key already written is not written again. Returns how many were
    written."""
    connector = outbox_recipient("cash_application")
    if connector is None or not applied:
        return 0
    messages = {
        key: (correlation_id, payload)
        for key, correlation_id, payload in (
            _cash_application_message(payment, applications, unapplied)
            for payment, applications, unapplied in applied
        )
    }
    known = set(
        OutboundMessage.objects.filter(key__in=list(messages)).values_list("key", flat=True)
    )
    now = timezone.now()
    rows = [
        OutboundMessage(
            connector=connector,
            topic="cash_application",
            key=key,
            correlation_id=correlation_id,
            created_at=now,
            payload={"key": key, "correlation_id": str(correlation_id), **payload},
        )
        for key, (correlation_id, payload) in messages.items()
        if key not in known
    ]
    if rows:
        copy_create(OutboundMessage, rows)
        copy_history(OutboundMessage, rows, default_user=actor, default_date=now, stored=True)
        from ..tasks import outbox_relay_task

        outbox_relay_task.delay_on_commit()
    return len(rows)


def outbox_enqueue_cash_reversal(*, application) -> OutboundMessage | None:
    return _enqueue(
        topic="cash_reversal",
        key=f"cash-reversal:{application.pk}",
        correlation_id=application.payment.correlation_id,
        payload={
            "payment_id": application.payment_id,
            "invoice": application.invoice.number,
            "amount": str(application.amount),
            "discount": str(application.discount),
            "reason": application.reversal_reason,
        },
    )


def outbox_enqueue_write_off(*, write_off) -> OutboundMessage | None:
    return _enqueue(
        topic="write_off",
        key=f"write-off:{write_off.pk}",
        correlation_id=write_off.invoice.correlation_id,
        payload={
            "invoice": write_off.invoice.number,
            "amount": str(write_off.amount),
            "reason": write_off.reason,
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


#: Instructions the WMS may answer "already shipped": too late for the warehouse.
WMS_CHANGES = {"order_change", "order_cancel"}


def _hold_already_shipped(message: OutboundMessage, answer: dict) -> None:
    """The WMS could not honour a change or cancel: the order shipped as it was. Customer
    service holds it, with the WMS's answer and what was asked, before it is invoiced."""
    from exceptions.services import hold_raise

    order = Order.objects.filter(number=message.payload["order"]).first()
    if order is None:
        return
    hold_raise(
        order_id=order.pk,
        reason_code="CHANGED_AFTER_SHIPMENT",
        context={
            "wms_answer": str(answer.get("message") or "already shipped"),
            "instruction": message.key,
            "difference": message.payload.get("changes")
            or [f"order cancelled: {message.payload.get('reason', '')}"],
        },
    )


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
                if message.topic == "edi":
                    from ..edi.transport import deliver  # edi imports the inbox: not at load

                    answer = deliver(message.payload)
                else:
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
                elif message.topic == "cash_application":
                    payment_mark_posted(payment_id=message.payload["payment_id"])
                elif message.topic in WMS_CHANGES and answer.get("status") == "already_shipped":
                    _hold_already_shipped(message, answer)
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
