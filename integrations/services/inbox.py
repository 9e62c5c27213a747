"""The inbox: store raw messages idempotently, then apply each stream's waiting messages (its
handler in ``order_messages`` or ``event_messages``), dead-lettering what cannot apply."""

import hashlib
import json
import logging
import math
from collections import defaultdict

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from core.audit import set_state_for_insert
from core.errors import ApplicationError, Conflict, require_reason
from core.gathered import gathered
from core.logs import correlated
from core.pgcopy import copy_create_ignoring_conflicts, copy_history
from core.roles import get_system_user
from orders import upserts

from ..mappers import MAPPERS, MappingError
from ..models import Connector, InboundMessage, InboundState
from .attempts import WAITING, claimed, finish, locked
from .bank_messages import remittance_message_apply, statement_message_apply
from .event_messages import (
    delivery_message_apply,
    receipt_message_apply,
    shipment_message_apply,
)
from .order_messages import order_message_apply, orders_apply_batches

logger = logging.getLogger(__name__)


def payload_hash(payload) -> str:
    """Of the payload as stored, so a raw retry and its stored twin hash alike."""
    return _prepared(payload)[1]


def _digest(storable) -> str:
    return _hash(json.dumps(storable, sort_keys=True, default=str))


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _prepared(record) -> tuple[object, str, set]:
    """(the record as it can be stored, its payload hash, what had to be mended). A record
    parsed from JSON has nothing to mend: one serialisation shows it (no NaN or Infinity, no
    escaped NUL) and is the one hashed, a third of the cost of walking it value by value. Any
    doubt (an escaped backslash before "u0000" too) takes the walk."""
    try:
        text = json.dumps(record, sort_keys=True, allow_nan=False, default=str)
    except (ValueError, TypeError):  # NaN or Infinity (as a value or a key), keys not sortable
        text = None
    if text is not None and "\\u0000" not in text:
        return record, _hash(text), set()
    problems = set()
    storable = _storable(record, problems)
    return storable, _digest(storable), problems


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
    *,
    connector: Connector,
    stream: str,
    records: list,
    key: str | None = None,
    keys: list[str] | None = None,
    errors: list[str | None] | None = None,
) -> list[int]:
    """Store raw records; a repeat of (connector, stream, id, version) is ignored. Records with no
    usable identity are kept too, straight as dead letters, so nothing upstream is ever lost.
    ``key`` (a webhook's Idempotency-Key) replaces the record id as the message's identity;
    ``keys`` does so record by record (an EDI set's sender, interchange and set numbers), and a
    record with an ``errors`` entry is stored as a dead letter with that reason. Returns the ids
    of the records' messages still waiting (new, or stored before and not yet applied)."""
    stored, waiting = _store(connector, stream, records, key, keys, errors)
    return [
        pk
        for key, (pk, state) in stored.items()
        if state == InboundState.RECEIVED and key in waiting
    ]


@transaction.atomic
def inbox_store_ids(
    *,
    connector: Connector,
    stream: str,
    records: list,
    keys: list[str],
    errors: list[str | None] | None = None,
) -> dict[str, int]:
    """``inbox_store`` for records each stored under its ``keys`` entry: every record's message
    id by that key, dead letters and repeats included (an EDI set's document links to it)."""
    stored, _ = _store(connector, stream, records, None, keys, errors)
    return {external_id: pk for (external_id, _), (pk, _) in stored.items()}


def _store(connector, stream, records, key, keys, errors):
    """The messages of ``records`` stored: ({(external id, version): (id, state)} for every
    record's key, the keys of the records that may be applied)."""
    now = timezone.now()
    rows, broken = [], []
    for index, record in enumerate(records):
        record, digest, problems = _prepared(record)  # digest: the record's payload_hash
        identity = _identity(record)
        given = keys[index] if keys else key
        if identity is not None and given:
            identity = (given[:100], identity[1])
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
        if errors and errors[index]:
            message.last_error = errors[index]
            broken.append(message)
        elif problems:
            message.last_error = f"payload: {'; '.join(sorted(problems))}"
            broken.append(message)
        else:
            rows.append(message)
    for message in broken:
        set_state_for_insert(message, InboundState.DEAD)  # born a dead letter
    messages = rows + broken
    wanted = {(m.external_id, m.version) for m in messages}
    # INSERT .. ON CONFLICT DO NOTHING: the idempotency key turns repeats into no-ops.
    # Staged from 20 rows: quoting 50 payloads into one INSERT (Django binds client-side) cost
    # ~26 ms of a 130 ms EDI file of 50 orders; COPY takes them as they are. The insert returns
    # the rows it made: the keys stored before are read only when some key was (each such read
    # was ~3.5 ms of PostgreSQL a file in a busy inbox, two a call, a third for EDI's ids).
    staged = connection.vendor == "postgresql" and len(messages) >= _STAGED_FROM
    before: set = set()
    if not staged:
        before = set(_keys_stored(connector, stream, wanted))
    inserted = copy_create_ignoring_conflicts(
        InboundMessage,
        messages,
        staged_from=_STAGED_FROM,
        returning=("id", "external_id", "version", "state"),
    )
    stored = {
        (external_id, version): (pk, state) for pk, external_id, version, state in inserted or ()
    }
    made = set(stored) if inserted is not None else None
    if len(stored) < len(wanted):  # repeats, or the insert did not say what it made
        stored.update(_keys_stored(connector, stream, wanted - set(stored)))
    if made is None:
        made = set(stored) - before
    # bulk_create writes no history: record the arrival of what this call inserted ("+" rows),
    # from the messages built here (the first of a key repeated in the call is the one stored).
    new = {}
    for message in messages:
        key = (message.external_id, message.version)
        if key in made and key not in new:
            message.pk = stored[key][0]
            new[key] = message
    if new:
        copy_history(
            InboundMessage,
            list(new.values()),
            default_user=get_system_user(),
            default_change_reason=f"Received from {connector.name}",
            default_date=now,
        )
    return stored, {(r.external_id, r.version) for r in rows}


