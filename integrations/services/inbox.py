"""The inbox: store raw messages idempotently, map and apply them, dead-letter what cannot apply."""

import hashlib
import json
import logging
import math
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from o2c.errors import ApplicationError, Conflict, require_reason
from o2c.logs import correlated
from orders import upserts
from orders.imports import OrderImport, orders_import
from orders.models import Order, ShipTo
from orders.roles import get_system_user
from orders.services import LineInput, order_create

from ..mappers import MAPPERS, MappingError
from ..models import Connector, InboundMessage, InboundState

logger = logging.getLogger(__name__)


def payload_hash(payload) -> str:
    """Of the payload as stored, so a raw retry and its stored twin hash alike."""
    storable = _storable(payload, set())
    return hashlib.sha256(json.dumps(storable, sort_keys=True, default=str).encode()).hexdigest()


def _storable(value, problems: set):
    """The record as the database can keep it: JSON has no NaN or Infinity and PostgreSQL text no
    NUL character, so such values are kept as text and named in ``problems`` (the message is then
    born a dead letter: stored, visible, replayable after a fix upstream, never dropped)."""
    if isinstance(value, float) and not math.isfinite(value):
        problems.add(f"{value!r} is not a JSON number")
        return repr(value)
    if isinstance(value, str) and "\x00" in value:
        problems.add("a NUL character in text")
        return value.replace("\x00", "\\u0000")
    if isinstance(value, dict):
        return {_storable(k, problems): _storable(v, problems) for k, v in value.items()}
    if isinstance(value, list):
        return [_storable(v, problems) for v in value]
    return value


def _identity(record) -> tuple[str, int] | None:
    if not isinstance(record, dict):
        return None
    external_id, version = record.get("id"), record.get("version", 1)
    if not isinstance(external_id, (str, int)) or not str(external_id).strip():
        return None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return None
    return str(external_id)[:100], version


@transaction.atomic
def inbox_store(
    *, connector: Connector, stream: str, records: list, key: str | None = None
) -> list[int]:
    """Store raw records; a repeat of (connector, stream, id, version) is ignored. Records with no
    usable identity are kept too, straight as dead letters, so nothing upstream is ever lost.
    ``key`` (a webhook's Idempotency-Key) replaces the record id as the message's identity."""
    now = timezone.now()
    rows, broken = [], []
    for record in records:
        problems = set()
        record = _storable(record, problems)
        identity = _identity(record)
        if identity is not None and key:
            identity = (key[:100], identity[1])
        digest = payload_hash(record)
        if identity is None:
            broken.append(
                InboundMessage(
                    connector=connector,
                    stream=stream,
                    external_id=f"unidentified:{digest[:32]}",
                    version=1,
                    payload=record,
                    payload_hash=digest,
                    received_at=now,
                    last_error="id/version: missing or not valid",
                )
            )
            continue
        message = InboundMessage(
            connector=connector,
            stream=stream,
            external_id=identity[0],
            version=identity[1],
            payload=record,
            payload_hash=digest,
            received_at=now,
        )
        if problems:
            message.last_error = f"payload: {'; '.join(sorted(problems))}"
            broken.append(message)
        else:
            rows.append(message)
    for message in broken:
        message.__dict__["state"] = InboundState.DEAD  # protected field: born a dead letter
    messages = rows + broken
    ids = {m.external_id for m in messages}
    before = set(
        InboundMessage.objects.filter(
            connector=connector, stream=stream, external_id__in=ids
        ).values_list("external_id", "version")
    )
    # INSERT .. ON CONFLICT DO NOTHING: the idempotency key turns repeats into no-ops.
    InboundMessage.objects.bulk_create(messages, ignore_conflicts=True, batch_size=500)
    stored = list(
        InboundMessage.objects.filter(connector=connector, stream=stream, external_id__in=ids)
    )
    # bulk_create writes no history: record the arrival of what this call inserted ("+" rows).
    new = [m for m in stored if (m.external_id, m.version) not in before]
    if new:
        InboundMessage.history.bulk_history_create(
            new,
            default_user=get_system_user(),
            default_change_reason=f"Received from {connector.name}",
            default_date=now,
        )
    keys = {(r.external_id, r.version) for r in rows}
    return [
        m.pk
        for m in stored
        if m.state == InboundState.RECEIVED and (m.external_id, m.version) in keys
    ]


