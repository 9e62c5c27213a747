"""The sandbox HTTP service: paged streams, outbound intake, and switches that inject faults."""

import json
import random
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from .data import Catalog

MASTER_STREAMS = {"customers", "items", "prices", "ar", "inventory"}


@dataclass
class SandboxState:
    """Mutable sandbox state; tests and `/_control` flip the fault switches."""

    catalog: Catalog
    orders: int = 30  # orders available at start
    orders_per_minute: float = 0.0  # new orders appearing over time (make run: a steady trickle)
    started: float = field(default_factory=time.monotonic)
    fail_next: list[int] = field(default_factory=list)  # statuses to answer before serving again
    latency_ms: int = 0
    malformed: set[str] = field(default_factory=set)  # record ids served broken
    duplicates: bool = False  # serve every record twice
    shuffle: bool = False  # serve each page in random order (out-of-order delivery)
    releases: dict[str, dict] = field(default_factory=dict)  # outbound order releases by key
    release_posts: int = 0
    release_times: dict[str, float] = field(default_factory=dict)
    ship_after_seconds: float = 0.0  # how long the warehouse takes to ship a released order
    deliver_after_seconds: float = 0.0  # and the carrier to deliver it
    short_every: int = 7  # every n-th shipment ships one unit short on its first line
    orphan_shipments: list[str] = field(
        default_factory=list
    )  # shipments for orders o2c never released
    invoices: dict[str, dict] = field(default_factory=dict)  # invoices posted to the ERP, by key
    credit_memos: dict[str, dict] = field(default_factory=dict)
    reject_invoices: bool = False  # the ERP refuses every invoice posting (422)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def order_count(self) -> int:
        minutes = (time.monotonic() - self.started) / 60
        return self.orders + int(minutes * self.orders_per_minute)

    def records(self, stream: str) -> list[dict]:
        if stream in MASTER_STREAMS:
            return getattr(self.catalog, stream)
        if stream == "orders":
            return [self.catalog.order(i) for i in range(self.order_count())]
        if stream == "shipments":
            return self.shipments()
        if stream == "deliveries":
            return self.deliveries()
        raise KeyError(stream)

    def deliveries(self) -> list[dict]:
        """Proof of delivery for each shipment, once the carrier had time to deliver it."""
        now = time.monotonic()
        with self.lock:
            times = dict(self.release_times)
        return [
            {
                "id": f"POD-{s['order']}",
                "version": 1,
                "shipment": s["id"],
                "delivered_at": "2026-11-23T09:00:00Z",
                "signed_by": "R. Receiver",
            }
            for s in self.shipments()
            if s["tracking"] != "1Z-ORPHAN"
            and now - times.get(f"release:{s['order']}", now)
            >= self.ship_after_seconds + self.deliver_after_seconds
        ]

    def shipments(self) -> list[dict]:
        """One shipment per release, once the warehouse had time to ship it; in release order."""
        now = time.monotonic()
        with self.lock:
            released = [
                (key, self.releases[key])
                for key in self.releases
                if now - self.release_times.get(key, now) >= self.ship_after_seconds
            ]
        records = []
        for index, (_key, release) in enumerate(released, start=1):
            lines = [
                {"line": line["line"], "sku": line["sku"], "quantity": line["quantity"]}
                for line in release["lines"]
            ]
            if (
                self.short_every
                and index % self.short_every == 0
                and int(float(lines[0]["quantity"])) > 1
            ):
                lines[0]["quantity"] = str(int(float(lines[0]["quantity"])) - 1)
            records.append(
                {
                    "id": f"SHP-{release['order']}",
                    "version": 1,
                    "order": release["order"],
                    "warehouse": "SBX-EAST",
                    "carrier": "UPS",
                    "tracking": f"1Z{index:010d}",
                    "shipped_at": "2026-11-22T12:00:00Z",
                    "lines": lines,
                }
            )
        for number in self.orphan_shipments:
            records.append(
                {
                    "id": f"SHP-{number}",
                    "version": 1,
                    "order": number,
                    "warehouse": "SBX-EAST",
                    "carrier": "UPS",
                    "tracking": "1Z-ORPHAN",
                    "shipped_at": "2026-11-22T12:00:00Z",
                    "lines": [{"line": 1, "sku": "SB-0001", "quantity": "1"}],
                }
            )
        return records


STREAM_PATHS = {
    "erp": {"customers", "items", "prices", "ar", "orders"},
    "wms": {"inventory", "shipments"},
    "tms": {"deliveries"},
}


class Handler(BaseHTTPRequestHandler):
    state: SandboxState  # set on the subclass the server builds
    protocol_version = "HTTP/1.1"

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
                },
            )
        if self._fault():
            return None
        if len(parts) != 2 or parts[1] not in STREAM_PATHS.get(parts[0], set()):
            return self._send(404, {"error": "no such stream"})
        query = parse_qs(url.query)
        after = int(query.get("after", ["0"])[0] or 0)
        limit = max(1, min(int(query.get("limit", ["100"])[0]), 1000))
        records = self.state.records(parts[1])
        page = [dict(r) for r in records[after : after + limit]]
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
        # "next" always says where to resume, so a drained stream is polled from its end next time.
        resume = min(after + limit, len(records))
        return self._send(
            200, {"records": page, "next": str(resume), "more": resume < len(records)}
        )

    def do_POST(self):  # noqa: N802
        url = urlparse(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if url.path == "/_control":
            return self._control(json.loads(body or b"{}"))
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
        if url.path in ("/erp/invoices", "/erp/credit-memos"):
            return self._post_document(url.path, body)
        return self._send(404, {"error": "no such endpoint"})

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
            reference = f"{'AR' if invoices else 'CR'}-{number}"
        return self._send(200, {"status": "posted", "reference": reference, "duplicate": duplicate})

    def _control(self, switches: dict) -> None:
        state = self.state
        with state.lock:
            for name in (
                "fail_next",
                "latency_ms",
                "duplicates",
                "shuffle",
                "orders",
                "orders_per_minute",
                "reject_invoices",
            ):
                if name in switches:
                    setattr(state, name, switches[name])
            if "malformed" in switches:
                state.malformed = set(switches["malformed"])
        self._send(200, {"ok": True})


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
