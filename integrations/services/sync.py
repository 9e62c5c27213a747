"""Pull a connector's stream into the inbox by an updated-since watermark with an overlap window.

Why not positions: a cursor that counts records ("after the 250th") trusts the source never to
insert a record before it. When one does, every later record shifts and one is never read, and
a stream whose order changes (shipments listed by release) loses one on every poll, silently.

Why a watermark: every ERP, WMS and TMS API can list what changed since a time (NetSuite
``lastModifiedDate``, Dynamics ``modifiedon``, Salesforce ``SystemModstamp``, SAP OData
``LastChangeDateTime``, Odoo ``write_date``), while few offer a change sequence (SAP ODP delta
queues, Dataverse change tracking); the sandbox serves the same. A record inserted anywhere is
stamped when it changes, so it is newer than what was read, wherever it sits in the stream.
Pages are read by keyset on (updated_at, id), so records sharing a stamp are never cut apart.
The watermark is the source's own stamps, never o2c's clock, so clock skew does not matter.

Why an overlap: a change can be stamped earlier than it becomes visible (a long transaction
stamps at its start, a read replica lags, an application server's clock runs behind), and so
land behind the watermark. A pull that reaches the end of the stream leaves the cursor
``Connector.overlap_seconds`` behind the newest change it read, so the next pull reads that
window again; the inbox's idempotency key (connector, stream, id, version) makes each re-read a
no-op. A pull cut short by ``max_pages`` resumes exactly where it stopped, so a burst larger
than the overlap cannot trap it re-reading. A change back-dated further than the overlap is
found by the periodic reconciliation (``reconcile.py``), which compares ids per window with the
source, recovers what is missing and raises a hold for it.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, TransientError

from ..client import Keyset, PermanentError, fetch_page
from ..models import Connector, SyncCursor


@dataclass
class SyncResult:
    pages: int = 0
    stored: int = 0
    done: bool = False


def _cursor(connector: Connector, stream: str) -> SyncCursor:
    return SyncCursor.objects.get_or_create(connector=connector, stream=stream)[0]


def next_position(position: str, page_next: str | None, *, drained: bool, overlap) -> str:
    """Where the next page, or the next pull, starts. Mid-stream: after the last record read.
    At the end: ``overlap`` behind it, unless the cursor already stands before a stamp (its id
    is empty: a rewound cursor, or the start), which an empty page leaves where it is."""
    reached = Keyset.parse(page_next) if page_next is not None else Keyset.parse(position)
    if not drained:
        return reached.text()
    return reached.rewound(overlap).text() if reached.after_id else reached.text()


def connector_sync(
    *, connector_id: int, stream: str, max_pages: int = 50, on_page=None
) -> SyncResult:
    """Read pages from the stored cursor until the stream is drained (or max_pages). Each page is
    stored and the cursor advanced in one transaction, so a crash re-reads at most one page, and
    the inbox's idempotency key makes that re-read harmless."""
    from .inbox import inbox_store

    connector = Connector.objects.get(pk=connector_id)
    if stream not in connector.streams:
        raise ApplicationError(f"{connector.name} has no stream “{stream}”.")
    if not connector.enabled:
        SyncCursor.objects.filter(connector=connector, stream=stream).update(running=False)
        return SyncResult(done=True)
    overlap = timedelta(seconds=connector.overlap_seconds)
    result = SyncResult()
    with transaction.atomic():
        cursor = SyncCursor.objects.select_for_update().get(pk=_cursor(connector, stream).pk)
        cursor.running, cursor.pages, cursor.messages = True, 0, 0
        cursor.save()
    try:
        while result.pages < max_pages:
            position = SyncCursor.objects.get(pk=cursor.pk).cursor
            page = fetch_page(connector, stream, position)  # network I/O outside any transaction
            with transaction.atomic():
                cursor = SyncCursor.objects.select_for_update().get(pk=cursor.pk)
                if cursor.cursor != position:
                    break  # another sync of this stream moved it (or a reconciliation rewound it)
                ids = inbox_store(connector=connector, stream=stream, records=page.records)
                result.pages += 1
                result.stored += len(ids)
                cursor.pages += 1
                cursor.messages += len(page.records)
                cursor.cursor = next_position(
                    position, page.next_cursor, drained=not page.more, overlap=overlap
                )
                cursor.save()
            if on_page:
                on_page(result)
            if not page.more:
                result.done = True
                break
    except (TransientError, PermanentError) as exc:
        SyncCursor.objects.filter(pk=cursor.pk).update(
            running=False, last_error=str(exc), last_error_at=timezone.now()
        )
        raise
    SyncCursor.objects.filter(pk=cursor.pk).update(
        running=False, last_success_at=timezone.now(), last_error=""
    )
    return result