def _finish(message: InboundMessage, *, error: str | None, dead: bool = False, actor=None) -> None:
    _mark(message, error=error, dead=dead, actor=actor)
    message.save()


#: The columns _mark changes, for a batch's single bulk update.
MARKED_FIELDS = ["state", "attempts", "unfinished_attempts", "processed_at", "last_error"]


def _mark(
    message: InboundMessage, *, error: str | None, dead: bool = False, actor=None, at=None
) -> None:
    """The outcome of an attempt on the message, with its history author and reason; unsaved."""
    actor = actor or get_system_user()
    message.attempts += 1
    message.unfinished_attempts = 0
    if error is None:
        message.mark_processed(at=at or timezone.now())
        reason = "Applied"
    elif dead:
        message.mark_dead(error=error)
        reason = f"Dead letter: {error}"
    else:
        message.mark_failed(error=error)
        reason = f"Will retry: {error}"
    message._history_user = actor
    message._change_reason = reason[:1000]


MASTER_UPSERTS = {
    "customers": upserts.customers_upsert,
    "items": upserts.items_upsert,
    "prices": upserts.prices_upsert,
    "ar": upserts.ar_upsert,
    "inventory": upserts.inventory_upsert,
}


def inbox_process(*, connector_id: int, stream: str, limit: int = 1000) -> dict[str, int]:
    """Apply the stream's waiting messages; returns counts by outcome."""
    counts = defaultdict(int)
    messages = list(
        InboundMessage.objects.filter(
            connector_id=connector_id,
            stream=stream,
            state__in=[InboundState.RECEIVED, InboundState.FAILED],
        )
        .select_related("connector")
        .order_by("external_id", "version")[:limit]
    )
    if not messages:
        return counts
    if stream in MASTER_UPSERTS:
        _process_master(messages, stream, counts)
    elif stream == "orders":
        _process_orders(messages, counts)
    elif stream in PER_MESSAGE:
        for message in messages:
            with correlated(message.correlation_id):
                _guarded(stream, message, counts)
    else:
        for message in messages:
            with transaction.atomic():
                _finish(_locked(message), error=f"stream “{stream}” has no mapper yet", dead=True)
            counts["dead"] += 1
    return dict(counts)


def _locked(message: InboundMessage) -> InboundMessage:
    return InboundMessage.objects.select_for_update().get(pk=message.pk)


def _claimed(message: InboundMessage) -> InboundMessage | None:
    """The message locked for this transaction, or None while another worker holds it: workers
    sharing a stream split its messages instead of queueing behind each other's locks."""
    return (
        InboundMessage.objects.select_for_update(skip_locked=True)
        .filter(pk=message.pk)
        .select_related("connector")
        .first()
    )


def _process_master(messages: list[InboundMessage], stream: str, counts) -> None:
    mapper, upsert = MAPPERS[stream], MASTER_UPSERTS[stream]
    system = get_system_user()
    latest: dict[str, InboundMessage] = {}
    mapped = {}
    with transaction.atomic():
        for message in messages:
            message = _locked(message)
            if message.state not in (InboundState.RECEIVED, InboundState.FAILED):
                continue  # another worker finished it meanwhile
            try:
                record = mapper(message.payload)
            except MappingError as exc:
                _finish(message, error=str(exc), dead=True, actor=system)
                counts["dead"] += 1
                continue
            older = latest.get(message.external_id)
            if older is not None:  # an older version in the same batch is superseded, not applied
                _finish(older, error=None, actor=system)
                counts["processed"] += 1
            latest[message.external_id] = message
            mapped[message.external_id] = record
        source = messages[0].connector.name
        rejected = (
            upsert(
                actor=system,
                source=source,
                records=list(mapped.values()),
                reason=f"Imported from {source} {stream}",
            )
            or {}
        )
        for external_id, message in latest.items():
            record = mapped[external_id]
            error = rejected.get(record.external_id)
            _finish(message, error=error, dead=error is not None, actor=system)
            counts["dead" if error else "processed"] += 1


