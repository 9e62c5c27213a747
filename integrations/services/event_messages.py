"""Events from the warehouse and the carrier: ship confirmations and return receipts (WMS) and
proofs of delivery (TMS), parked while what they refer to is not known yet."""

from django.conf import settings
from django.db import transaction

from core.errors import ApplicationError, Conflict
from orders.models import Order

from ..models import InboundMessage
from .attempts import finish, park_overdue


def shipment_message_apply(message: InboundMessage, record, counts, system) -> None:
    """Apply a WMS ship confirmation. One that arrives before its order is released (or known) is
    parked and checked again on every run; after waiting O2C_PARK_HOURS it raises a hold in the
    integration queue, or, for an order o2c never heard of, becomes a dead letter. Waiting is
    not failing: its checks are counted apart from its attempts (``attempts.mark``)."""
    from billing.models import Shipment
    from billing.services import SHIPPABLE, shipment_record
    from exceptions.services import hold_raise

    order = Order.objects.filter(number=record.order).first()
    if order is None or order.state not in SHIPPABLE:
        # A confirmation already recorded (sent again, or as a new version) is a repeat, however
        # far its order has moved on since; only an unknown one waits for its order. (A shippable
        # order's repeat is found by shipment_record, so the hot path reads nothing more.)
        if Shipment.objects.filter(
            source_system=message.connector.name, external_id=record.external_id
        ).exists():
            finish(message, error=None, actor=system)
            counts["processed"] += 1
            return
        overdue = park_overdue(message)
        what = f"order “{record.order}” " + (
            "is unknown" if order is None else f"is {order.get_state_display().lower()}"
        )
        if overdue and order is None:
            finish(
                message,
                error=f"order: {what} after {settings.O2C_PARK_HOURS} h",
                dead=True,
                actor=system,
            )
            counts["dead"] += 1
            return
        if overdue:
            hold_raise(
                order_id=order.pk,
                reason_code="SHIPMENT_UNMATCHED",
                actor=system,
                context={
                    "shipment": record.external_id,
                    "order_state": order.state,
                    "waiting_since": message.parked_since.isoformat(),
                },
            )
        finish(message, error=f"parked: {what}; retrying", parked=True, actor=system)
        counts["parked"] += 1
        return
    lines = {line.line_number: line for line in order.lines.all()}
    unknown = [line.line for line in record.lines if line.line not in lines]
    if unknown:
        finish(
            message,
            error=f"lines.line: {unknown} not on order {order.number}",
            dead=True,
            actor=system,
        )
        counts["dead"] += 1
        return
    try:
        with transaction.atomic():
            shipment_record(
                actor=system,
                order_id=order.pk,
                source=message.connector.name,
                external_id=record.external_id,
                quantities={lines[line.line].pk: line.quantity for line in record.lines},
                shipped_at=record.shipped_at,
                warehouse_code=record.warehouse,
                carrier=record.carrier,
                tracking_number=record.tracking,
                correlation_id=order.correlation_id,
            )
    except ApplicationError as exc:  # the order cannot take it yet: a wait, with the same limit
        if park_overdue(message):
            finish(
                message,
                error=f"order: {exc.message} after {settings.O2C_PARK_HOURS} h",
                dead=True,
                actor=system,
            )
            counts["dead"] += 1
            return
        finish(message, error=f"parked: {exc.message}; retrying", parked=True, actor=system)
        counts["parked"] += 1
        return
    finish(message, error=None, actor=system)
    counts["processed"] += 1


def delivery_message_apply(message: InboundMessage, record, counts, system) -> None:
    """Proof of delivery from the TMS; one for a shipment not yet known is parked, and after
    waiting O2C_PARK_HOURS dead-lettered."""
    from billing.models import Shipment
    from billing.services import shipment_deliver

    shipment = Shipment.objects.filter(external_id=record.shipment).first()
    if shipment is None:
        overdue = park_overdue(message)
        what = f"shipment “{record.shipment}” is unknown"
        finish(
            message,
            error=f"shipment: {what} after {settings.O2C_PARK_HOURS} h"
            if overdue
            else f"parked: {what}; retrying",
            dead=overdue,
            parked=not overdue,
            actor=system,
        )
        counts["dead" if overdue else "parked"] += 1
        return
    shipment_deliver(
        actor=system,
        source=shipment.source_system,
        external_id=shipment.external_id,
        delivered_at=record.delivered_at,
        signed_by=record.signed_by,
    )
    finish(message, error=None, actor=system)
    counts["processed"] += 1


def receipt_message_apply(message: InboundMessage, record, counts, system) -> None:
    """The WMS received a return: the inspected quantities are credited (or refused) by
    ``cases.returns.return_receive``. A receipt for a return o2c does not know is parked, and
    dead-lettered after O2C_PARK_HOURS; one that contradicts the return (another receipt of it,
    a line it does not have) is a dead letter naming why."""
    from cases.models import ReturnAuthorisation
    from cases.returns import return_receive

    if not ReturnAuthorisation.objects.filter(number=record.rma).exists():
        overdue = park_overdue(message)
        what = f"return “{record.rma}” is unknown"
        finish(
            message,
            error=f"rma: {what} after {settings.O2C_PARK_HOURS} h"
            if overdue
            else f"parked: {what}; retrying",
            dead=overdue,
            parked=not overdue,
            actor=system,
        )
        counts["dead" if overdue else "parked"] += 1
        return
    try:
        with transaction.atomic():
            return_receive(
                actor=system,
                number=record.rma,
                receipt_id=record.external_id,
                lines={line.line: (line.received, line.damaged) for line in record.lines},
            )
    except (ApplicationError, Conflict) as exc:
        finish(message, error=f"rma: {exc.message}", dead=True, actor=system)
        counts["dead"] += 1
        return
    finish(message, error=None, actor=system)
    counts["processed"] += 1
