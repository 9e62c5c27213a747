"""HTTP client for connectors: pages of a stream read by updated-since keyset, the ids of a
window for reconciliation, and outbound posts, with errors sorted into transient (retry) and
permanent (dead letter).

The pull protocol: `GET <base>/<kind>/<stream>?updated_since=<ISO>&after_id=<id>&limit=<n>`
answers ``{"records": [...], "next": {"updated_since", "after_id"} | null, "more": bool}``, the
records whose (updated_at, id) comes after the keyset, oldest change first. A cursor is that
keyset as text, ``"<updated_at>|<id>"``; empty means from the start (``sync.py`` says why).
"""

import hashlib
import hmac
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

from core.errors import TransientError
from core.jsonlimits import JSONLimitError, loads_limited

from .models import Connector

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
#: A page of a stream (hundreds of records); a body beyond it, or nested deeper than any record
#: (core.jsonlimits.MAX_DEPTH), is refused before parsing instead of exhausting the worker.
MAX_PAGE_BYTES = 50_000_000


#: Signed posts, both ways (webhooks and EDI in, EDI out): ``sha256=<HMAC-SHA256 of the body>``
#: under the secret in the environment variable the connector or partner names.
SIGNATURE_HEADER = "X-O2C-Signature"


class PermanentError(Exception):
    """The other side answered, and retrying will not change the answer."""


