"""Dead EDI letters replayed: a set is judged and mapped afresh (the item, unit or ship-to set up
since), and a file read again (its partner set up since). What now maps goes on to the orders
stream (or the remittances stream) as if it had just arrived; what still cannot is a dead letter again, saying why."""

from __future__ import annotations

from ..services.attempts import finish
from .models import Document, TradingPartner
from .services import STREAM_OF, edi_receive, judge_set, queue_stream
from .x12 import Segment, TransactionSet


def read_back(record: dict) -> TransactionSet:
    element, component, terminator = record["separators"]
    segments = [
        Segment(text, terminator, element, component)
        for text in (line.strip() for line in record["x12"].split(terminator + "\n"))
        if text
    ]
    segments = [s for s in segments if s.get_seg_id()]
    return TransactionSet(
        code=record["code"], control=record["control"], segments=segments, offset=1
    )


def set_message_apply(message, record, counts, system) -> None:
    from ..services.inbox import inbox_store

    partner = (
        TradingPartner.objects.select_related("customer", "connector")
        .filter(name=record.get("partner", ""))
        .first()
    )
    if partner is None:
        finish(
            message, error=f"no trading partner “{record.get('partner')}”", dead=True, actor=system
        )
        counts["dead"] += 1
        return
    mapped, problem = judge_set(read_back(record), partner)
    if problem:
        finish(message, error=f"still refused: {problem}"[:1000], dead=True, actor=system)
        counts["dead"] += 1
        return
    stream = STREAM_OF[record["code"]]
    if stream == "remittances":
        mapped["id"] = message.external_id
        reference = mapped["reference"]
    else:
        reference = mapped["edi"]["po_number"]
    inbox_store(
        connector=partner.connector, stream=stream, records=[mapped], keys=[message.external_id]
    )
    Document.objects.filter(message=message).update(reference=reference[:64])
    queue_stream(partner.connector, stream)
    finish(message, error=None, actor=system)
    counts["processed"] += 1


def interchange_message_apply(message, record, counts, system) -> None:
    # judged as the partner who delivered it, as on arrival: a file another partner's folder or
    # post carried is not taken in as its ISA06's once replayed
    delivered_by = record.get("partner") or ""
    partner = TradingPartner.objects.filter(name=delivered_by).first() if delivered_by else None
    if delivered_by and partner is None:
        finish(
            message,
            error=f"still refused: {delivered_by}, who delivered it, is no trading partner now",
            dead=True,
            actor=system,
        )
        counts["dead"] += 1
        return
    received = edi_receive(
        raw=record["x12"], via="replay", file_name=record.get("file", ""), partner=partner
    )
    if received.error:
        finish(message, error=f"still refused: {received.error}"[:1000], dead=True, actor=system)
        counts["dead"] += 1
        return
    finish(message, error=None, actor=system)
    counts["processed"] += 1


def map_kept(record) -> dict:
    """The inbox's mapper for these streams: the record as kept, checked for what replay reads."""
    from ..mappers import MappingError

    if not isinstance(record, dict) or not isinstance(record.get("x12"), str):
        raise MappingError("x12: the kept interchange text is missing")
    return record
