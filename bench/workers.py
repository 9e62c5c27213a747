"""The figures that need a real `celery worker` on Redis: shipment-to-invoice latency at a sustained
rate, ingestion by a pool of workers, and the ingestion worker's peak memory over a long run
(sampled, to show it stays flat). Without a Redis broker they are reported as skipped, with the
reason. The workers open the database Django's connection names: the measurement's scratch copy."""

import os
import subprocess
import sys
import time
from itertools import islice
from pathlib import Path

from django.conf import settings
from django.db import connection
from django.utils import timezone

from billing.models import Invoice
from integrations.models import Connector, InboundMessage, InboundState, WorkerHeartbeat
from integrations.services import inbox_store
from integrations.services.attempts import WAITING
from integrations.tasks import inbox_process_task, worker_heartbeat
from o2c.queues import QUEUES, queue_name
from orders.models import Order

from .generate import SOURCE
from .measure import (
    Figure,
    _pct,
    erp_connector,
    iter_order_records,
    order_records,
    sample_spread,
)

ROOT = Path(__file__).resolve().parent.parent


def _database_url() -> str:
    db = connection.settings_dict
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _worker(name: str, *, concurrency: int = 1, env: dict | None = None) -> subprocess.Popen:
    """A real ``celery worker``: one process (solo) by default, so its memory is the figure's;
    ``concurrency`` > 1 runs it as deployed (``make run``: prefork, two processes)."""
    env = os.environ | {
        # the bench's own settings module, named: o2c.celery alone would start production's (read
        # from the environment: inside override_settings, as the EDI figure runs its worker,
        # settings.SETTINGS_MODULE is None)
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE")
        or settings.SETTINGS_MODULE,
        "DATABASE_URL": _database_url(),
        "LOG_LEVEL": "WARNING",
        # the queues this process sends to (test settings prefix them per process)
        "O2C_QUEUE_PREFIX": settings.O2C_QUEUE_PREFIX,
        **(env or {}),
    }
    _purge_queues()
    (ROOT / "data").mkdir(exist_ok=True)
    log = open(ROOT / "data" / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "o2c",
            "worker",
            *(
                ["--pool=solo"]
                if concurrency == 1
                else ["--pool=prefork", f"--concurrency={concurrency}"]
            ),
            f"--hostname={name}@%h",
            "--without-gossip",
            "--without-mingle",
            # every queue: the bench's figures are of one worker doing all of o2c's work
            f"--queues={','.join(queue_name(queue) for queue in QUEUES)}",
            "--loglevel=WARNING",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    # ready when it has taken a task from the broker
    asked = timezone.now()
    worker_heartbeat.delay()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if WorkerHeartbeat.objects.filter(last_seen__gte=asked).exists():
            return process
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the bench worker did not start; see data/{name}.log")


def _purge_queues() -> None:
    """Empty the bench's queues before a worker starts. A run leaves tasks behind when its
    figure is complete (a sync queued after each file that finds nothing left, the 997s'
    relays retrying a partner nobody serves); the next run's worker took them on its clock
    (1,100 of them before an EDI run, its CPU an order up by a fifth) and, were they not
    dropped, would act on another run's scratch database. The bench's broker is its own."""
    from o2c.celery import app  # noqa: PLC0415 - the worker figures only

    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in QUEUES:
            channel.queue_purge(queue_name(queue))


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def _skipped(name: str, target: str) -> Figure | None:
    if settings.CELERY_BROKER_URL.startswith("redis"):
        return None
    return Figure(name, float("nan"), "", target, {"skipped": "needs CELERY_BROKER_URL=redis://…"})


def _connector(name: str, kind: str) -> Connector:
    connector, _ = Connector.objects.get_or_create(
        name=name, defaults={"kind": kind, "base_url": "http://127.0.0.1:9", "enabled": False}
    )
    return connector


def shipment_to_invoice(rate: int = 10, seconds: int = 60) -> list[Figure]:
    """From a stored WMS ship confirmation to its invoice, ``rate`` shipments a second for
    ``seconds``; each stored message is handed to the worker as it arrives."""
    skipped = _skipped("shipment-to-invoice p95", "<= 1 s")
    if skipped:
        return [skipped]
    wms = _connector("bench-wms", "wms")
    wanted = rate * seconds
    # the data set's newest released orders first, as a warehouse ships recent releases
    orders = list(
        Order.objects.filter(source_system=SOURCE, state="released")
        .prefetch_related("lines")
        .order_by("-id")[:wanted]
    )
    worker = _worker("bench-latency", concurrency=2)
    stamp = int(time.time())
    ids = []
    try:
        start = time.monotonic()
        for n, order in enumerate(orders):
            time.sleep(max(0.0, start + n / rate - time.monotonic()))
            shipment = f"BSH-{stamp}-{n}"
            inbox_store(
                connector=wms,
                stream="shipments",
                records=[
                    {
                        "id": shipment,
                        "order": order.number,
                        "shipped_at": timezone.now().isoformat(),
                        "warehouse": "",
                        "lines": [
                            {"line": line.line_number, "quantity": str(line.ordered_qty)}
                            for line in order.lines.all()
                        ],
                    }
                ],
            )
            inbox_process_task.delay(wms.pk, "shipments")
            ids.append(shipment)
        sent_for = time.monotonic() - start
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if Invoice.objects.filter(lines__shipment_line__shipment__external_id__in=ids).values(
                "lines__shipment_line__shipment__external_id"
            ).distinct().count() >= len(ids):
                break
            time.sleep(0.5)
    finally:
        _stop(worker)
    received = dict(
        InboundMessage.objects.filter(connector=wms, external_id__in=ids).values_list(
            "external_id", "received_at"
        )
    )
    created = dict(
        Invoice.objects.filter(lines__shipment_line__shipment__external_id__in=ids).values_list(
            "lines__shipment_line__shipment__external_id", "created_at"
        )
    )
    latencies = [(created[s] - received[s]).total_seconds() for s in ids if s in created]
    return [
        Figure(
            "shipment-to-invoice p95",
            round(_pct(latencies, 0.95), 3) if latencies else float("nan"),
            "s",
            "<= 1 s",
            {
                "shipments": len(ids),
                "invoiced": len(latencies),
                "rate/s": round(len(ids) / sent_for, 1) if sent_for else None,
                "p50 s": round(_pct(latencies, 0.5), 3) if latencies else None,
            },
            sample_spread(latencies, 3),
        )
    ]


def ingestion_pool(
    orders: int,
    *,
    naive_rate: float | None,
    processes: int = 2,
    prefix: str = "POOL",
    name: str | None = None,
) -> list[Figure]:
    """Ingestion as deployed: a real ``celery worker`` of ``processes`` processes (``make run``'s
    two, one a core) applies the feed as it arrives, a page of 500 stored at a time with a run of
    the stream queued for each (as a connector sync does); from the first page stored to the last
    order applied. The workers split the stream's chunks (SKIP LOCKED) and take turns only where
    their orders share customers (credit locks)."""
    name = name or f"ingestion, {processes} workers"
    skipped = _skipped(name, ">= 2,000 orders/s, >= 10x naive")
    if skipped:
        return [skipped]
    erp = erp_connector()
    records = order_records(prefix, orders)
    prefix = records[0]["id"].rsplit("-", 1)[0] + "-"
    waiting = InboundMessage.objects.filter(
        connector=erp, stream="orders", external_id__startswith=prefix, state__in=WAITING
    )
    worker = _worker("bench-ingestion", concurrency=processes)
    try:
        start = time.monotonic()
        for n in range(0, len(records), 500):
            inbox_store(connector=erp, stream="orders", records=records[n : n + 500])
            inbox_process_task.delay(erp.pk, "orders")
        deadline = start + 600
        while waiting.exists() and time.monotonic() < deadline:
            # Each look walks the burst's applied entries not yet pruned from the waiting index
            # (~1 ms late in a burst): every 20 ms it took ~3 % of the workers' CPU; every 50 ms
            # the figure can only understate the rate, by at most 50 ms of a ~6 s run.
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        cpu = _cpu_seconds(worker.pid)
    finally:
        _stop(worker)
    made = Order.objects.filter(number__startswith=prefix).count()
    rate = made / elapsed if elapsed else 0.0
    return [
        Figure(
            name,
            round(rate, 1),
            "orders/s",
            ">= 2,000 orders/s, >= 10x naive",
            {
                "orders": made,
                "left waiting": waiting.count(),
                "dead": InboundMessage.objects.filter(
                    connector=erp, external_id__startswith=prefix, state=InboundState.DEAD
                ).count(),
                "x naive": round(rate / naive_rate, 2) if naive_rate else None,
                "worker CPU ms/order": round(cpu * 1000 / made, 3) if made else None,
            },
        )
    ]


def _cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a worker and its child processes so far, from /proc: the
    work the pool did, whatever else the machine was running meanwhile."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # a process that ended while the list was read
        # utime and stime: the 14th and 15th fields of the line (the 12th and 13th after the name)
        if stat.parent.name == str(pid) or fields[1] == str(pid):
            total += int(fields[11]) + int(fields[12])
    return total / ticks


def _rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident memory of a process, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def ingestion_worker_memory(messages: int, *, batch: int = 500) -> list[Figure]:
    """A solo worker applies ``messages`` new order messages (a million at full scale); its RSS is
    sampled at each quarter, so a leak shows as growth between samples (the figure is the peak,
    the samples are the proof). The messages are made and stored a batch at a time, at most two
    batches ahead of the worker, so neither process nor the inbox holds the whole run."""
    name, target = "ingestion worker peak RSS", "<= 500 MB, flat"
    skipped = _skipped(name, target)
    if skipped:
        return [skipped]
    erp = erp_connector()
    records = iter_order_records("MEM", messages, customers=500, items=1000)
    chunk = list(islice(records, batch))
    prefix = chunk[0]["id"].rsplit("-", 1)[0] + "-"
    waiting = InboundMessage.objects.filter(
        connector=erp, stream="orders", external_id__startswith=prefix, state__in=WAITING
    )
    worker = _worker("bench-memory")
    samples, stored = [], 0
    quarter = max(1, messages // 4)
    start = time.monotonic()
    try:
        while chunk:
            inbox_store(connector=erp, stream="orders", records=chunk)
            inbox_process_task.delay(erp.pk, "orders")
            stored += len(chunk)
            while waiting.count() > 2 * batch:  # the worker is never idle, the backlog bounded
                time.sleep(0.05)
            if stored // quarter > len(samples):
                samples.append(round(_rss_mb(worker.pid)[0], 1))
            chunk = list(islice(records, batch))
        while waiting.exists():
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        current, peak = _rss_mb(worker.pid)
    finally:
        _stop(worker)
    return [
        Figure(
            name,
            round(peak, 1),
            "MB",
            target,
            {
                "messages": stored,
                "orders": Order.objects.filter(number__startswith=prefix).count(),
                "dead": InboundMessage.objects.filter(
                    connector=erp, external_id__startswith=prefix, state=InboundState.DEAD
                ).count(),
                "minutes": round(elapsed / 60, 1),
                "RSS by quarter MB": [*samples, round(current, 1)],
            },
        )
    ]


def ingestion_pool_scoring(
    orders: int, *, naive_rate: float | None, processes: int = 2
) -> list[Figure]:
    """Ingestion by the pool as above, plain (the order-anomaly model off), then scoring every
    order with an active order-anomaly version in suggest mode (its predictions recorded, its
    holds raised above the policy's threshold), then plain again, on the same data set in the
    same run: the scoring rate over the mean of the two plain ones it is measured between (each
    run a burst of new orders of the same customers; the second plain run shows the drift)."""
    from triage.models import Mode, Prediction, TriageModel
    from triage.training import NotEnoughHistory

    from .triage import anomaly_model_ready

    name, target = f"ingestion, {processes} workers, scoring anomalies", ">= 0.90 x plain"
    skipped = _skipped(name, target)
    if skipped:
        return ingestion_pool(orders, naive_rate=naive_rate, processes=processes) + [skipped]
    try:
        version = anomaly_model_ready()
    except NotEnoughHistory as refused:  # the plain figure still stands; this one says why
        return ingestion_pool(orders, naive_rate=naive_rate, processes=processes) + [
            Figure(name, float("nan"), "", target, {"skipped": refused.message})
        ]
    model = TriageModel.objects.get(name=TriageModel.ORDER_ANOMALY)
    [plain] = ingestion_pool(orders, naive_rate=naive_rate, processes=processes)
    model.mode = Mode.SUGGEST
    model.save(update_fields=["mode"])
    [scoring] = ingestion_pool(
        orders, naive_rate=naive_rate, processes=processes, prefix="POOLA", name=name
    )
    model.mode = Mode.OFF
    model.save(update_fields=["mode"])
    [again] = ingestion_pool(orders, naive_rate=naive_rate, processes=processes, prefix="POOLB")
    plain_rate = (plain.value + again.value) / 2
    plain_cpu = (plain.extra["worker CPU ms/order"] + again.extra["worker CPU ms/order"]) / 2
    scored = Prediction.objects.filter(version=version, subject="order").count()
    held = Order.objects.filter(
        number__startswith="POOLA-", holds__reason__code="ORDER_ANOMALY"
    ).count()
    return [
        plain,
        Figure(
            name,
            round(scoring.value / plain_rate, 3) if plain_rate else float("nan"),
            "x plain",
            target,
            {
                "orders/s": scoring.value,
                "plain orders/s": plain.value,
                "plain again orders/s": again.value,
                # the same comparison in the workers' CPU time, which a busy machine disturbs
                # far less than the rate (PostgreSQL's share is not in it)
                "worker CPU ms/order": scoring.extra["worker CPU ms/order"],
                "plain worker CPU ms/order": round(plain_cpu, 3),
                "CPU x plain": round(plain_cpu / scoring.extra["worker CPU ms/order"], 3),
                "orders": scoring.extra["orders"],
                "scored": scored,
                "held ORDER_ANOMALY": held,
                "dead": scoring.extra["dead"],
                "version": version.number,
            },
        ),
    ]