def _process_orders(messages: list[InboundMessage], counts) -> None:
    """Apply order messages set-wise, a chunk per transaction: mapped, validated against master
    data, stored, evaluated and concluded in bulk (``orders.imports``, ``exceptions.intake``).
    A message an earlier attempt left unfinished (its worker died) or that failed before goes
    one at a time through the guarded path, where a poison message is found and dead-lettered
    alone; so does a chunk that fails unexpectedly."""
    one_by_one = [m for m in messages if m.unfinished_attempts or m.state == InboundState.FAILED]
    batch = [m for m in messages if not (m.unfinished_attempts or m.state == InboundState.FAILED)]
    size = settings.O2C_ORDER_CHUNK  # big enough to amortise the fixed reads, short transactions
    for start in range(0, len(batch), size):
        chunk = batch[start : start + size]
        ids = [m.pk for m in chunk]
        # counted before applying, committed on its own (bookkeeping, no history row): if the
        # worker dies in the chunk, the next attempt takes these messages one at a time
        InboundMessage.objects.filter(
            pk__in=ids, state__in=[InboundState.RECEIVED, InboundState.FAILED]
        ).update(unfinished_attempts=F("unfinished_attempts") + 1)
        outcome = defaultdict(int)
        try:
            _apply_orders(ids, outcome)
        except Exception:  # noqa: BLE001 - isolate the bad message instead of failing them all
            logger.exception("An order batch failed; applying its messages one at a time")
            one_by_one += chunk
            continue
        for key, value in outcome.items():
            counts[key] += value
    for message in one_by_one:
        with correlated(message.correlation_id):
            _guarded("orders", message, counts)


