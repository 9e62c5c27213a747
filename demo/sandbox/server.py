"""The sandbox HTTP service: streams read by updated-since keyset, the ids of a window for
reconciliation, outbound intake, and the switches (``switches.py``) that inject faults.

`GET /<kind>/<stream>?updated_since=<ISO>&after_id=<id>&limit=<n>` answers the records whose
(updated_at, id) comes after the keyset, oldest change first, with ``next`` (the keyset of the
last record served, or null) and ``more``; `&id=<id>` (repeated) answers those records instead.
`GET /<kind>/<stream>/ids?updated_since=..&updated_before=..` answers the id, version and
updated_at of every record changed in the window, paged the same way. The WMS takes releases
(`POST /wms/releases`), changes (`/wms/changes`) and cancellations (`/wms/cancellations`), and
returns to expect (`/wms/returns`), whose receipts it serves as the stream `wms/receipts`.

The EDI buyer (``edi.py``) drops X12 850s and 860s in o2c's folder for it and takes o2c's
855/856/810/997 at `POST /edi/receive`, read with its own reader; `GET /edi/_truth` tells tests
what each PO should become and what the buyer received and rejected, and why.

The bank pays the invoices the ERP booked (`POST /erp/invoices`) and serves its statement files
as the stream `GET /bank/statements`; `GET /bank/_truth` tells tests what each payment pays.
"""

import json
import random
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from .data import Catalog
from .feed import after, stamp_micros, stamp_text
from .state import SandboxState
from .switches import SwitchError, switches_apply, switches_now

STREAM_PATHS = {
    "erp": {"customers", "items", "prices", "ar", "orders"},
    "wms": {"inventory", "shipments", "receipts"},
    "tms": {"deliveries"},
    "bank": {"statements"},
}


#: The ERP's cash postings: path -> the state's book of them, by key.
CASH_BOOKS = {
    "/erp/cash-applications": "cash_applications",
    "/erp/cash-reversals": "cash_reversals",
    "/erp/write-offs": "write_offs",
}


