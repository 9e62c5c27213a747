"""Interchanges in: read, judged set by set, each accepted set handed to the inbox and the 997
queued in the outbox, all in one transaction; and interchanges out with gapless control
numbers. Every way in (a partner's drop folder, a signed post, ``manage.py edi_import``) goes
through ``edi_receive``."""

from __future__ import annotations

import hashlib
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.pgcopy import copy_create

from ..models import Connector, InboundState, OutboundMessage
from ..services.inbox import inbox_store, inbox_store_ids
from . import acks, inbound, remittance, syntax, x12
from .models import FUNCTIONAL_IDS, ControlNumber, Direction, Document, Interchange, TradingPartner

logger = logging.getLogger(__name__)

#: What a set of each code becomes in the inbox: the EDI connector's stream.
STREAM_OF = {"850": "orders", "860": "orders", "820": "remittances"}
#: The stream a set that was rejected or could not be mapped waits in (replayed, it is judged
#: and mapped afresh: ``edi.replay``).
SETS = "sets"
#: The stream a file that cannot be read, or comes from nobody o2c trades with, waits in.
UNREAD = "interchanges"


@dataclass
class Outcome:
    """What one transaction set became, for the console and ``edi_import``'s report."""

    code: str
    control: str
    state: str  # accepted / rejected
    became: str  # "order PO123 (inbox message 12)", "rejected: ..."


@dataclass
class Received:
    interchange: Interchange | None
    created: bool
    outcomes: list[Outcome] = field(default_factory=list)
    error: str = ""  # the whole file refused, and why (kept as a dead letter)


def _edi_connector(partner: TradingPartner | None) -> Connector | None:
    if partner is not None:
        return partner.connector
    return Connector.objects.filter(kind=Connector.Kind.EDI).order_by("pk").first()


def _same_content(stored: str, text: str) -> bool:
    """Whether ``text`` is the interchange stored, sent again: the same segments, whatever the
    line breaks and padding between them."""
    return "".join(stored.split()) == "".join(text.split())


def edi_refuse(reason: str, *, raw: str, via: str, file_name: str, partner) -> Received:
    """Keep what could not be taken in as a dead letter with its reason (replayable once the
    partner is set up or the file mended); nothing else changes."""
    connector = _edi_connector(partner)
    digest = hashlib.sha256(raw.encode("utf-8", "replace")).hexdigest()
    if connector is not None:
        inbox_store(
            connector=connector,
            stream=UNREAD,
            records=[
                {
                    "id": f"file:{digest[:40]}",
                    "x12": raw,
                    "via": via,
                    "file": file_name,
                    # who delivered it (their folder or signed post): a replay judges it as theirs
                    "partner": partner.name if partner is not None else "",
                }
            ],
            errors=[reason[:1000]],
        )
    logger.warning("EDI file %s refused: %s", file_name or "(posted)", reason)
    return Received(interchange=None, created=False, error=reason)


