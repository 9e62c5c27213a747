"""Load: gunicorn on loopback over the small benchmark dataset (100k orders, 10k open holds).
50 logged-in users work the queues and the order pages for 60 s (open the queue, a later page,
an order, claim a hold) while orders are ingested by a real worker in the background. Zero errors
and zero lost messages; p95 and throughput are recorded. Every loop is bounded by the clock."""

import random
import re
import statistics
import threading
import time

import httpx
import pytest
from django.db import connection

from bench.generate import SCALES, SOURCE, generate
from core.roles import Role
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import inbox_store
from integrations.tasks import inbox_process_task
from orders.models import Customer, Item, Order
from tests.fixtures.processes import database_url_for_tests, free_port, start_worker, stop_worker
from tests.fixtures.users import make_user
from tests.reliability.harness import Stats, session, start_gunicorn
from tests.summary import summary

USERS, SECONDS, INGEST_PER_SECOND = 50, 60, 5
QUEUE_OF = {
    Role.CREDIT: "credit",
    Role.PRICING: "pricing",
    Role.WAREHOUSE: "warehouse",
    Role.CUSTOMER_SERVICE: "customer_service",
}


def _gunicorn(port: int):
    return start_gunicorn(
        port=port,
        name="load-gunicorn",
        env={
            "DJANGO_SETTINGS_MODULE": "o2c.settings.test",
            "DATABASE_URL": database_url_for_tests(),
        },
        args=(
            "--workers=2",
            "--threads=8",
            "--timeout=60",
            # longer than any idle gap in the run (as behind a proxy): an idle keep-alive connection
            # closed by the server as the client reuses it would reset that request
            "--keep-alive=75",
        ),
    )


def _work(
    client: httpx.Client, queue: str, order_ids: list[int], stats: Stats, until: float, seed: int
) -> None:
    rng = random.Random(seed)
    token = client.cookies["csrftoken"]
    while time.perf_counter() < until:
        page = stats.call(client, "GET", f"/queues/{queue}/")
        text = page.text if page is not None else ""
        cursor = re.search(r"after=([^\"&]+)", text)
        if cursor:
            stats.call(client, "GET", f"/queues/{queue}/?after={cursor.group(1)}")
        stats.call(client, "GET", f"/orders/{rng.choice(order_ids)}/")
        holds = re.findall(r'id="hold-(\d+)"', text)
        if holds:
            stats.call(
                client,
                "POST",
                f"/queues/holds/{rng.choice(holds)}/claim/",
                headers={"HX-Request": "true", "X-CSRFToken": token},
                conflict_ok=True,
            )


def _ingest(connector, customers, skus, until: float, sent: list) -> None:
    """A steady feed: a page of orders each second, each page a task for the real worker."""
    n = 0
    while time.perf_counter() < until:
        records = [
            {
                "id": f"LOAD-{n + k}",
                "version": 1,
                "number": f"LOAD-{n + k}",
                "channel": "edi",
                "customer": customers[(n + k) % len(customers)],
                "ship_to": "",
                "lines": [
                    {"sku": skus[(n + k + j) % len(skus)], "quantity": "2"} for j in range(4)
                ],
            }
            for k in range(INGEST_PER_SECOND)
        ]
        inbox_store(connector=connector, stream="orders", records=records)
        inbox_process_task.delay(connector.pk, "orders")
        sent.extend(r["id"] for r in records)
        n += INGEST_PER_SECOND
        time.sleep(1)
    connection.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_fifty_users_for_a_minute_while_ingesting(billing_defaults):
    if connection.vendor != "postgresql":
        pytest.skip("the small benchmark dataset needs PostgreSQL")
    generate(SCALES["small"], log=lambda *a: None)
    connector = Connector.objects.create(
        name=SOURCE, kind="erp", base_url="http://127.0.0.1:9", enabled=False
    )
    customers = list(
        Customer.objects.filter(source_system=SOURCE).values_list("number", flat=True)[:100]
    )
    skus = list(Item.objects.filter(source_system=SOURCE).values_list("sku", flat=True)[:200])
    order_ids = list(Order.objects.filter(source_system=SOURCE).values_list("id", flat=True)[:500])
    roles = list(QUEUE_OF)
    people = [
        (make_user(f"load{n}", roles[n % len(roles)]), QUEUE_OF[roles[n % len(roles)]])
        for n in range(USERS)
    ]

    port = free_port()
    server, worker = _gunicorn(port), start_worker(name="load-worker")
    base = f"http://127.0.0.1:{port}"
    stats, sent = Stats(), []
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/login/", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        clients = [(session(base, user.username), queue) for user, queue in people]
        start = time.perf_counter()
        until = start + SECONDS
        threads = [
            threading.Thread(target=_work, args=(c, q, order_ids, stats, until, i))
            for i, (c, q) in enumerate(clients)
        ]
        threads.append(
            threading.Thread(target=_ingest, args=(connector, customers, skus, until, sent))
        )
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=SECONDS + 120)
        elapsed = time.perf_counter() - start
        assert not any(thread.is_alive() for thread in threads), "a user never finished"
        # the feed stopped with the clock: wait (bounded) for the worker to apply the last pages
        waiting = lambda: InboundMessage.objects.filter(  # noqa: E731
            connector=connector, external_id__in=sent, state=InboundState.PROCESSED
        ).count()
        deadline = time.monotonic() + 180
        while waiting() < len(sent) and time.monotonic() < deadline:
            time.sleep(1)
    finally:
        stop_worker(worker)
        server.terminate()
        server.wait(timeout=30)
    applied = waiting()
    p95 = statistics.quantiles(stats.timings, n=20)[18]
    assert stats.errors == [], stats.errors[:20]
    assert applied == len(sent) and len(sent) > 0
    assert Order.objects.filter(number__startswith="LOAD-").count() == len(sent)
    summary(
        "load: 50 users + ingestion",
        load=f"{len(stats.timings)} requests in {elapsed:.0f} s = {len(stats.timings) / elapsed:.0f} req/s, "
        f"p95 {p95:.0f} ms, {stats.conflicts} claim conflicts; {len(sent)} orders ingested",
        faults="concurrency",
        result="0 errors",
        lost=len(sent) - applied,
    )
