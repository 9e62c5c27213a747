"""Order messages from the ERP: new orders applied set-wise a chunk per transaction
(``orders.imports``, ``exceptions.services.evaluation``); amendments (a newer version of a stored
order), cancellations, a message that failed before or whose worker died, one at a time."""

import logging
from collections import defaultdict

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BooleanField, F, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.errors import ApplicationError, Conflict
from core.logs import correlated
from core.pgcopy import copy_history
from core.roles import get_system_user
from orders import upserts
from orders.imports import OrderImport, orders_import
from orders.models import Order, ShipTo
from orders.services import LineInput, Outcome, order_amend, order_create

from ..mappers import MAPPERS, MappingError
from ..models import Connector, InboundMessage, InboundState
from .attempts import MARKED_FIELDS, WAITING, finish, mark, park_overdue

logger = logging.getLogger(__name__)


def orders_apply_batches(*, connector_id: int, limit: int, counts) -> list[InboundMessage]:
    """Apply up to ``limit`` of the stream's waiting order messages set-wise, a chunk per
    transaction: mapped, validated against master data, stored, evaluated and concluded in bulk
    (``orders.imports``, ``exceptions.services.evaluation``). Each chunk is the next waiting messages no other
    worker has taken, so workers sharing the stream pull chunks until none is left, and a run
    takes what arrived after it started. Returns the messages to apply one at a time through the
    guarded path, where a poison message is found and dead-lettered alone: those an earlier
    attempt left unfinished (their worker died) or that failed before, and every message of a
    chunk that fails unexpectedly."""
    retry = _unheld(
        InboundMessage.objects.filter(connector_id=connector_id, stream="orders")
        .filter(
            Q(state=InboundState.FAILED) | Q(state=InboundState.RECEIVED, unfinished_attempts__gt=0)
        )
        .select_related("connector")
        .defer("payload")
        .order_by("external_id", "version")[:limit]
    )
    size = settings.O2C_ORDER_CHUNK  # big enough to amortise the fixed reads, short transactions
    source = Connector.objects.values_list("name", flat=True).get(pk=connector_id)
    one_by_one, left = [], limit - len(retry)
    while left > 0:
        ids = _take(connector_id, min(size, left))
        if not ids:
            break  # none waiting, or other workers have the rest
        left -= len(ids)
        outcome = defaultdict(int)
        try:
            deferred = _apply_orders(ids, outcome, source)
        except Exception:  # noqa: BLE001 - isolate the bad message instead of failing them all
            logger.exception("An order batch failed; applying its messages one at a time")
            one_by_one += (
                InboundMessage.objects.filter(pk__in=ids)
                .select_related("connector")
                .defer("payload")
                .order_by("external_id", "version")
            )
            continue
        finally:
            _release(ids)
        for key, value in outcome.items():
            counts[key] += value
        if deferred:
            one_by_one += (
                InboundMessage.objects.filter(pk__in=deferred)
                .select_related("connector")
                .defer("payload")
                .order_by("external_id", "version")
            )
    return retry + one_by_one


@transaction.atomic
def _take(connector_id: int, size: int) -> list[int]:
    """The next ``size`` fresh order messages no other worker has taken, their attempt counted
    before applying and committed on its own (bookkeeping, no history row): if the worker dies
    in the chunk, the next attempt takes these messages one at a time. SKIP LOCKED: a message
    another worker is taking is passed over, not waited for; once taken, its counted attempt
    keeps it out of every other worker's next chunk."""
    mine = list(
        InboundMessage.objects.select_for_update(skip_locked=True)
        .filter(
            connector_id=connector_id,
            stream="orders",
            state=InboundState.RECEIVED,
            unfinished_attempts=0,
        )
        .order_by("external_id", "version")
        .values_list("pk", flat=True)[:size]
    )
    InboundMessage.objects.filter(pk__any=mine).update(
        unfinished_attempts=F("unfinished_attempts") + 1
    )
    _claim(mine)
    return mine


#: The advisory lock key of an inbox message taken for a chunk (hashed, in the namespace
#: "inbox:", as ``receivables.services.remittances`` hashes "remittance:").
_CLAIM_KEY = "hashtextextended('inbox:' || {}, 0)"


def _claim(ids: list[int]) -> None:
    """Hold the taken messages for this connection from ``_take``'s commit until the chunk is
    applied (``_release``): session advisory locks, which outlive a transaction and go with the
    connection when a worker dies. Without them another worker's retry pass (``_unheld``) saw,
    for the moment between the two transactions, a chunk just taken as one whose worker had
    died, and applied it message by message (~10 s of a 30 s EDI run, one run in three)."""
    _advisory("pg_advisory_lock", ids)


def _release(ids: list[int]) -> None:
    _advisory("pg_advisory_unlock", ids)