@transaction.atomic
def edi_receive(
    *, raw: str | bytes, via: str, file_name: str = "", partner: TradingPartner | None = None
) -> Received:
    """Take in one interchange. The same interchange (sender and ISA13) a second time changes
    nothing and reports the first outcome. A file that cannot be read, or from a sender o2c does
    not trade with, is kept as a dead letter naming why and where."""
    text = raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw
    try:
        interchange = x12.read(raw)
    except x12.InterchangeError as exc:
        return edi_refuse(exc.message, raw=text, via=via, file_name=file_name, partner=partner)
    sender = f"{interchange.sender_qualifier}:{interchange.sender}"
    if partner is not None and (partner.isa_qualifier, partner.isa_id) == (
        interchange.sender_qualifier,
        interchange.sender,
    ):
        known = partner  # read by the poll a moment ago: the same row, not read again a file
    else:
        known = (
            TradingPartner.objects.select_related("customer", "connector")
            .filter(isa_qualifier=interchange.sender_qualifier, isa_id=interchange.sender)
            .first()
        )
    if known is None or (partner is not None and known.pk != partner.pk):
        if known is None:
            why = f"ISA06: no trading partner is sender {sender}" + (
                f" (expected {partner.name})" if partner is not None else ""
            )
        else:
            why = f"ISA06: sender {sender} is {known.name}, but {partner.name} delivered it"
        return edi_refuse(
            why,
            raw=text,
            via=via,
            file_name=file_name,
            partner=partner,
        )
    partner = known
    receiver = f"{interchange.receiver_qualifier}:{interchange.receiver}"
    existing = Interchange.objects.filter(
        direction=Direction.IN, sender=sender, receiver=receiver, control_number=interchange.control
    ).first()
    if existing is not None:
        if not _same_content(existing.raw, text):
            # a reused control number (a partner's counter reset): taken for a repeat, the new
            # file's sets would be lost with no dead letter and no 997
            return edi_refuse(
                f"ISA13: control number {interchange.control} from {sender} was used by "
                f"interchange {existing.pk} received {existing.at:%Y-%m-%d %H:%M}, with other "
                "content; ask the partner to resend it under a new control number",
                raw=text,
                via=via,
                file_name=file_name,
                partner=partner,
            )
        return Received(existing, False, _outcomes(existing))
    refusal = _refusal(partner, interchange)
    if refusal:  # nothing in it is read, and nothing kept but the dead letter: a replay after
        # the partner is fixed, or the partner's resend, is judged afresh
        return edi_refuse(refusal, raw=text, via=via, file_name=file_name, partner=partner)
    row = Interchange(
        partner=partner,
        direction=Direction.IN,
        sender=sender,
        receiver=receiver,
        control_number=interchange.control,
        usage=interchange.usage,
        version=interchange.version,
        state=Interchange.State.REJECTED,
        raw=text,
        error="; ".join(interchange.errors),
        via=via,
        file_name=file_name[:200],
        at=timezone.now(),
    )
    try:
        with transaction.atomic():  # a twin delivery committing first makes this a repeat
            row.save()
    except IntegrityError:
        existing = Interchange.objects.get(
            direction=Direction.IN,
            sender=sender,
            receiver=receiver,
            control_number=interchange.control,
        )
        return Received(existing, False, _outcomes(existing))
    outcomes = _judge_and_store(row, interchange, partner)
    accepted = sum(1 for o in outcomes if o.state == Document.State.ACCEPTED)
    row.state = (
        Interchange.State.ACCEPTED
        if accepted == len(outcomes) and not interchange.errors
        else Interchange.State.PARTLY
        if accepted
        else Interchange.State.REJECTED
    )
    row.save(update_fields=["state"])
    _send_997s(partner, interchange, row)
    logger.info(
        "EDI interchange %s from %s: %s of %s sets accepted",
        interchange.control, partner.name, accepted, len(outcomes),
    )  # fmt: skip
    return Received(row, True, outcomes)


def _refusal(partner: TradingPartner, interchange: x12.Interchange) -> str:
    if not partner.active:
        return f"{partner.name} is not active"
    if interchange.receiver != settings.O2C_EDI_ISA_ID:
        return (
            f"ISA08: addressed to “{interchange.receiver}”, not to o2c ({settings.O2C_EDI_ISA_ID})"
        )
    wanted = "P" if partner.production else "T"
    if interchange.usage != wanted:
        return f"ISA15: “{interchange.usage}”, but {partner.name} trades in {wanted} only"
    return ""