#: Inbox rows are staged for COPY from this many a call (``copy_create_ignoring_conflicts``).
_STAGED_FROM = 20


def _keys_stored(connector, stream, wanted: set) -> dict[tuple[str, int], tuple[int, str]]:
    """Of the (external id, version) keys ``wanted``, those stored: their id and state."""
    if not wanted:
        return {}
    return {
        (external_id, version): (pk, state)
        for pk, external_id, version, state in InboundMessage.objects.filter(
            connector=connector, stream=stream, external_id__any={k[0] for k in wanted}
        ).values_list("pk", "external_id", "version", "state")
        if (external_id, version) in wanted
    }


#: A key used again for another record: the first one stands and this one changes nothing.
KEY_REUSED = "This Idempotency-Key was used with a different payload."


@transaction.atomic
def inbox_receive(
    *, connector: Connector, stream: str, record: dict, key: str | None = None
) -> tuple[InboundMessage, bool]:
    """One pushed record (a signed webhook): checked, stored once under its idempotency key
    (``key``, else the record's id), and its stream's processing queued after commit.

    Returns the message and whether this call stored it; a retry of the same payload gets the
    first result. A record that cannot map is refused naming the field (ApplicationError), and a
    key reused with another payload raises Conflict; neither stores anything."""
    key = key or record.get("id")
    if not str(key or "").strip():
        raise ApplicationError(
            "Send an Idempotency-Key header or an id in the record.", {"field": "id"}
        )
    key = str(key)
    record = record if "id" in record else {**record, "id": key}
    version = record.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ApplicationError("version: must be a whole number from 1 up.", {"field": "version"})
    try:
        MAPPERS[stream](record)
    except MappingError as exc:
        raise ApplicationError(f"Rejected: {exc}", {"field": str(exc).split(":", 1)[0]}) from exc
    identity = {"connector": connector, "stream": stream, "external_id": key, "version": version}
    existing = InboundMessage.objects.filter(**identity).first()
    if existing is not None:
        _same_payload(existing, record)
        return existing, False
    # A concurrent twin of this call is absorbed by the inbox's ON CONFLICT DO NOTHING.
    inbox_store(connector=connector, stream=stream, records=[record], key=key)
    message = InboundMessage.objects.get(**identity)
    _same_payload(message, record)
    if message.state == InboundState.RECEIVED:
        from ..tasks import inbox_process_task  # tasks import this module

        inbox_process_task.delay_on_commit(connector.pk, stream)
    return message, True


def _same_payload(message: InboundMessage, record: dict) -> None:
    if message.payload_hash != payload_hash(record):
        raise Conflict(KEY_REUSED, {"id": message.pk})


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
    if stream == "orders":  # pulled a chunk at a time, set-wise (``order_messages``)
        system = get_system_user()
        for message in orders_apply_batches(connector_id=connector_id, limit=limit, counts=counts):
            with correlated(message.correlation_id):
                _guarded("orders", message, counts, system)
        return dict(counts)
    # the list to work through; each message is read again, whole, when it is claimed
    messages = list(
        InboundMessage.objects.filter(connector_id=connector_id, stream=stream, state__in=WAITING)
        .select_related("connector")
        .defer("payload")
        .order_by("external_id", "version")[:limit]
    )
    if not messages:
        return counts
    if stream in MASTER_UPSERTS:
        _process_master(messages, stream, counts)
    elif stream in PER_MESSAGE:
        system = get_system_user()
        # a bank file's commit asks for its customers' collections refresh: done for the run's
        # files together, not a dozen queries each (core.gathered)
        with gathered():
            for message in _still_waiting(messages):
                with correlated(message.correlation_id):
                    _guarded(stream, message, counts, system)
    else:
        for message in messages:
            with transaction.atomic():
                finish(locked(message), error=f"stream “{stream}” has no mapper yet", dead=True)
            counts["dead"] += 1
    return dict(counts)