@transaction.atomic
def _apply_orders(ids: list[int], counts) -> None:
    from exceptions.intake import orders_evaluate_imported

    from .outbox import outbox_enqueue_releases

    system = get_system_user()
    messages = list(
        InboundMessage.objects.select_for_update(skip_locked=True)  # another worker's are theirs
        .filter(pk__in=ids, state__in=[InboundState.RECEIVED, InboundState.FAILED])
        .select_related("connector")
        .order_by("external_id", "version")
    )
    if not messages:
        return
    source = messages[0].connector.name
    errors: dict[int, str | None] = {}
    imports, messages_of = [], defaultdict(list)
    for message in messages:
        try:
            record = MAPPERS["orders"](message.payload)
        except MappingError as exc:
            errors[message.pk] = str(exc)
            continue
        imports.append(
            OrderImport(
                external_id=record.external_id,
                number=record.number,
                channel=record.channel,
                customer=record.customer,
                ship_to=record.ship_to,
                requested_date=record.requested_date,
                currency=record.currency,
                lines=tuple(
                    LineInput(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
                    for line in record.lines
                ),
                correlation_id=message.correlation_id,
                reason=f"Imported from {source} ({record.channel})",
            )
        )
        messages_of[record.external_id].append(message)
    result = orders_import(actor=system, source=source, records=imports, now=timezone.now())
    released = orders_evaluate_imported(orders=result.created, actor=system)
    outbox_enqueue_releases(orders=released, actor=system)
    for external_id, group in messages_of.items():
        for message in group:
            errors[message.pk] = result.rejected.get(external_id)
    outcomes = defaultdict(list)  # the same outcome, one UPDATE (bulk_update's CASE is slow)
    now = timezone.now()
    for message in messages:
        error = errors[message.pk]
        _mark(message, error=error, dead=error is not None, actor=system, at=now)
        outcomes[tuple(getattr(message, name) for name in MARKED_FIELDS)].append(message.pk)
        counts["dead" if error else "processed"] += 1
    for values, pks in outcomes.items():
        InboundMessage.objects.filter(pk__in=pks).update(
            **dict(zip(MARKED_FIELDS, values, strict=True))
        )
    InboundMessage.history.bulk_history_create(messages, update=True, default_user=system)
    for order in result.created:  # each order's log line carries its message's correlation id
        with correlated(order.correlation_id):
            logger.info("Order %s imported from %s", order.number, source)


def _process_order(message: InboundMessage, record, counts, system) -> None:
    source = message.connector.name
    if Order.objects.filter(source_system=source, external_id=record.external_id).exists():
        _finish(message, error=None, actor=system)  # already applied: a repeat changes nothing
        counts["processed"] += 1
        return
    customer = upserts.resolve_customers(source=source, refs=[record.customer]).get(record.customer)
    if customer is None:
        _finish(message, error=f"customer: unknown “{record.customer}”", dead=True, actor=system)
        counts["dead"] += 1
        return
    ship_to = (
        ShipTo.objects.filter(customer=customer, code=record.ship_to).first()
        if record.ship_to
        else None
    )
    try:
        with transaction.atomic():  # the order and its lines apply whole, or not at all
            order_create(
                actor=system,
                customer_id=customer.pk,
                channel=record.channel,
                lines=[
                    LineInput(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
                    for line in record.lines
                ],
                ship_to_id=ship_to.pk if ship_to else None,
                requested_date=record.requested_date,
                currency=record.currency,
                number=record.number,
                source_system=source,
                external_id=record.external_id,
                correlation_id=message.correlation_id,
                reason=f"Imported from {source} ({record.channel})",
            )
    except Conflict as exc:
        _finish(message, error=exc.message, dead=True, actor=system)
        counts["dead"] += 1
        return
    except ApplicationError as exc:
        _finish(message, error=_field_message(exc), dead=True, actor=system)
        counts["dead"] += 1
        return
    _finish(message, error=None, actor=system)
    logger.info("Order %s imported from %s", record.number, source)
    counts["processed"] += 1


def _field_message(exc: ApplicationError) -> str:
    if exc.extra.get("skus"):
        return f"lines.sku: unknown {', '.join(exc.extra['skus'])}"
    field = exc.extra.get("field")
    return f"{field}: {exc.message}" if field else exc.message


@transaction.atomic
def inbox_replay(*, message_ids: list[int], actor, reason: str) -> int:
    """Put dead letters back in the inbox (recorded in their history); the caller processes them."""
    reason = require_reason(reason)
    replayed = 0
    for message in InboundMessage.objects.select_for_update().filter(
        pk__in=message_ids, state=InboundState.DEAD
    ):
        message.replay()
        message._history_user = actor
        message._change_reason = f"Replayed: {reason}"
        message.save()
        replayed += 1
    return replayed


def _process_shipment(message: InboundMessage, record, counts, system) -> None:
    """Apply a WMS ship confirmation. One that arrives before its order is released (or known) is
    parked and retried; past O2C_PARK_HOURS it raises a hold in the integration queue, or, for an
    order o2c never heard of, becomes a dead letter."""
    from billing.services import SHIPPABLE, shipment_record
    from exceptions.services import hold_raise

    order = Order.objects.filter(number=record.order).first()
    if order is None or order.state not in SHIPPABLE:
        overdue = timezone.now() - message.received_at > timedelta(hours=settings.O2C_PARK_HOURS)
        what = f"order “{record.order}” " + (
            "is unknown" if order is None else f"is {order.get_state_display().lower()}"
        )
        if overdue and order is None:
            _finish(
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
                    "waiting_since": message.received_at.isoformat(),
                },
            )
        _finish(message, error=f"parked: {what}; retrying", actor=system)
        counts["parked"] += 1
        return
    lines = {line.line_number: line for line in order.lines.all()}
    unknown = [line.line for line in record.lines if line.line not in lines]
    if unknown:
        _finish(
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
    except ApplicationError as exc:
        _finish(message, error=f"parked: {exc.message}; retrying", actor=system)
        counts["parked"] += 1
        return
    _finish(message, error=None, actor=system)
    counts["processed"] += 1


def _process_delivery(message: InboundMessage, record, counts, system) -> None:
    """Proof of delivery from the TMS; one for a shipment not yet known is parked, then dead-lettered."""
    from billing.models import Shipment
    from billing.services import shipment_deliver

    shipment = Shipment.objects.filter(external_id=record.shipment).first()
    if shipment is None:
        overdue = timezone.now() - message.received_at > timedelta(hours=settings.O2C_PARK_HOURS)
        what = f"shipment “{record.shipment}” is unknown"
        _finish(
            message,
            error=f"shipment: {what} after {settings.O2C_PARK_HOURS} h"
            if overdue
            else f"parked: {what}; retrying",
            dead=overdue,
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
    _finish(message, error=None, actor=system)
    counts["processed"] += 1


#: A message that fails unexpectedly this many times is a poison message: dead-lettered, not retried forever.
POISON_ATTEMPTS = 5
PER_MESSAGE = {
    "orders": _process_order,
    "shipments": _process_shipment,
    "deliveries": _process_delivery,
}


def _start_attempt(message: InboundMessage, counts) -> bool:
    """Count the attempt before applying, committed on its own (no history row: bookkeeping).
    A message whose earlier attempts all died with their worker is poison: dead-lettered here,
    before it can take down another one."""
    with transaction.atomic():
        fresh = _claimed(message)
        if fresh is None or fresh.state not in (InboundState.RECEIVED, InboundState.FAILED):
            return False
        if fresh.unfinished_attempts >= POISON_ATTEMPTS:
            _finish(
                fresh,
                error=f"poison: its worker died {fresh.unfinished_attempts} times applying it",
                dead=True,
            )
            counts["dead"] += 1
            logger.error("Message %s dead-lettered as poison", fresh.pk)
            return False
        InboundMessage.objects.filter(pk=fresh.pk).update(
            unfinished_attempts=F("unfinished_attempts") + 1
        )
    return True


def _guarded(stream: str, message: InboundMessage, counts) -> None:
    """Lock the message, map it (a bad record is a dead letter naming the field), then apply it;
    an unexpected failure is retried, and dead-lettered as poison after POISON_ATTEMPTS."""
    system = get_system_user()
    if not _start_attempt(message, counts):
        return
    try:
        with transaction.atomic():
            claimed = _claimed(message)
            if claimed is None or claimed.state not in (InboundState.RECEIVED, InboundState.FAILED):
                return  # another worker has it, or finished it meanwhile
            message = claimed
            try:
                record = MAPPERS[stream](message.payload)
            except MappingError as exc:
                _finish(message, error=str(exc), dead=True, actor=system)
                counts["dead"] += 1
                return
            PER_MESSAGE[stream](message, record, counts, system)
    except Exception as exc:  # noqa: BLE001 - one bad message must not stop the rest of the batch
        logger.exception("Message %s failed unexpectedly", message.pk)
        with transaction.atomic():
            fresh = _locked(message)
            if fresh.state in (InboundState.RECEIVED, InboundState.FAILED):
                dead = fresh.attempts + 1 >= POISON_ATTEMPTS
                _finish(fresh, error=f"unexpected {type(exc).__name__}: {exc}"[:1000], dead=dead)
                counts["dead" if dead else "failed"] += 1
