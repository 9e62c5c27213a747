"""The sandbox's change feed: every record carries the time it last changed (``updated_at``), and
streams are read by keyset on (updated_at, id), as real ERPs serve an updated-since query.

A record is stamped when it first appears in its stream or its content changes, so a record
inserted anywhere in a stream's natural order is still newer than everything already read. The
`insert` switch can back-date a record's stamp, as a long transaction or a lagging replica does.
"""

import json
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
STAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def stamp_text(micros: int) -> str:
    """Whole microseconds since the epoch as ISO 8601 UTC (fixed width, so text sorts as time)."""
    return (EPOCH + timedelta(microseconds=micros)).strftime(STAMP_FORMAT)


def stamp_micros(text: str) -> int:
    """The inverse of stamp_text, for any ISO 8601 timestamp; raises ValueError if it is none."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(microseconds=1)


@dataclass
class Entry:
    micros: int  # the record's updated_at
    body: str  # its content when stamped; another content is a new change


@dataclass(frozen=True)
class Row:
    micros: int
    id: str
    record: dict

    @property
    def key(self) -> tuple[int, str]:
        return (self.micros, self.id)

    def served(self) -> dict:
        return {**self.record, "updated_at": stamp_text(self.micros)}


class ChangeFeed:
    """Stamps for every stream's records, kept as the streams change between reads."""

    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {}
        self._last = 0
        self._lock = threading.Lock()

    def rows(self, stream: str, records: list[dict], backdate: dict[str, float]) -> list[Row]:
        """The stream's current records in (updated_at, id) order. A record new to the feed, or
        changed since it was stamped, is stamped now; ``backdate`` (seconds by record id) sets
        a new record's stamp that far in the past instead."""
        current = {str(record["id"]): record for record in records}  # the last of a twin id wins
        with self._lock:
            entries = self._entries.setdefault(stream, {})
            now = time.time_ns() // 1000
            for record_id, record in current.items():
                body = json.dumps(record, sort_keys=True, default=str)
                entry = entries.get(record_id)
                if entry is not None and entry.body == body:
                    continue
                if entry is None and record_id in backdate:
                    micros = now - int(backdate[record_id] * 1_000_000)
                else:
                    # strictly increasing, even if the wall clock steps back
                    micros = self._last = max(now, self._last + 1)
                entries[record_id] = Entry(micros, body)
            for record_id in [r for r in entries if r not in current]:
                del entries[record_id]  # gone from the source
            rows = [Row(entries[i].micros, i, record) for i, record in current.items()]
        rows.sort(key=lambda row: row.key)
        return rows


def after(rows: list[Row], since: int, after_id: str, before: int | None = None) -> list[Row]:
    """The rows past the keyset (since, after_id), and stamped before ``before`` if given."""
    return [
        row
        for row in rows
        if row.key > (since, after_id) and (before is None or row.micros < before)
    ]