def _judge_and_store(
    row: Interchange, interchange: x12.Interchange, partner: TradingPartner
) -> list[Outcome]:
    """Check every set, map the sound ones and store each in the inbox: a mapped set waits to
    be applied, a rejected or unmappable one is a dead letter with its reason."""
    for transaction_set in interchange.sets:
        if transaction_set.envelope_codes:
            continue
        if not partner.exchanges(transaction_set.code) or transaction_set.code not in (
            *STREAM_OF,
            "997",
        ):
            transaction_set.envelope_codes.append("1")
            continue
        transaction_set.errors = syntax.check(transaction_set)
    sound = [s for s in interchange.sets if s.accepted]
    stored = _stored_orders(partner, sound)
    named = {line["sku"] for record in stored.values() for line in record.get("lines", [])}
    found = inbound.Lookups.load(partner, sound, named)
    documents, records, keys, errors, streams = [], [], [], [], []
    outcomes = []
    for group in interchange.groups:
        for transaction_set in group.sets:
            document = Document(
                interchange=row,
                code=transaction_set.code[:3],
                control_number=transaction_set.control[:9],
                group_control=group.control[:9],
                functional_id=group.functional_id[:2],
                position=transaction_set.offset,
                state=Document.State.ACCEPTED
                if transaction_set.accepted
                else Document.State.REJECTED,
            )
            # ST02 is unique within its group only
            key = f"{row.sender}:{row.control_number}:{group.control}:{transaction_set.control}"
            if not transaction_set.accepted:
                document.errors = transaction_set.reasons()
                records.append(_dead_record(key, transaction_set, interchange, partner))
                errors.append(f"rejected ({transaction_set.code}): " + "; ".join(document.errors))
                streams.append(SETS)
            elif transaction_set.code == "997":
                from .acks_in import ack_apply

                document.reference = ack_apply(partner, transaction_set)
                documents.append((document, None))
                outcomes.append(
                    Outcome("997", transaction_set.control, document.state,
                            f"acknowledgement of {document.reference or 'nothing o2c sent'}")
                )  # fmt: skip
                continue
            else:
                record, problem = _map(transaction_set, partner, found, stored)
                if problem:
                    document.errors = [problem]
                    records.append(_dead_record(key, transaction_set, interchange, partner))
                    errors.append(problem)
                    streams.append(SETS)
                elif transaction_set.code == "820":
                    record["id"] = key  # the inbox's identity: the set's own numbers
                    document.reference = record["reference"][:64]
                    records.append(record)
                    errors.append(None)
                    streams.append(STREAM_OF["820"])
                else:
                    # the set's text stays on the interchange: the order record is what applies
                    document.reference = record["edi"]["po_number"][:64]
                    records.append(record)
                    errors.append(None)
                    stored[record["id"]] = record  # a later 860 in the same file builds on it
                    streams.append(STREAM_OF[transaction_set.code])
            keys.append(key)
            documents.append((document, len(records) - 1))
    messages = _store(row, records, keys, errors, streams)
    for document, index in documents:
        if index is not None:
            document.message_id = messages.get(keys[index])
    # by COPY: fifty documents bound into one INSERT cost a tenth of reading the file
    copy_create(Document, [d for d, _ in documents])
    for document, index in documents:
        if index is None:
            continue
        noun = "remittance" if document.code == "820" else "order"
        what = (
            f"inbox message {document.message_id}"
            + (f", {noun} {document.reference}" if document.reference else "")
            if not errors[index]
            else f"dead letter {document.message_id}: {errors[index]}"
        )
        outcomes.append(
            Outcome(
                document.code,
                document.control_number,
                Document.State.REJECTED if errors[index] else Document.State.ACCEPTED,
                what,
            )
        )
    return outcomes


def _dead_record(key, transaction_set, interchange, partner) -> dict:
    """What a set that could not be taken keeps in the inbox: enough to judge it again."""
    return {
        "id": key,
        "x12": _set_text(transaction_set, interchange),
        "code": transaction_set.code,
        "control": transaction_set.control,
        "partner": partner.name,
        "separators": [
            interchange.element_separator,
            interchange.component_separator,
            interchange.segment_terminator,
        ],
    }


def judge_set(
    transaction_set: x12.TransactionSet, partner: TradingPartner
) -> tuple[dict | None, str]:
    """Check and map one set on its own (a replay): (order record, "") or (None, why not)."""
    if not partner.exchanges(transaction_set.code) or transaction_set.code not in STREAM_OF:
        return None, f"{transaction_set.code}: not a set o2c takes from {partner.name}"
    errors = syntax.check(transaction_set)
    if errors:
        return None, "; ".join(e.text() for e in errors)
    stored = _stored_orders(partner, [transaction_set])
    named = {line["sku"] for record in stored.values() for line in record.get("lines", [])}
    found = inbound.Lookups.load(partner, [transaction_set], named)
    return _map(transaction_set, partner, found, stored)


def _map(transaction_set, partner, found, stored) -> tuple[dict | None, str]:
    try:
        if transaction_set.code == "820":
            return remittance.map_820(transaction_set, partner), ""
        if transaction_set.code == "850":
            return inbound.map_850(transaction_set, partner, found), ""
        header = next(s for s in transaction_set.segments if s.get_seg_id() == "BCH")
        external_id = inbound.order_external_id(partner, x12.value(header, 3))
        return inbound.map_860(transaction_set, partner, found, stored.get(external_id)), ""
    except (inbound.MappingProblem, remittance.RemittanceProblem) as exc:
        return None, f"{transaction_set.code} #{transaction_set.control}: {exc.error.text()}"


