"""HTTP client for connectors: pages of a stream, and outbound posts, with errors sorted into
transient (retry) and permanent (dead letter)."""

import os
from dataclasses import dataclass

import httpx

from core.errors import TransientError

from .models import Connector

TIMEOUT = httpx.Timeout(10.0, connect=5.0)


class PermanentError(Exception):
    """The other side answered, and retrying will not change the answer."""


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


def _request(method: str, connector: Connector, path: str, **kwargs) -> dict:
    url = f"{connector.base_url.rstrip('/')}/{path.lstrip('/')}"
    try:
        response = httpx.request(
            method, url, headers=_headers(connector), timeout=TIMEOUT, **kwargs
        )
    except (httpx.TimeoutException, httpx.TransportError) as exc:
        raise TransientError(f"{connector.name}: {type(exc).__name__} on {path}") from exc
    if response.status_code == 429 or response.status_code >= 500:
        raise TransientError(f"{connector.name}: HTTP {response.status_code} on {path}")
    if response.status_code >= 400:
        raise PermanentError(
            f"{connector.name}: HTTP {response.status_code} on {path}: {response.text[:200]}"
        )
    try:
        return response.json()
    except ValueError as exc:
        raise PermanentError(f"{connector.name}: response to {path} is not JSON") from exc


def fetch_page(connector: Connector, stream: str, cursor: str) -> StreamPage:
    body = _request(
        "GET",
        connector,
        f"{connector.kind}/{stream}",
        params={"after": cursor or "0", "limit": connector.page_size},
    )
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(records, list):
        raise PermanentError(f"{connector.name}: {stream} page has no records list")
    nxt = body.get("next")
    return StreamPage(
        records=records,
        next_cursor=str(nxt) if nxt is not None else None,
        more=bool(body.get("more")) and nxt is not None,
    )


def post(connector: Connector, path: str, payload: dict) -> dict:
    return _request("POST", connector, path, json=payload)
