"""EDI intake throughput: 850s of 4 lines, 50 to an interchange file, dropped in the folders of
50 trading partners (one a bench customer each); a real ``celery worker`` of two processes reads
the folders (a task a partner), parses, checks and maps each set, stores it in the inbox with its
997, and applies the orders through the same pipeline as the ERP's. From the first file dropped
to the last order applied. The JSON intake's rate is measured the same way just before, on the
same number of orders, for the ratio."""

from __future__ import annotations

import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.db import connection
from django.test import override_settings
from django.utils import timezone

from core.pgcopy import copy_create
from integrations.edi.models import Direction, Interchange
from integrations.models import Connector, InboundMessage, InboundState, TradingPartner
from integrations.tasks import edi_poll_task
from orders.models import Customer, Item, Order

from .generate import SOURCE
from .measure import Figure
from .workers import _cpu_seconds, _skipped, _stop, _worker, ingestion_pool

PARTNERS = 50
PER_FILE = 50
TARGET = ">= 1,000 orders/s (2 workers)"
#: Interchanges the data set's partners sent before, by scale: a business that trades EDI has
#: them. An empty table is not the state the figure is about: PostgreSQL plans a worker's
#: foreign-key check of an interchange (each document's) once, as a scan of the table it sees
#: empty, and keeps scanning it as it fills (~0.1 ms a document at 600 files, in
#: pg_stat_statements) until autovacuum analyses it, after the run is over.
HISTORY = {"full": 20_000, "small": 5_000, "tiny": 200}
HISTORY_PREFIX = "history-"


def edi_history_present() -> bool:
    return TradingPartner.objects.filter(name__startswith=HISTORY_PREFIX).exists()


def generate_edi_history(count: int, *, log=print) -> dict:
    """The data set's EDI past: a connector, ``PARTNERS`` trading partners of bench customers,
    and ``count`` interchanges they sent, accepted, over the last 90 days (written by COPY, then
    analysed). Documents and orders of theirs are not made: nothing reads them."""
    started = time.monotonic()
    connector, _ = Connector.objects.get_or_create(
        name="bench-edi",
        defaults={"kind": "edi", "base_url": "http://127.0.0.1:9", "enabled": False},
    )
    customers = list(Customer.objects.filter(source_system=SOURCE).order_by("pk")[:PARTNERS])
    partners = [
        TradingPartner.objects.create(
            name=f"{HISTORY_PREFIX}{n}",
            customer=customer,
            connector=connector,
            isa_qualifier="ZZ",
            isa_id=f"H{n}",
            gs_id=f"H{n}",
            production=True,
            item_qualifiers="VP",
            inbound_folder=f"history-{n}",
        )  # fmt: skip
        for n, customer in enumerate(customers)
    ]
    now = timezone.now()
    rows = [
        Interchange(
            partner=partners[n % len(partners)],
            direction=Direction.IN,
            sender=f"ZZ:{partners[n % len(partners)].isa_id}",
            receiver="ZZ:O2CDIST",
            control_number=f"{n // len(partners) + 1:09d}",
            usage="P",
            version="00401",
            state=Interchange.State.ACCEPTED,
            raw=f"ISA*(interchange {n + 1} of the bench's history)~",
            via="folder",
            file_name=f"{n // len(partners) + 1:06d}.x12",
            at=now - timedelta(minutes=90 * 24 * 60 * (count - n) // count),
        )
        for n in range(count)
    ]
    copy_create(Interchange, rows)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Interchange._meta.db_table}")  # noqa: S608 - the model's
    seconds = time.monotonic() - started
    log(f"EDI history: {count:,} interchanges of {len(partners)} partners in {seconds:.1f} s")
    return {"edi history interchanges": count}


def _interchange(sender: str, control: int, pos: list[tuple[str, list[str]]]) -> str:
    rows = [
        "*".join(["ISA", "00", " " * 10, "00", " " * 10, "ZZ", sender.ljust(15), "ZZ",
                  "O2CDIST".ljust(15), "261205", "1200", "U", "00401", f"{control:09d}", "0",
                  "P", ">"]),
        f"GS*PO*{sender}*O2CDIST*20261205*1200*{control}*X*004010",
    ]  # fmt: skip
    for n, (po, skus) in enumerate(pos, start=1):
        body = [f"BEG*00*SA*{po}**20261205", "DTM*002*20261220", "N1*ST*MAIN DOCK*92*MAIN"]
        body += [f"PO1*{k}*2*EA***VP*{sku}" for k, sku in enumerate(skus, start=1)]
        body.append(f"CTT*{len(skus)}")
        rows += [f"ST*850*{n:04d}", *body, f"SE*{len(body) + 2}*{n:04d}"]
    rows += [f"GE*{len(pos)}*{control}", f"IEA*1*{control:09d}"]
    return "~\n".join(rows) + "~\n"