def _advisory(function: str, ids: list[int]) -> None:
    """``function`` (lock or unlock) of each message's claim key, in id order."""
    if ids and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {function}({_CLAIM_KEY.format('id')}) "  # noqa: S608 - constants
                "FROM unnest(%s::bigint[]) AS id ORDER BY id",
                [ids],
            )


def _not_claimed():
    """A filter on messages no live worker holds for a chunk (``_claim``): trying a shared lock
    of the transaction is free when nobody holds it, and refused while a worker does."""
    quote = connection.ops.quote_name
    column = f"{quote(InboundMessage._meta.db_table)}.{quote('id')}"
    sql = f"pg_try_advisory_xact_lock_shared({_CLAIM_KEY.format(column)})"
    return RawSQL(sql, [], output_field=BooleanField())  # noqa: S611 - identifiers only


@transaction.atomic
def _unheld(messages) -> list[InboundMessage]:
    """Of the listed messages with an unfinished attempt, those still waiting that no worker
    holds: a chunk another worker is applying (or has applied since the list was made) has its
    attempts counted too, and is left to it in one query rather than tried message by message
    (nor counted against this run's limit)."""
    messages = list(messages)
    if not messages:
        return []
    held = InboundMessage.objects.select_for_update(skip_locked=True).filter(
        pk__any=[m.pk for m in messages], state__in=WAITING
    )
    if connection.vendor == "postgresql":  # and not taken a moment ago by a live worker
        held = held.alias(unclaimed=_not_claimed()).filter(unclaimed=True)
    free = set(held.values_list("pk", flat=True))
    return [m for m in messages if m.pk in free]


@transaction.atomic
def _apply_orders(ids: list[int], counts, source: str) -> list[int]:
    """Apply the messages ``ids`` of the connector named ``source`` (its orders' source system)
    that no other worker holds, in one transaction. Returns the messages left to the one-at-a-
    time path: a version after the first, a cancellation, and a first version of an order
    already stored (each an amendment or a repeat, rare; the batch keeps to new orders, with no
    query per order)."""
    from exceptions.services import orders_evaluate_imported

    from ..edi.outbound import acknowledge as edi_acknowledge
    from .outbox import outbox_enqueue_releases

    system = get_system_user()
    messages = list(
        # ours (taken and claimed): waited for, not skipped. Another worker's _take can hold a
        # row of them for a moment (a row its scan saw waiting, locked, then found taken and
        # passed over keeps its lock to that transaction's end); skipped, such a message was
        # left with its attempt counted and its claim released, and a later run applied it as
        # a dead worker's, one at a time. The connector is not joined: one name for all.
        InboundMessage.objects.select_for_update()
        .filter(pk__any=ids, state__in=WAITING)
        .order_by("external_id", "version")
    )
    if not messages:
        return []
    errors: dict[int, str | None] = {}
    imports, messages_of, deferred = [], defaultdict(list), []
    for message in messages:
        try:
            record = MAPPERS["orders"](message.payload)
        except MappingError as exc:
            errors[message.pk] = str(exc)
            continue
        if record.version > 1 or record.status != "open" or record.external_id in messages_of:
            deferred.append(message)  # versions apply in order, after the order is stored
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
                customer_source=record.customer_source,
            )
        )
        messages_of[record.external_id].append(message)
    result = orders_import(actor=system, source=source, records=imports, now=timezone.now())
    for external_id, group in messages_of.items():
        if external_id in result.repeated:
            deferred += group  # stored before: judged against its applied version, alone
            continue
        for message in group:
            errors[message.pk] = result.rejected.get(external_id)
    outcomes = defaultdict(list)  # the same outcome, one UPDATE (bulk_update's CASE is slow)
    now = timezone.now()
    for message in messages:
        if message.pk not in errors:
            continue  # deferred
        error = errors[message.pk]
        mark(message, error=error, dead=error is not None, actor=system, at=now)
        outcomes[tuple(getattr(message, name) for name in MARKED_FIELDS)].append(message.pk)
        counts["dead" if error else "processed"] += 1
    for values, pks in outcomes.items():
        InboundMessage.objects.filter(pk__any=pks).update(
            **dict(zip(MARKED_FIELDS, values, strict=True))
        )
    marked = [message for message in messages if message.pk in errors]
    copy_history(InboundMessage, marked, update=True, default_user=system)
    # last: evaluation holds its customers' credit locks to the commit, so another worker
    # importing orders of the same customers waits the shortest time
    released = orders_evaluate_imported(orders=result.created, actor=system)
    outbox_enqueue_releases(orders=released, actor=system)
    # EDI partners' 855s: at receipt, or for the orders decided (released) right away
    edi_acknowledge(result.created, decided=False)
    edi_acknowledge(released, decided=True)
    for order in result.created:  # each order's log line carries its message's correlation id
        with correlated(order.correlation_id):
            logger.info("Order %s imported from %s", order.number, source)
    return [message.pk for message in deferred]


