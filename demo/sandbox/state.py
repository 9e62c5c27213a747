"""What the sandbox serves: its streams as generated, amended or released, records inserted
mid-stream, the outbound postings it received (releases, changes, cancellations, invoices) and
the bank's statements paying those invoices. The switches set these fields (``switches.py``)."""

import threading
import time
from dataclasses import dataclass, field

from .bank import STATEMENT_SIZE, Bank
from .data import AMENDMENTS, Catalog, amended
from .edi import EdiPartner
from .feed import ChangeFeed
from .payments import DEFAULT_NOISE

MASTER_STREAMS = {"customers", "items", "prices", "ar", "inventory"}


@dataclass
class SandboxState:
    """Mutable sandbox state; tests set fields directly, `POST /_control` through the switches."""

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
    # shipments for orders o2c never released
    orphan_shipments: list[str] = field(default_factory=list)
    # records inserted mid-stream by the `insert` switch: (position, record) by stream
    inserted: dict[str, list[tuple[int, dict]]] = field(default_factory=dict)
    # seconds to back-date a record's first stamp by, by stream and record id
    backdate: dict[str, dict[str, float]] = field(default_factory=dict)
    shipped_early: set[str] = field(default_factory=set)  # release keys shipped by `insert`
    invoices: dict[str, dict] = field(default_factory=dict)  # invoices posted to the ERP, by key
    invoice_times: dict[str, float] = field(default_factory=dict)  # when each was posted
    credit_memos: dict[str, dict] = field(default_factory=dict)
    # cash o2c applied, reversed and wrote off, as posted to the ERP, by key
    cash_applications: dict[str, dict] = field(default_factory=dict)
    cash_reversals: dict[str, dict] = field(default_factory=dict)
    write_offs: dict[str, dict] = field(default_factory=dict)
    reject_invoices: bool = False  # the ERP refuses every invoice posting (422)
    # The ERP amends every n-th order (0: none) this many seconds after it appeared, each in
    # turn by the next of data.AMENDMENTS: a newer version of the record (make run shows them).
    amend_every: int = 5
    amend_after_seconds: float = 180.0
    # versions set by the `amend` switch (or a test), by order id: the newest is served
    amendments: dict[str, dict] = field(default_factory=dict)
    # Returns the WMS was told to expect (by key), when, and how their receipts go: the
    # warehouse receives each this long after it was told; every n-th return arrives one unit
    # short on its first line, every m-th with one unit damaged on its last (0: never).
    returns: dict[str, dict] = field(default_factory=dict)
    return_times: dict[str, float] = field(default_factory=dict)
    receive_after_seconds: float = 0.0
    return_short_every: int = 3
    return_damaged_every: int = 2
    changes: dict[str, dict] = field(default_factory=dict)  # WMS change instructions by key
    cancellations: dict[str, dict] = field(default_factory=dict)  # WMS cancels by key
    # The bank pays each invoice the ERP booked this long after (``bank.py``), with this noise
    # mix, at most this many payments a statement file; the next n files go out malformed.
    pay_after_seconds: float = 0.0
    bank_noise: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_NOISE))
    bank_statement_size: int = STATEMENT_SIZE
    bank_malformed: int = 0
    bank: Bank = field(init=False)
    edi: EdiPartner = field(init=False)  # the EDI buyer (its drop folder set by whoever runs it)
    feed: ChangeFeed = field(default_factory=ChangeFeed)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.edi = EdiPartner(customer=self.catalog.customers[0], items=self.catalog.items)
        self.bank = Bank(
            customers={c["number"]: c for c in self.catalog.customers},
            seed=getattr(self.catalog, "seed", 7),
        )

    def order_count(self) -> int:
        minutes = (time.monotonic() - self.started) / 60
        return self.orders + int(minutes * self.orders_per_minute)

    def records(self, stream: str) -> list[dict]:
        """The stream in its natural order (the order a position cursor would trust)."""
        if stream in MASTER_STREAMS:
            records = list(getattr(self.catalog, stream))
        elif stream == "orders":
            records = [self._order_now(i) for i in range(self.order_count())]
            records = self._spliced(stream, records)
            with self.lock:  # an amended inserted order too
                return [self.amendments.get(r["id"], r) for r in records]
        elif stream == "shipments":
            return self.shipments()  # its insertions are spliced in there, for deliveries too
        elif stream == "deliveries":
            records = self.deliveries()
        elif stream == "receipts":
            records = self.receipts()
        elif stream == "statements":
            return self.statements()
        else:
            raise KeyError(stream)
        return self._spliced(stream, records)

    def statements(self) -> list[dict]:
        """The bank's statement files, oldest first, after paying whatever has come due."""
        self.bank_settle()
        with self.bank.lock:
            return [statement.record() for statement in self.bank.files]

    def bank_settle(self) -> None:
        """Pay the invoices booked at least pay_after_seconds ago and not paid yet. The bank's
        lock is held throughout, so two readers at once never pay an invoice twice."""
        with self.bank.lock:
            now = time.monotonic()
            with self.lock:
                due = {
                    key: invoice
                    for key, invoice in self.invoices.items()
                    if key not in self.bank.settled
                    and now - self.invoice_times.get(key, now) >= self.pay_after_seconds
                }
                memos = list(self.credit_memos.values())
                noise, size = dict(self.bank_noise), self.bank_statement_size
                malformed = self.bank_malformed
            # while the EDI buyer trades (it has a drop folder), it remits by 820
            self.bank.remit_by_edi = self.edi.customer["number"] if self.edi.drop else None
            broken = self.bank.settle(due, memos, noise=noise, size=size, malformed=malformed)
            if broken:
                with self.lock:
                    self.bank_malformed = max(0, self.bank_malformed - broken)
            advices, self.bank.edi_advices = self.bank.edi_advices, []
        if advices:
            self.edi.send_remittances(advices)

    def bank_truth(self) -> dict:
        """What every payment made so far truly pays (for tests and the benchmark only)."""
        self.bank_settle()
        with self.bank.lock:
            return self.bank.truth()

    def _order_now(self, index: int) -> dict:
        """The index-th order as the ERP has it now: a set amendment, or the generated one once
        its time has come, or the order as first generated."""
        order = self.catalog.order(index)
        with self.lock:
            set_version = self.amendments.get(order["id"])
        if set_version is not None:
            return set_version
        every = self.amend_every
        if not every or index % every != every - 1:
            return order
        appeared = (
            0.0
            if index < self.orders or not self.orders_per_minute
            else (index - self.orders + 1) * 60 / self.orders_per_minute
        )
        if time.monotonic() - self.started < appeared + self.amend_after_seconds:
            return order
        return amended(order, AMENDMENTS[(index // every) % len(AMENDMENTS)])

    def amend(self, order_id: str, kind: str) -> dict:
        """Issue the next version of an order (``kind``: one of data.AMENDMENTS); the feed stamps
        it as changed, so the next pull reads it. Raises ValueError for an unknown order."""
        current = next((r for r in self.records("orders") if r["id"] == order_id), None)
        if current is None:
            raise ValueError(f"amend: no order {order_id}")
        record = amended(current, kind, version=current.get("version", 1) + 1)
        with self.lock:
            self.amendments[order_id] = record
        return record

    def release_of(self, number: str) -> str | None:
        """The key of the order's live release instruction (not cancelled), if any."""
        with self.lock:
            keys = [key for key, r in self.releases.items() if r.get("order") == number]
        return keys[-1] if keys else None

    def shipped(self, key: str) -> bool:
        """Whether the warehouse has shipped the release ``key`` (a change is then too late)."""
        with self.lock:
            if key in self.shipped_early:
                return True
            at = self.release_times.get(key)
        return at is not None and time.monotonic() - at >= self.ship_after_seconds

    def rows(self, stream: str):
        """The stream as the change feed serves it, in (updated_at, id) order."""
        with self.lock:
            backdate = dict(self.backdate.get(stream, {}))
        return self.feed.rows(stream, self.records(stream), backdate)

    def _spliced(self, stream: str, records: list[dict]) -> list[dict]:
        with self.lock:
            insertions = list(self.inserted.get(stream, []))
        for position, record in insertions:
            records.insert(min(position, len(records)), record)
        return records

    def insert(self, *, stream: str, records: list[dict], at: int | None, backdate: float) -> None:
        """Insert records at a position of the stream's natural order (default: its middle),
        their first stamp ``backdate`` seconds in the past. A shipment inserted for a release
        replaces the one the warehouse would have sent later."""
        position = len(self.records(stream)) // 2 if at is None else at
        with self.lock:
            self.inserted.setdefault(stream, []).extend(
                (position + offset, record) for offset, record in enumerate(records)
            )
            if backdate:
                self.backdate.setdefault(stream, {}).update((r["id"], backdate) for r in records)
            if stream == "shipments":
                self.shipped_early.update(
                    key
                    for record in records
                    if (key := f"release:{record.get('order')}") in self.releases
                )

    def generated(self, stream: str, count: int, *, taken: set[str]) -> list[dict]:
        """``count`` new records for ``insert``: new orders, or the shipments of orders released
        and not yet shipped (none of ``taken``), shipped now, ahead of the warehouse's delay.
        Raises ValueError, changing nothing, if there are not that many."""
        if stream == "orders":
            return [self.catalog.extra_order() for _ in range(count)]
        if stream != "shipments":
            raise ValueError(f"insert: give the records of a {stream} insertion")
        now = time.monotonic()
        with self.lock:
            waiting = [
                self.releases[key]
                for key in self.releases
                if key not in self.shipped_early
                and f"SHP-{self.releases[key]['order']}" not in taken
                and now - self.release_times.get(key, now) < self.ship_after_seconds
            ][:count]
        if len(waiting) < count:
            raise ValueError(f"insert: {len(waiting)} released order(s) wait to ship, not {count}")
        return [
            self._shipment(
                release, f"1Z-EARLY{len(self.shipped_early) + len(taken) + n:04d}", short=False
            )
            for n, release in enumerate(waiting, start=1)
        ]

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

    def receipts(self) -> list[dict]:
        """The warehouse's receipt of each return it was told to expect, once it had time to
        receive it: the n-th return (in the order told) arrives one unit short on its first line
        when n is a multiple of ``return_short_every``, and with one unit damaged on its last
        when a multiple of ``return_damaged_every``. The receipt is the ground truth."""
        now = time.monotonic()
        with self.lock:
            told = [
                (self.returns[key], self.return_times[key])
                for key in self.returns
                if key in self.return_times
            ]
            short_every, damaged_every = self.return_short_every, self.return_damaged_every
        receipts = []
        for index, (message, at) in enumerate(told, start=1):
            if now - at < self.receive_after_seconds:
                continue
            lines = [
                {
                    "line": line["line"],
                    "sku": line["sku"],
                    "received": line["quantity"],
                    "damaged": "0",
                }
                for line in message["lines"]
            ]
            if short_every and index % short_every == 0:
                received = int(float(lines[0]["received"]))
                lines[0]["received"] = str(max(received - 1, 0))
            if damaged_every and index % damaged_every == 0 and int(float(lines[-1]["received"])):
                lines[-1]["damaged"] = "1"
            receipts.append(
                {
                    "id": f"RCV-{message['rma']}",
                    "version": 1,
                    "rma": message["rma"],
                    "received_at": "2026-11-25T10:00:00Z",
                    "lines": lines,
                }
            )
        return receipts

    def shipments(self) -> list[dict]:
        """One shipment per release, once the warehouse had time to ship it; in release order,
        then the orphans, with the insertions spliced in."""
        now = time.monotonic()
        with self.lock:
            released = [
                self.releases[key]
                for key in self.releases
                if key not in self.shipped_early
                and now - self.release_times.get(key, now) >= self.ship_after_seconds
            ]
            orphans = list(self.orphan_shipments)
        records = [
            self._shipment(
                release,
                f"1Z{index:010d}",
                short=bool(self.short_every) and index % self.short_every == 0,
            )
            for index, release in enumerate(released, start=1)
        ]
        records.extend(
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
            for number in orphans
        )
        return self._spliced("shipments", records)

    @staticmethod
    def _shipment(release: dict, tracking: str, *, short: bool) -> dict:
        lines = [
            {"line": line["line"], "sku": line["sku"], "quantity": line["quantity"]}
            for line in release["lines"]
        ]
        if short and int(float(lines[0]["quantity"])) > 1:
            lines[0]["quantity"] = str(int(float(lines[0]["quantity"])) - 1)
        return {
            "id": f"SHP-{release['order']}",
            "version": 1,
            "order": release["order"],
            "warehouse": "SBX-EAST",
            "carrier": "UPS",
            "tracking": tracking,
            "shipped_at": "2026-11-22T12:00:00Z",
            "lines": lines,
        }