class Handler(BaseHTTPRequestHandler):
    state: SandboxState  # set on the subclass the server builds
    protocol_version = "HTTP/1.1"
    # Headers and body go out as two writes; with Nagle's algorithm on, a kept-alive client
    # waits out its delayed ACK (about 40 ms) for the body of every answer.
    disable_nagle_algorithm = True

    def log_message(self, format, *args):  # noqa: A002 - keep test output quiet
        pass

    def _send(self, status: int, body: dict | str) -> None:
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def _fault(self) -> bool:
        state = self.state
        if state.latency_ms:
            time.sleep(state.latency_ms / 1000)
        with state.lock:
            status = state.fail_next.pop(0) if state.fail_next else None
        if status:
            self._send(status, {"error": f"injected {status}"})
            return True
        return False

    def do_GET(self):  # noqa: N802 - http.server's naming
        url = urlparse(self.path)
        parts = url.path.strip("/").split("/")
        if parts == ["_state"]:
            return self._send(
                200,
                {
                    "releases": len(self.state.releases),
                    "release_posts": self.state.release_posts,
                    "invoices": len(self.state.invoices),
                    "credit_memos": len(self.state.credit_memos),
                    "changes": len(self.state.changes),
                    "cancellations": len(self.state.cancellations),
                    "returns": len(self.state.returns),
                    "payments": len(self.state.bank.payments),
                    "statements": len(self.state.bank.files),
                },
            )
        if parts == ["bank", "_truth"]:
            return self._send(200, self.state.bank_truth())
        if parts == ["edi", "_truth"]:
            self.state.edi.release_due_acks()
            return self._send(200, self.state.edi.truth())
        if parts == ["_control"]:
            with self.state.lock:
                now = switches_now(self.state)
            return self._send(200, {"switches": now})
        if self._fault():
            return None
        if len(parts) not in (2, 3) or parts[1] not in STREAM_PATHS.get(parts[0], set()):
            return self._send(404, {"error": "no such stream"})
        if len(parts) == 3 and parts[2] != "ids":
            return self._send(404, {"error": "no such endpoint"})
        query = parse_qs(url.query)
        try:
            since = stamp_micros(query["updated_since"][0]) if "updated_since" in query else -1
            before = stamp_micros(query["updated_before"][0]) if "updated_before" in query else None
            limit = int(query.get("limit", ["100"])[0])
        except ValueError as exc:
            return self._send(400, {"error": f"bad query: {exc}"})
        rows = self.state.rows(parts[1])
        if len(parts) == 3:
            return self._ids(rows, since, query, before, max(1, min(limit, 5000)))
        wanted = query.get("id")
        if wanted is not None:
            rows = [row for row in rows if row.id in set(wanted)]
        else:
            rows = after(rows, since, query.get("after_id", [""])[0])
        limit = max(1, min(limit, 1000))
        served = rows[:limit]
        page = [row.served() for row in served]
        for record in page:
            if record["id"] in self.state.malformed:
                record.pop("customer", None)
                record.pop("sku", None)
                if "lines" in record:
                    record["lines"] = [
                        {"line": 1, "sku": "SB-0001", "quantity": "-3", "unit_price": "abc"}
                    ]
        if self.state.duplicates:
            page = page + [dict(r) for r in page]
        if self.state.shuffle:
            random.shuffle(page)
        return self._send(
            200, {"records": page, "next": _keyset(served), "more": len(rows) > limit}
        )

    def _ids(self, rows, since: int, query: dict, before: int | None, limit: int) -> None:
        """The id, version and updated_at of each record changed in [updated_since,
        updated_before), for a reconciliation to compare with what it holds."""
        rows = after(rows, since, query.get("after_id", [""])[0], before)
        served = rows[:limit]
        ids = [
            {
                "id": row.id,
                "version": row.record.get("version", 1),
                "updated_at": stamp_text(row.micros),
            }
            for row in served
        ]
        return self._send(200, {"ids": ids, "next": _keyset(served), "more": len(rows) > limit})

    def do_POST(self):  # noqa: N802
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/_control":
            return self._control(body)
        if self._fault():
            return None
        if url.path == "/wms/releases":
            try:
                message = json.loads(body)
                key = message["key"]
            except (ValueError, KeyError):
                return self._send(400, {"error": "a JSON body with a key is required"})
            with self.state.lock:
                self.state.release_posts += 1
                duplicate = key in self.state.releases
                self.state.releases.setdefault(key, message)
                self.state.release_times.setdefault(key, time.monotonic())
            return self._send(200, {"status": "accepted", "duplicate": duplicate})
        if url.path == "/wms/returns":
            return self._post_return(body)
        if url.path == "/edi/receive":
            answer = self.state.edi.receive(body)
            self.state.edi.release_due_acks()
            return self._send(200, answer)
        if url.path in ("/wms/changes", "/wms/cancellations"):
            return self._post_instruction(url.path, body)
        if url.path in ("/erp/invoices", "/erp/credit-memos"):
            return self._post_document(url.path, body)
        if url.path in CASH_BOOKS:
            return self._post_cash(url.path, body)
        return self._send(404, {"error": "no such endpoint"})

    def _post_cash(self, path: str, body: bytes) -> None:
        """The ERP books cash applied (to invoices, on account), its reversals and write-offs,
        once per key, and answers with a reference; a repeat gets the same answer."""
        try:
            message = json.loads(body)
            key = message["key"]
        except (ValueError, KeyError, TypeError):
            return self._send(400, {"error": "a JSON body with a key is required"})
        book = getattr(self.state, CASH_BOOKS[path])
        with self.state.lock:
            duplicate = key in book
            book.setdefault(key, message)
        return self._send(
            200, {"status": "posted", "reference": f"CA-{key}", "duplicate": duplicate}
        )

    def _post_return(self, body: bytes) -> None:
        """The warehouse expects a return, once per key; a repeat gets the same answer."""
        try:
            message = json.loads(body)
            key, lines = message["key"], message["lines"]
            message["rma"]
            if not lines or not all("line" in line and "quantity" in line for line in lines):
                raise KeyError("lines")
        except (ValueError, KeyError, TypeError):
            return self._send(400, {"error": "a JSON body with key, rma and lines is required"})
        with self.state.lock:
            duplicate = key in self.state.returns
            self.state.returns.setdefault(key, message)
            self.state.return_times.setdefault(key, time.monotonic())
        return self._send(200, {"status": "expected", "duplicate": duplicate})

    def _post_instruction(self, path: str, body: bytes) -> None:
        """The warehouse honours a change (the release ships the new lines) or a cancellation
        (the release is dropped: nothing ships), once per key; for an order it already shipped
        it answers "already_shipped", and for one it was never told to ship, 409."""
        try:
            message = json.loads(body)
            key, number = message["key"], message["order"]
        except (ValueError, KeyError, TypeError):
            return self._send(400, {"error": "a JSON body with key and order is required"})
        state = self.state
        book = state.changes if path == "/wms/changes" else state.cancellations
        with state.lock:
            if key in book:
                return self._send(200, {**book[key]["answer"], "duplicate": True})
        release = state.release_of(number)
        if release is None:
            return self._send(409, {"error": f"no release of order {number} to change"})
        if state.shipped(release):
            answer = {
                "status": "already_shipped",
                "message": f"Order {number} already shipped; the warehouse cannot "
                + ("change it" if book is state.changes else "cancel it"),
            }
        else:
            answer = {"status": "accepted"}
        with state.lock:
            book[key] = {**message, "answer": answer}
            if answer["status"] == "accepted" and book is state.changes:
                state.releases[release] = {**state.releases[release], "lines": message["lines"]}
            elif answer["status"] == "accepted":
                state.releases.pop(release, None)
                state.release_times.pop(release, None)
        return self._send(200, {**answer, "duplicate": False})

    def _post_document(self, path: str, body: bytes) -> None:
        """The ERP books an invoice (or credit memo) once per key and answers with its reference;
        a repeat gets the same reference. With reject_invoices on, invoices are refused."""
        try:
            message = json.loads(body)
            key, number = message["key"], message["number"]
        except (ValueError, KeyError):
            return self._send(400, {"error": "a JSON body with key and number is required"})
        invoices = path == "/erp/invoices"
        book = self.state.invoices if invoices else self.state.credit_memos
        with self.state.lock:
            if invoices and self.state.reject_invoices and key not in book:
                return self._send(
                    422, {"error": f"customer {message.get('customer')} is closed in the ERP"}
                )
            duplicate = key in book
            book.setdefault(key, message)
            if invoices:
                self.state.invoice_times.setdefault(key, time.monotonic())
            reference = f"{'AR' if invoices else 'CR'}-{number}"
        return self._send(200, {"status": "posted", "reference": reference, "duplicate": duplicate})

    def _control(self, body: bytes) -> None:
        """Set switches; an unknown switch or a bad value is refused with a 400, changing nothing."""
        try:
            switches = json.loads(body or b"{}")
        except ValueError:
            return self._send(400, {"error": "Send a JSON object of switch: value."})
        try:
            switches_apply(self.state, switches)
        except SwitchError as exc:
            return self._send(400, {"error": str(exc)})
        with self.state.lock:
            now = switches_now(self.state)
        return self._send(200, {"ok": True, "switches": now})


def _keyset(rows) -> dict | None:
    """Where the next page starts: the (updated_at, id) of the last row served."""
    if not rows:
        return None
    return {"updated_since": stamp_text(rows[-1].micros), "after_id": rows[-1].id}


class Sandbox:
    """Start the sandbox on a loopback port in a background thread (port 0 picks a free one)."""

    def __init__(
        self, *, host: str = "127.0.0.1", port: int = 0, state: SandboxState | None = None
    ):
        self.state = state or SandboxState(catalog=Catalog())
        handler = type("BoundHandler", (Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "Sandbox":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