#: How many listed messages are re-checked at once. A burst of webhooks queues a run of the
#: stream per message, and each run would otherwise try to claim, three round trips apiece,
#: every message that the runs before it applied after it made its list.
RECHECK_EVERY = 8


def _still_waiting(messages: list[InboundMessage]):
    """The listed messages still waiting when their turn comes, checked a few at a time."""
    for start in range(0, len(messages), RECHECK_EVERY):
        chunk = messages[start : start + RECHECK_EVERY]
        waiting = set(
            InboundMessage.objects.filter(
                pk__in=[m.pk for m in chunk], state__in=WAITING
            ).values_list("pk", flat=True)
        )
        yield from (message for message in chunk if message.pk in waiting)


def _process_master(messages: list[InboundMessage], stream: str, counts) -> None:
    mapper, upsert = MAPPERS[stream], MASTER_UPSERTS[stream]
    system = get_system_user()
    latest: dict[str, InboundMessage] = {}
    mapped = {}
    with transaction.atomic():
        for message in messages:
            message = locked(message)
            if message.state not in WAITING:
                continue  # another worker finished it meanwhile
            try:
                record = mapper(message.payload)
            except MappingError as exc:
                finish(message, error=str(exc), dead=True, actor=system)
                counts["dead"] += 1
                continue
            older = latest.get(message.external_id)
            if older is not None:  # an older version in the same batch is superseded, not applied
                finish(older, error=None, actor=system)
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
            finish(message, error=error, dead=error is not None, actor=system)
            counts["dead" if error else "processed"] += 1


@transaction.atomic
def inbox_replay(*, message_ids: list[int], actor, reason: str, process: bool = True) -> int:
    """Put dead letters back in the inbox (recorded in their history) and, with ``process``, queue
    each of their streams' processing after commit (``manage.py replay_dead_letters`` processes
    them itself, to report the counts). Returns how many were dead and are now waiting."""
    from ..tasks import inbox_process_task  # tasks import this module

    reason = require_reason(reason)
    replayed, streams = 0, set()
    for message in InboundMessage.objects.select_for_update().filter(
        pk__in=message_ids, state=InboundState.DEAD
    ):
        message.replay()
        message._history_user = actor
        message._change_reason = f"Replayed: {reason}"
        message.save()
        replayed += 1
        streams.add((message.connector_id, message.stream))
    if process:
        for connector_id, stream in sorted(streams):
            inbox_process_task.delay_on_commit(connector_id, stream)
    return replayed


#: A message that fails unexpectedly this many times is a poison message: dead-lettered, not
#: retried forever. Waiting for its order or shipment is not failing: those checks are counted
#: apart (``park_checks``), and their limit is a time (O2C_PARK_HOURS), not this.
POISON_ATTEMPTS = 5
PER_MESSAGE = {
    "sets": lambda *args: _edi_handlers()[0](*args),
    "interchanges": lambda *args: _edi_handlers()[1](*args),
    "statements": statement_message_apply,
    "remittances": remittance_message_apply,
    "orders": order_message_apply,
    "shipments": shipment_message_apply,
    "deliveries": delivery_message_apply,
    "receipts": receipt_message_apply,
}


def _edi_handlers():
    """Imported late: the EDI package imports this module."""
    from ..edi.replay import interchange_message_apply, set_message_apply

    return set_message_apply, interchange_message_apply


def _start_attempt(message: InboundMessage, counts) -> bool:
    """Count the attempt before applying, committed on its own (no history row: bookkeeping).
    A message whose earlier attempts all died with their worker is poison: dead-lettered here,
    before it can take down another one."""
    with transaction.atomic():
        fresh = claimed(message, payload=False)
        if fresh is None or fresh.state not in WAITING:
            return False
        if fresh.unfinished_attempts >= POISON_ATTEMPTS:
            finish(
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


def _guarded(stream: str, message: InboundMessage, counts, system) -> None:
    """Lock the message, map it (a bad record is a dead letter naming the field), then apply it;
    an unexpected failure is retried, and dead-lettered as poison after POISON_ATTEMPTS."""
    if not _start_attempt(message, counts):
        return
    try:
        with transaction.atomic():
            mine = claimed(message)
            if mine is None or mine.state not in WAITING:
                return  # another worker has it, or finished it meanwhile
            message = mine
            try:
                record = MAPPERS[stream](message.payload)
            except MappingError as exc:
                finish(message, error=str(exc), dead=True, actor=system)
                counts["dead"] += 1
                return
            PER_MESSAGE[stream](message, record, counts, system)
    except Exception as exc:  # noqa: BLE001 - one bad message must not stop the rest of the batch
        logger.exception("Message %s failed unexpectedly", message.pk)
        with transaction.atomic():
            fresh = locked(message)
            if fresh.state in WAITING:
                dead = fresh.attempts + 1 >= POISON_ATTEMPTS
                finish(fresh, error=f"unexpected {type(exc).__name__}: {exc}"[:1000], dead=dead)
                counts["dead" if dead else "failed"] += 1
