"""Pull a connector's stream page by page into the inbox, advancing its cursor as it goes."""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from core.errors import ApplicationError, TransientError

from ..client import PermanentError, fetch_page
from ..models import Connector, SyncCursor


@dataclass
class SyncResult:
    pages: int = 0
    stored: int = 0
    done: bool = False


def _cursor(connector: Connector, stream: str) -> SyncCursor:
    return SyncCursor.objects.get_or_create(connector=connector, stream=stream)[0]


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
                    break  # another sync of this stream moved on; let it finish
                ids = inbox_store(connector=connector, stream=stream, records=page.records)
                result.pages += 1
                result.stored += len(ids)
                cursor.pages += 1
                cursor.messages += len(page.records)
                if page.next_cursor is not None:
                    cursor.cursor = page.next_cursor
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