def _stored_orders(partner: TradingPartner, sets: list[x12.TransactionSet]) -> dict[str, dict]:
    """The latest record in the inbox of each order the sets' 860s change: found through the
    partner's 850 and 860 documents (indexed by code and PO number), newest version last."""
    wanted = set()
    for transaction_set in sets:
        if transaction_set.code != "860":
            continue
        for segment in transaction_set.segments:
            if segment.get_seg_id() == "BCH":
                wanted.add(x12.value(segment, 3))
    latest: dict[str, dict] = {}
    if not wanted:
        return latest
    documents = (
        Document.objects.filter(
            code__in=["850", "860"],
            reference__in=wanted,
            interchange__partner=partner,
            interchange__direction=Direction.IN,
            message__isnull=False,
        )
        .exclude(message__state=InboundState.DEAD)
        .select_related("message")
        .order_by("message__version", "message_id")
    )
    for document in documents:
        payload = document.message.payload
        if isinstance(payload, dict) and "lines" in payload:
            latest[payload["id"]] = payload
    return latest


def _store(row: Interchange, records, keys, errors, streams) -> dict[str, int]:
    """Hand the sets to the inbox, a call per stream; returns each key's message id."""
    by_stream: dict[str, list[int]] = {}
    for index, stream in enumerate(streams):
        by_stream.setdefault(stream, []).append(index)
    connector = row.partner.connector
    ids = {}
    for stream, indexes in by_stream.items():
        ids.update(
            inbox_store_ids(
                connector=connector,
                stream=stream,
                records=[records[i] for i in indexes],
                keys=[keys[i] for i in indexes],
                errors=[errors[i] for i in indexes],
            )
        )
    for stream in ("orders", "remittances"):
        if stream in by_stream and any(errors[i] is None for i in by_stream[stream]):
            queue_stream(connector, stream)
    return ids


#: While a poll reads a folder: the stream runs and outbox relays its files ask for, to queue
#: once each (``runs_gathered``) rather than a task per file.
_GATHERED: ContextVar[set | None] = ContextVar("edi_runs_gathered", default=None)


@contextmanager
def runs_gathered():
    """Within the block, the stream runs and the outbox relay that received files ask for are
    gathered, and queued once each when it ends (or at ``runs_flush``). A poll of a dozen files
    queued a dozen runs and relays before: the first run applied the lot, and the others each
    cost a task, its queries and its log, finding nothing (about a tenth of an EDI order's
    worker CPU)."""
    wanted: set = set()
    token = _GATHERED.set(wanted)
    try:
        yield
    finally:
        _GATHERED.reset(token)
        _queue(wanted)


def runs_flush() -> None:
    """Queue what the enclosing ``runs_gathered`` has gathered so far (a long poll's files
    start being applied before its last is read)."""
    wanted = _GATHERED.get()
    if wanted:
        _queue(set(wanted))
        wanted.clear()


#: What a gathered poll asks for: (connector id, stream) for a stream run, RELAY for the relay.
RELAY = (None, None)


def _queue(wanted: set) -> None:
    """Queue, after the commit, each stream run and the relay ``wanted`` names."""
    from ..tasks import inbox_process_task, outbox_relay_task  # tasks import the inbox

    for item in wanted:
        if item == RELAY:
            outbox_relay_task.delay_on_commit()
        else:
            inbox_process_task.delay_on_commit(*item)


def _ask(item: tuple) -> None:
    """A stream run or the relay: gathered within ``runs_gathered``, else queued at once."""
    wanted = _GATHERED.get()
    if wanted is None:
        _queue({item})
    else:
        wanted.add(item)


def queue_stream(connector: Connector, stream: str = "orders") -> None:
    _ask((connector.pk, stream))


def queue_relay() -> None:
    """The outbox relay, after the commit (gathered within ``runs_gathered``)."""
    _ask(RELAY)


def _set_text(transaction_set: x12.TransactionSet, interchange: x12.Interchange) -> str:
    terminator = interchange.segment_terminator
    return "\n".join(
        segment.format(terminator, interchange.element_separator, interchange.component_separator)
        for segment in transaction_set.segments
    )


def _outcomes(interchange: Interchange) -> list[Outcome]:
    return [
        Outcome(d.code, d.control_number, d.state, "; ".join(d.errors) or d.reference)
        for d in interchange.documents.all()
    ]


def _send_997s(partner: TradingPartner, interchange: x12.Interchange, row: Interchange) -> None:
    """A 997 for every functional group but 997s themselves (acknowledgements are not
    acknowledged)."""
    groups = [g for g in interchange.groups if g.functional_id != "FA"]
    if not groups:
        return
    edi_send(
        partner=partner,
        documents=[("997", acks.ack_997(group, partner.version), "") for group in groups],
        expects_ack=False,
    )