def signature(credentials_ref: str, body: bytes) -> str | None:
    """The signature header's value for ``body``; None when no secret is configured."""
    secret = os.environ.get(credentials_ref) if credentials_ref else None
    if not secret:
        return None
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_ok(credentials_ref: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` under the secret; never without a secret. Compared in
    constant time, as bytes, so any header text is safe."""
    expected = signature(credentials_ref, body)
    return bool(expected) and hmac.compare_digest(
        expected.encode(), header.encode("utf-8", "replace")
    )


def checked(response: httpx.Response, who: str, where: str) -> httpx.Response:
    """The response, or the failure sorted: throttled or a server error is transient (retry),
    any other 4xx permanent (a dead letter)."""
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(f"{who}: HTTP {response.status_code} on {where}")
    if response.status_code >= 400:
        raise PermanentError(
            f"{who}: HTTP {response.status_code} on {where}: {response.text[:200]}"
        )
    return response


def send(method: str, url: str, *, who: str, where: str, **kwargs) -> httpx.Response:
    """One request with the connectors' timeout; a timeout or a broken connection is transient."""
    try:
        response = httpx.request(method, url, timeout=TIMEOUT, **kwargs)
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientError(f"{who}: {type(exc).__name__} on {where}") from exc
    return checked(response, who, where)


@dataclass(frozen=True)
class StreamPage:
    records: list
    next_cursor: str | None
    more: bool


def _headers(connector: Connector) -> dict:
    headers = {"Accept": "application/json"}
    token = os.environ.get(connector.credentials_ref) if connector.credentials_ref else None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _request(
    method: str, connector: Connector, path: str, *, empty_ok: bool = False, **kwargs
) -> dict:
    url = f"{connector.base_url.rstrip('/')}/{path.lstrip('/')}"
    response = send(
        method, url, who=connector.name, where=path, headers=_headers(connector), **kwargs
    )
    if empty_ok and response.status_code == 204:
        return {}  # accepted with nothing to say; any other empty answer is no answer
    try:
        return loads_limited(response.content, max_bytes=MAX_PAGE_BYTES)
    except JSONLimitError as exc:
        raise PermanentError(f"{connector.name}: response to {path} refused: {exc}") from exc
    except ValueError as exc:
        raise PermanentError(f"{connector.name}: response to {path} is not JSON") from exc


@dataclass(frozen=True)
class Keyset:
    """A position in a stream's change order: after the change stamped ``updated_at`` to the
    record ``after_id`` (an empty id: before every change stamped ``updated_at``)."""

    updated_at: datetime | None  # None: before the first change
    after_id: str = ""

    @classmethod
    def parse(cls, cursor: str) -> "Keyset":
        if not cursor:
            return cls(None)
        stamp, _, after_id = cursor.partition("|")
        return cls(parse_stamp(stamp), after_id)

    def text(self) -> str:
        return f"{format_stamp(self.updated_at)}|{self.after_id}" if self.updated_at else ""

    def rewound(self, overlap: timedelta) -> "Keyset":
        """Before every change stamped up to ``overlap`` earlier than this one."""
        return Keyset(self.updated_at - overlap) if self.updated_at else self

    def sort_key(self) -> tuple:
        return (self.updated_at is not None, self.updated_at or datetime.min, self.after_id)

    def params(self) -> dict:
        if self.updated_at is None:
            return {}
        return {"updated_since": format_stamp(self.updated_at), "after_id": self.after_id}


def parse_stamp(text) -> datetime:
    """An ISO 8601 timestamp as an aware datetime (UTC when it names no zone)."""
    try:
        moment = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise PermanentError(f"“{text}” is not an ISO 8601 timestamp") from exc
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def format_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _keyset(connector: Connector, stream: str, nxt) -> Keyset | None:
    if nxt is None:
        return None
    if not isinstance(nxt, dict) or not nxt.get("updated_since"):
        raise PermanentError(f"{connector.name}: {stream} page's next is not a keyset")
    return Keyset(parse_stamp(nxt["updated_since"]), str(nxt.get("after_id") or ""))


def fetch_page(connector: Connector, stream: str, cursor: str) -> StreamPage:
    """One page of the stream's changes after ``cursor`` (a Keyset's text; empty: the start)."""
    body = _request(
        "GET",
        connector,
        f"{connector.kind}/{stream}",
        params={**Keyset.parse(cursor).params(), "limit": connector.page_size},
    )
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise PermanentError(f"{connector.name}: {stream} page has no records list")
    nxt = _keyset(connector, stream, body.get("next"))
    return StreamPage(
        records=records,
        next_cursor=nxt.text() if nxt is not None else None,
        more=bool(body.get("more")) and nxt is not None,
    )


@dataclass(frozen=True)
class SourceId:
    external_id: str
    version: int
    updated_at: datetime


def fetch_ids(
    connector: Connector, stream: str, *, since: datetime | None, before: datetime
) -> list[SourceId]:
    """The id, version and updated_at of every record the source changed in [since, before)."""
    position, found = Keyset(since), []
    while True:
        body = _request(
            "GET",
            connector,
            f"{connector.kind}/{stream}/ids",
            params={
                **position.params(),
                "updated_before": format_stamp(before),
                "limit": RECONCILE_PAGE,
            },
        )
        ids = body.get("ids") if isinstance(body, dict) else None
        if not isinstance(ids, list):
            raise PermanentError(f"{connector.name}: {stream} ids page has no ids list")
        for row in ids:
            try:
                found.append(
                    SourceId(str(row["id"]), int(row["version"]), parse_stamp(row["updated_at"]))
                )
            except (KeyError, TypeError, ValueError) as exc:
                raise PermanentError(f"{connector.name}: {stream} id row {row!r}") from exc
        nxt = _keyset(connector, stream, body.get("next"))
        if not body.get("more") or nxt is None or nxt.sort_key() <= position.sort_key():
            return found
        position = nxt


def fetch_records(connector: Connector, stream: str, ids: list[str]) -> list:
    """The source's current records of these ids (those it still has), a page of ids at a time."""
    records = []
    for start in range(0, len(ids), RECORDS_BY_ID):
        body = _request(
            "GET",
            connector,
            f"{connector.kind}/{stream}",
            params={"id": ids[start : start + RECORDS_BY_ID], "limit": RECORDS_BY_ID},
        )
        page = body.get("records") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise PermanentError(f"{connector.name}: {stream} page has no records list")
        records.extend(page)
    return records


#: Ids per reconciliation request, and records asked for by id per request (a URL stays short).
RECONCILE_PAGE = 5000
RECORDS_BY_ID = 100


def post(connector: Connector, path: str, payload: dict) -> dict:
    """What the system answered to ``payload``: a JSON object (a 204 is an empty one). Any other answer (a list, a bare string, null) is refused as permanent: the relay
    reads fields of the answer, and one message's odd answer must not stop the messages
    behind it."""
    answer = _request("POST", connector, path, empty_ok=True, json=payload)
    if not isinstance(answer, dict):
        raise PermanentError(
            f"{connector.name}: answer to {path} is not a JSON object (a {type(answer).__name__})"
        )
    return answer
