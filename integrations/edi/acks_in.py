"""997s from partners: each acknowledged set of an interchange o2c sent is marked accepted or
rejected, and the interchange with it; what no 997 acknowledges in time is found by
``edi_overdue_acks``."""

from __future__ import annotations

from .models import AckState, Direction, Document, Interchange, TradingPartner
from .x12 import TransactionSet, value

_SET_STATES = {"A": AckState.ACCEPTED, "E": AckState.ERRORS, "R": AckState.REJECTED}


def ack_apply(partner: TradingPartner, transaction_set: TransactionSet) -> str:
    """Apply one 997; returns what it acknowledged ("" when it names nothing o2c sent)."""
    group_control, verdicts, current, group_verdict = "", {}, None, ""
    for segment in transaction_set.segments:
        seg_id = segment.get_seg_id()
        if seg_id == "AK1":
            group_control = value(segment, 2)
        elif seg_id == "AK2":
            current = value(segment, 2)
        elif seg_id == "AK5" and current is not None:
            verdicts[current] = _SET_STATES.get(value(segment, 1), AckState.ERRORS)
            current = None
        elif seg_id == "AK9":
            group_verdict = value(segment, 1)
    documents = list(
        Document.objects.select_related("interchange").filter(
            interchange__partner=partner,
            interchange__direction=Direction.OUT,
            group_control=group_control.lstrip("0") or "0",
        )
    )
    if not documents:
        return ""
    # A 997 may leave out the AK2 loops (many translators do when all is well): a set it does
    # not name takes the group's verdict, AK901 (P, partly: the unnamed were accepted)
    unnamed = {"A": AckState.ACCEPTED, "E": AckState.ERRORS, "P": AckState.ACCEPTED}.get(
        group_verdict, AckState.REJECTED
    )
    for document in documents:
        document.ack_state = verdicts.get(document.control_number, unnamed)
    Document.objects.bulk_update(documents, ["ack_state"])
    interchanges = {d.interchange_id for d in documents}
    for interchange in Interchange.objects.filter(pk__in=interchanges):
        states = set(
            Document.objects.filter(interchange=interchange).values_list("ack_state", flat=True)
        )
        if AckState.AWAITING in states or AckState.OVERDUE in states:
            continue  # another group of it is still to be acknowledged
        interchange.ack_state = (
            AckState.ACCEPTED
            if states == {AckState.ACCEPTED}
            else AckState.REJECTED
            if states == {AckState.REJECTED}
            else AckState.ERRORS
        )
        interchange.save(update_fields=["ack_state"])
    return ", ".join(
        f"interchange {i.control_number}" for i in Interchange.objects.filter(pk__in=interchanges)
    )