def next_control_numbers(partner: TradingPartner, count: int) -> int:
    """Take ``count`` control numbers for ``partner`` and return the first. The row lock makes
    concurrent writers queue, so the numbers run without gaps or repeats."""
    # One statement (three before: the row made if missing, locked, then written): the update
    # takes the row lock, held to the commit, as select_for_update did. PostgreSQL and SQLite
    # (3.35+) both take ON CONFLICT .. RETURNING.
    meta, quote = ControlNumber._meta, connection.ops.quote_name
    table = quote(meta.db_table)
    partner_column = quote(meta.get_field("partner").column)
    last = quote(meta.get_field("last").column)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({partner_column}, {last}) VALUES (%s, %s) "  # noqa: S608
            f"ON CONFLICT ({partner_column}) DO UPDATE SET {last} = {table}.{last} + excluded.{last} "
            f"RETURNING {last}",
            [partner.pk, count],
        )
        return cursor.fetchone()[0] - count + 1


def edi_send(
    *,
    partner: TradingPartner,
    documents: list[tuple[str, x12.Body, str]],
    expects_ack: bool = True,
    links: list[dict] | None = None,
) -> Interchange:
    """One interchange to ``partner`` holding ``documents`` [(code, body, reference)], a group
    per code, queued in the outbox in the caller's transaction. ``links`` gives each document's
    order, shipment or invoice."""
    now = timezone.localtime()
    by_code: dict[str, list[int]] = {}
    for index, (code, _, _) in enumerate(documents):
        by_code.setdefault(code, []).append(index)
    first = next_control_numbers(partner, 1 + len(by_code) + len(documents))
    control, numbers = first, iter(range(first + 1, first + 1 + len(by_code) + len(documents)))
    groups, positions = [], {}
    for code, indexes in by_code.items():
        sets = []
        for index in indexes:
            st = f"{next(numbers):04d}"[-9:]
            positions[index] = st
            sets.append((code, st, documents[index][1]))
        groups.append((FUNCTIONAL_IDS[code], next(numbers), sets))
    envelope = x12.Envelope(
        sender_qualifier=settings.O2C_EDI_ISA_QUALIFIER,
        sender=settings.O2C_EDI_ISA_ID,
        receiver_qualifier=partner.isa_qualifier,
        receiver=partner.isa_id,
        gs_sender=settings.O2C_EDI_GS_ID,
        gs_receiver=partner.gs_id,
        version=partner.version,
        usage="P" if partner.production else "T",
        interchange_control=control,
        date=now.strftime("%Y%m%d"),
        time=now.strftime("%H%M"),
    )
    text = x12.write(envelope, groups)
    codes = "-".join(sorted(by_code))
    file_name = f"{partner.name}-{control:09d}-{codes}.x12"
    row = Interchange.objects.create(
        partner=partner,
        direction=Direction.OUT,
        sender=f"{envelope.sender_qualifier}:{envelope.sender}",
        receiver=f"{partner.isa_qualifier}:{partner.isa_id}",
        control_number=f"{control:09d}",
        usage=envelope.usage,
        version=partner.version[:5],
        state=Interchange.State.QUEUED,
        ack_state="awaiting" if expects_ack else "",
        ack_due_at=now + timedelta(hours=partner.ack_hours) if expects_ack else None,
        raw=text,
        via="outbox",
        file_name=file_name,
        at=now,
    )
    Document.objects.bulk_create(
        [
            Document(
                interchange=row,
                code=code,
                control_number=positions[index],
                group_control=str(next(g for g in groups if g[0] == FUNCTIONAL_IDS[code])[1]),
                functional_id=FUNCTIONAL_IDS[code],
                position=index + 1,
                state=Document.State.SENT,
                ack_state="awaiting" if expects_ack else "",
                reference=reference[:64],
                **(links[index] if links else {}),
            )
            for index, (code, _, reference) in enumerate(documents)
        ]
    )
    message = OutboundMessage.objects.create(
        connector=partner.connector,
        topic="edi",
        key=f"edi:{partner.name}:{control:09d}",
        payload={
            "key": f"edi:{partner.name}:{control:09d}",
            "partner": partner.name,
            "file_name": file_name,
            "interchange_id": row.pk,
            "x12": text,
        },
        created_at=now,
    )
    row.outbound = message
    row.save(update_fields=["outbound"])
    queue_relay()
    return row
