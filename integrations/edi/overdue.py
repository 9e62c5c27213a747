"""What a partner or o2c owes and has not sent in time becomes an integration hold on the order
concerned: a 997 for an interchange o2c sent (``ack_hours``), an 855 the partner requires for
an order received ``document_hours`` ago, an interchange still not delivered after that long.
Each order is held once per reason: released, the hold is not raised again by the next run."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from core.roles import get_system_user
from exceptions.models import Hold
from orders.models import Order, OrderState

from .models import AckState, Direction, Document, Interchange, TradingPartner

logger = logging.getLogger(__name__)
ACK_OVERDUE = "EDI_ACK_OVERDUE"
DOCUMENT_OVERDUE = "EDI_DOCUMENT_OVERDUE"


def _hold(order_ids, code: str, context: dict, system) -> int:
    from exceptions.services import hold_raise  # exceptions' services import integrations' peers

    held = set(
        Hold.objects.filter(order_id__in=order_ids, reason__code=code).values_list(
            "order_id", flat=True
        )
    )
    raised = 0
    for order_id in sorted(set(order_ids) - held):
        hold_raise(order_id=order_id, reason_code=code, actor=system, context=context)
        raised += 1
    return raised


def edi_overdue(*, now=None) -> dict[str, int]:
    """One run: the overdue 997s in one transaction, then each partner's documents in its own,
    so one partner's trouble (a lock, a failing hold) neither delays nor undoes the others'."""
    now = now or timezone.now()
    system = get_system_user()
    counts = {"acks": 0, "documents": 0, "holds": 0}
    with transaction.atomic():
        _acks_overdue(now, system, counts)
    for partner in TradingPartner.objects.select_related("connector").filter(active=True):
        try:
            with transaction.atomic():
                _documents_overdue(partner, now, system, counts)
        except Exception:  # noqa: BLE001 - the next partners are still looked at
            logger.exception("EDI overdue scan failed for %s", partner.name)
            counts["failed"] = counts.get("failed", 0) + 1
    return counts


def _acks_overdue(now, system, counts: dict[str, int]) -> None:
    late = list(
        # of=self: the partner is joined for its name only
        Interchange.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("partner")
        .filter(direction=Direction.OUT, ack_state=AckState.AWAITING, ack_due_at__lt=now)
    )
    for interchange in late:
        interchange.ack_state = AckState.OVERDUE
        interchange.save(update_fields=["ack_state"])
        documents = Document.objects.filter(interchange=interchange)
        documents.filter(ack_state=AckState.AWAITING).update(ack_state=AckState.OVERDUE)
        orders = [pk for pk in documents.values_list("order_id", flat=True) if pk]
        counts["acks"] += 1
        counts["holds"] += _hold(
            orders,
            ACK_OVERDUE,
            {
                "partner": interchange.partner.name if interchange.partner else "",
                "interchange": interchange.control_number,
                "sets": sorted(set(documents.values_list("code", flat=True))),
                "due": interchange.ack_due_at.isoformat(),
            },
            system,
        )


def _documents_overdue(partner: TradingPartner, now, system, counts: dict[str, int]) -> None:
    cutoff = now - timedelta(hours=partner.document_hours)
    held = Hold.objects.filter(order_id=OuterRef("order_id"), reason__code=DOCUMENT_OVERDUE)
    if partner.wants_855:
        acknowledged = Document.objects.filter(
            code="855", interchange__direction=Direction.OUT, order_id=OuterRef("pk")
        )
        waiting = list(
            Order.objects.filter(
                source_system=partner.connector.name,
                external_id__startswith=f"{partner.name}:",
                received_at__lt=cutoff,
            )
            .exclude(Exists(acknowledged))
            # held once already: the next run looks further on
            .exclude(Exists(Hold.objects.filter(order_id=OuterRef("pk"),
                                                reason__code=DOCUMENT_OVERDUE)))
            .exclude(state=OrderState.CANCELLED)
            .order_by("received_at")
            .values_list("pk", flat=True)[:500]
        )  # fmt: skip
        counts["documents"] += len(waiting)
        counts["holds"] += _hold(
            waiting,
            DOCUMENT_OVERDUE,
            {"partner": partner.name, "document": "855", "hours": partner.document_hours},
            system,
        )
    stuck: dict[str, list[int]] = {}
    for order_id, code in (
        Document.objects.filter(
            interchange__partner=partner,
            interchange__direction=Direction.OUT,
            interchange__state=Interchange.State.QUEUED,
            interchange__at__lt=cutoff,
            order__isnull=False,
        )
        .exclude(Exists(held))
        .values_list("order_id", "code")[:500]
    ):
        stuck.setdefault(code, []).append(order_id)
    for code, orders in sorted(stuck.items()):  # one read of the holds for each kind of set
        counts["documents"] += len(orders)
        counts["holds"] += _hold(
            orders,
            DOCUMENT_OVERDUE,
            {"partner": partner.name, "document": code, "hours": partner.document_hours,
             "why": "not delivered"},
            system,
        )  # fmt: skip