def order_message_apply(message: InboundMessage, record, counts, system) -> None:
    """One order message: a stored order's newer version is an amendment (``_amend``); a later
    version of an order not stored yet waits for it (and, once it has waited O2C_PARK_HOURS, is
    stored as the whole order it is); a first version is a new order."""
    source = message.connector.name
    stored = (
        Order.objects.filter(source_system=source, external_id=record.external_id)
        .values_list("pk", flat=True)
        .first()
    )
    if stored is not None:
        _amend(message, record, stored, counts, system)
        return
    if record.version > 1 and not park_overdue(message):
        what = f"order “{record.external_id}” is unknown; version {record.version} waits for it"
        finish(message, error=f"parked: {what}", parked=True, actor=system)
        counts["parked"] += 1
        return
    if record.status == "cancelled":
        _note(
            message, f"cancelled upstream (version {record.version}) before o2c stored it", system
        )
        counts["processed"] += 1
        return
    customer = upserts.resolve_customers(
        source=record.customer_source or source, refs=[record.customer]
    ).get(record.customer)
    if customer is None:
        finish(message, error=f"customer: unknown “{record.customer}”", dead=True, actor=system)
        counts["dead"] += 1
        return
    ship_to = (
        ShipTo.objects.filter(customer=customer, code=record.ship_to).first()
        if record.ship_to
        else None
    )
    try:
        with transaction.atomic():  # the order and its lines apply whole, or not at all
            order = order_create(
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
            if record.version > 1:  # first seen at a later version: that one is applied
                order.source_version = record.version
                order._history_user = system
                order._change_reason = f"Version {record.version} of {source}"
                order.save(update_fields=["source_version"])
    except Conflict as exc:
        finish(message, error=exc.message, dead=True, actor=system)
        counts["dead"] += 1
        return
    except ApplicationError as exc:
        finish(message, error=_field_message(exc), dead=True, actor=system)
        counts["dead"] += 1
        return
    from ..edi.outbound import acknowledge as edi_acknowledge

    edi_acknowledge([order], decided=False)  # a partner that wants its 855 at receipt
    finish(message, error=None, actor=system)
    logger.info("Order %s imported from %s", record.number, source)
    counts["processed"] += 1


def _note(message: InboundMessage, note: str, system) -> None:
    """Processed, changing nothing, with the reason kept on the message for the inbox to show."""
    mark(message, error=None, actor=system)
    message.last_error = note
    message._change_reason = f"Applied: {note}"[:1000]
    message.save()


def _amend(message: InboundMessage, record, order_id: int, counts, system) -> None:
    """A version of a stored order: applied by ``order_amend`` with, for a released order, the
    WMS's change (or cancel) instruction in the same transaction. An older or equal version
    changes nothing and says why; one that fails validation is a dead letter naming the field,
    the order untouched; one that comes after shipping holds the order for customer service."""
    from exceptions.services import hold_raise

    from .outbox import outbox_enqueue_change

    source = message.connector.name
    try:
        with transaction.atomic():  # the amendment and the WMS instruction, whole or not at all
            amendment = order_amend(
                actor=system,
                order_id=order_id,
                version=record.version,
                source=source,
                lines=[
                    LineInput(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
                    for line in record.lines
                ],
                ship_to_code=record.ship_to,
                requested_date=record.requested_date,
                currency=record.currency,
                customer_ref=record.customer,
                cancelled=record.status == "cancelled",
            )
            if amendment.outcome == Outcome.APPLIED and amendment.after_release:
                if amendment.changes:
                    outbox_enqueue_change(order=amendment.order, changes=amendment.changes)
            elif amendment.outcome == Outcome.TOO_LATE:
                hold_raise(
                    order_id=order_id,
                    reason_code="CHANGED_AFTER_SHIPMENT",
                    actor=system,
                    value=amendment.order.total,
                    context={
                        "source": source,
                        "version": record.version,
                        "order_state": amendment.was,
                        "difference": amendment.changes,
                        "cancelled": record.status == "cancelled",
                    },
                )
    except ApplicationError as exc:
        finish(message, error=_field_message(exc), dead=True, actor=system)
        counts["dead"] += 1
        return
    if amendment.outcome == Outcome.APPLIED and not amendment.changes:
        _note(message, f"version {record.version} changes nothing on the order", system)
    elif amendment.outcome in (Outcome.APPLIED, Outcome.CANCELLED):
        finish(message, error=None, actor=system)
        logger.info(
            "Order %s %s by %s version %s",
            amendment.order.number,
            "cancelled" if amendment.outcome == Outcome.CANCELLED else "amended",
            source,
            record.version,
        )
    else:  # stale, too late (held for customer service), or the order is cancelled
        _note(message, amendment.note, system)
    counts["processed"] += 1


def _field_message(exc: ApplicationError) -> str:
    if exc.extra.get("skus"):
        return f"lines.sku: unknown {', '.join(exc.extra['skus'])}"
    field = exc.extra.get("field")
    return f"{field}: {exc.message}" if field else exc.message
