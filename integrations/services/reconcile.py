"""Reconcile each pulled stream with its source: the ids and versions it changed in a window,
against the inbox. What the pulls missed is recovered, recorded, and held on the order it names.

The window ends at the stream's cursor, the point its pulls have read up to (changes after it are
the next pull's), and starts ``lookback`` before it. A record changed in the window that is not
in the inbox at that version or a newer one was missed: stamped further back than the pull's
overlap, or lost by the source's own paging. For each one the reconciliation
- asks the source for the record by id and stores it in the inbox (a repeat changes nothing),
  queueing the stream's processing after commit;
- keeps a MissedRecord, resolved once the record is in the inbox, which an integration admin
  sees whether or not o2c knows the order yet (a new order or master data names none);
- raises a hold (reason MISSED_REASON, integration admin queue) on the order the record names,
  when o2c knows it: the order went without that change for a while, and someone checks it.
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError
from core.roles import get_system_user
from orders.models import Order

from ..client import Keyset, SourceId, fetch_ids, fetch_records
from ..models import Connector, InboundMessage, MissedRecord, SyncCursor

logger = logging.getLogger(__name__)

#: The hold reason a missed record raises on its order.
MISSED_REASON = "RECORD_MISSED"
#: How far behind the cursor an hourly run compares; wider runs pass their own.
LOOKBACK = timedelta(hours=24)


@dataclass
class ReconcileResult:
    stream: str
    since: datetime | None = None
    until: datetime | None = None
    source: int = 0  # records the source changed in the window
    present: int = 0  # of those, in the inbox at that version or newer
    missed: list[str] = field(default_factory=list)
    recovered: int = 0
    held: int = 0
    resolved: int = 0  # missed by earlier runs, in the inbox now

    def summary(self) -> str:
        if self.until is None:
            return "Nothing pulled yet."
        text = (
            f"{self.since:%Y-%m-%d %H:%M}–{self.until:%Y-%m-%d %H:%M} UTC: {self.source:,} at the "
            f"source, {self.present:,} here, {len(self.missed):,} missed"
        )
        if self.missed:
            text += f" ({', '.join(self.missed[:5])}{', …' if len(self.missed) > 5 else ''})"
            text += f", {self.recovered:,} recovered, {self.held:,} held"
        return text + "."


def connector_reconcile(*, connector_id: int, lookback: timedelta = LOOKBACK) -> dict[str, str]:
    """Every stream of a connector in turn (a paused connector is left alone); returns what each
    one found, in words."""
    connector = Connector.objects.get(pk=connector_id)
    if not connector.enabled:
        return {}
    return {
        stream: stream_reconcile(
            connector_id=connector_id, stream=stream, lookback=lookback
        ).summary()
        for stream in connector.streams
    }


def connectors_to_reconcile() -> list[int]:
    return list(Connector.objects.filter(enabled=True).order_by("pk").values_list("pk", flat=True))


def stream_reconcile(
    *, connector_id: int, stream: str, lookback: timedelta | None = LOOKBACK
) -> ReconcileResult:
    """Compare one stream's window with the source (``lookback`` None: the whole stream up to
    the cursor) and act on what is missing. Reads the source outside any transaction."""
    connector = Connector.objects.get(pk=connector_id)
    if stream not in connector.streams:
        raise ApplicationError(f"{connector.name} has no stream “{stream}”.")
    cursor = SyncCursor.objects.filter(connector=connector, stream=stream).first()
    result = ReconcileResult(stream)
    result.until = Keyset.parse(cursor.cursor).updated_at if cursor else None
    if result.until is None:
        return result  # never pulled: nothing the pulls claim to have read
    result.since = result.until - lookback if lookback is not None else None
    listed = fetch_ids(connector, stream, since=result.since, before=result.until)
    newest = _inbox_versions(connector, stream, [s.external_id for s in listed])
    missing = [s for s in listed if newest.get(s.external_id, 0) < s.version]
    result.source, result.present = len(listed), len(listed) - len(missing)
    served = {}
    if missing:
        for record in fetch_records(connector, stream, [s.external_id for s in missing]):
            if isinstance(record, dict) and record.get("id") is not None:
                served[str(record["id"])] = record
    with transaction.atomic():
        _act_on_missing(connector, stream, missing, served, result)
        result.resolved = _resolve_found(connector, stream)
        SyncCursor.objects.filter(pk=cursor.pk).update(
            reconciled_at=timezone.now(), reconciliation=result.summary()[:300]
        )
    if missing:
        logger.warning("%s %s reconciliation: %s", connector.name, stream, result.summary())
    return result


def _inbox_versions(connector: Connector, stream: str, ids: list[str]) -> dict[str, int]:
    """The newest version of each id the inbox holds (one indexed read per 5,000 ids)."""
    newest: dict[str, int] = {}
    for start in range(0, len(ids), 5000):
        for external_id, version in InboundMessage.objects.filter(
            connector=connector, stream=stream, external_id__any=ids[start : start + 5000]
        ).values_list("external_id", "version"):
            newest[external_id] = max(version, newest.get(external_id, 0))
    return newest


def _act_on_missing(connector, stream, missing: list[SourceId], served: dict, result) -> None:
    from exceptions.models import HoldReason
    from exceptions.services import hold_raise

    from ..tasks import inbox_process_task  # tasks import this module
    from .inbox import inbox_store

    if not missing:
        return
    now, system = timezone.now(), get_system_user()
    if served:  # stored like any pulled record: one without a usable id or version is a dead letter
        inbox_store(connector=connector, stream=stream, records=list(served.values()))
        inbox_process_task.delay_on_commit(connector.pk, stream)
    can_hold = HoldReason.objects.filter(code=MISSED_REASON).exists()
    if not can_hold:
        logger.error("Hold reason %s is not defined: missed records raise no hold", MISSED_REASON)
    for source in missing:
        record = served.get(source.external_id)
        back = record is not None and _version(record) >= source.version
        missed, _ = MissedRecord.objects.get_or_create(
            connector=connector,
            stream=stream,
            external_id=source.external_id,
            version=source.version,
            defaults={"source_updated_at": source.updated_at, "found_at": now},
        )
        result.missed.append(source.external_id)
        result.recovered += back
        missed.order = missed.order or _order_named(connector, stream, record)
        if back:
            missed.resolved_at = now
            missed.note = f"Missed by the pull; recovered by the reconciliation at {now:%H:%M} UTC."
        else:
            missed.note = (
                "The source lists it but did not serve it; asked again while in the window."
            )
        if missed.order is not None and missed.hold_id is None and can_hold:
            missed.hold = hold_raise(
                order_id=missed.order.pk,
                reason_code=MISSED_REASON,
                actor=system,
                context={
                    "stream": f"{connector.name} {stream}",
                    "record": f"{source.external_id} v{source.version}",
                    "changed_at_source": source.updated_at.isoformat(),
                    "found_by_reconciliation": now.isoformat(),
                    "recovered": "yes" if back else "no: the source did not serve it",
                },
            )
            result.held += 1
        missed.save()


def _resolve_found(connector: Connector, stream: str) -> int:
    """Missed records of earlier runs that have reached the inbox since."""
    open_ = list(
        MissedRecord.objects.filter(connector=connector, stream=stream, resolved_at__isnull=True)
    )
    newest = _inbox_versions(connector, stream, [m.external_id for m in open_])
    found = [m for m in open_ if newest.get(m.external_id, 0) >= m.version]
    for missed in found:
        missed.resolved_at = timezone.now()
        missed.note = "In the inbox since the last reconciliation."
        missed.save(update_fields=["resolved_at", "note"])
    return len(found)


def _version(record: dict) -> int:
    version = record.get("version", 1)
    return version if isinstance(version, int) and not isinstance(version, bool) else 0


def _order_named(connector: Connector, stream: str, record) -> Order | None:
    """The order a record is about, if o2c knows it: the order itself (a missed amendment), a
    shipment's order, or a delivered shipment's order."""
    if not isinstance(record, dict):
        return None
    if stream == "orders":
        return Order.objects.filter(
            source_system=connector.name, external_id=str(record.get("id"))
        ).first()
    if stream == "shipments" and isinstance(record.get("order"), str):
        return Order.objects.filter(number=record["order"]).first()
    if stream == "deliveries" and isinstance(record.get("shipment"), str):
        from billing.models import Shipment

        shipment = Shipment.objects.filter(external_id=record["shipment"]).first()
        return shipment.order if shipment else None
    return None