def edi_intake(orders: int) -> list[Figure]:
    name = "EDI intake, 2 workers"
    skipped = _skipped(name, TARGET)
    if skipped:
        return [skipped]
    # the baseline first, the same way and size: the ERP's JSON orders by the same pool
    baseline = ingestion_pool(orders, naive_rate=None)[0]
    root = Path(tempfile.mkdtemp(prefix="o2c-bench-edi-"))
    try:
        with override_settings(O2C_EDI_DIR=root):
            figure = _edi(orders, root, name)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    json_rate = baseline.value
    figure.extra["JSON orders/s (same run)"] = json_rate
    figure.extra["EDI / JSON"] = round(figure.value / json_rate, 2) if json_rate else None
    return [baseline, figure]


def _edi(orders: int, root: Path, name: str) -> Figure:
    connector, _ = Connector.objects.get_or_create(
        name="bench-edi",
        defaults={"kind": "edi", "base_url": "http://127.0.0.1:9", "enabled": False},
    )
    customers = list(Customer.objects.filter(source_system=SOURCE).order_by("pk")[:PARTNERS])
    skus = list(Item.objects.filter(source_system=SOURCE).values_list("sku", flat=True)[:400])
    stamp = int(time.time()) % 100000
    partners = []
    for n, customer in enumerate(customers):
        partners.append(
            TradingPartner.objects.create(
                name=f"bench-{stamp}-{n}",
                customer=customer,
                connector=connector,
                isa_qualifier="ZZ",
                isa_id=f"B{stamp}P{n}"[:15],
                gs_id=f"B{stamp}P{n}"[:15],
                production=True,
                wants_855=False,
                wants_856=False,
                wants_810=False,
                item_qualifiers="VP",
                inbound_folder=f"p{n}",
            )  # fmt: skip
        )
    files = []  # written before the clock starts: the partners' VAN delivered them
    for index in range(0, orders, PER_FILE):
        partner = partners[(index // PER_FILE) % len(partners)]
        pos = [
            (f"E{stamp}-{index + k}", [skus[((index + k) * 4 + j) % len(skus)] for j in range(4)])
            for k in range(min(PER_FILE, orders - index))
        ]
        files.append(
            (
                partner,
                index // PER_FILE + 1,
                _interchange(partner.isa_id, index // PER_FILE + 1, pos),
            )
        )
    staging = root / "staging"
    staging.mkdir()
    for partner, control, text in files:
        (staging / f"{partner.inbound_folder}-{control:06d}.x12").write_text(text)
    worker = _worker("bench-edi", concurrency=2, env={"O2C_EDI_DIR": str(root)})
    made = Order.objects.filter(source_system=connector.name)
    try:
        start = time.monotonic()
        for partner, control, _ in files:  # dropped as a mailbox does: whole files, renamed in
            target = root / partner.inbound_folder
            target.mkdir(exist_ok=True)
            (staging / f"{partner.inbound_folder}-{control:06d}.x12").rename(
                target / f"{control:06d}.x12"
            )
        for partner in partners:
            edi_poll_task.delay(partner.pk)
        deadline = start + 600
        # each look counts the run's orders (an index walk of up to 30,000 entries, a few ms):
        # four times a second, so the figure can understate the rate by 0.25 s of a ~40 s run
        while made.count() < orders and time.monotonic() < deadline:
            time.sleep(0.25)
        elapsed = time.monotonic() - start
        cpu = _cpu_seconds(worker.pid)
    finally:
        _stop(worker)
    count = made.count()
    dead = InboundMessage.objects.filter(connector=connector, state=InboundState.DEAD).count()
    return Figure(
        name,
        round(count / elapsed, 1) if elapsed else 0.0,
        "orders/s",
        TARGET,
        {
            "orders": count,
            "files": len(files),
            "partners": len(partners),
            "dead": dead,
            "worker CPU ms/order": round(cpu * 1000 / count, 3) if count else None,
        },
    )
