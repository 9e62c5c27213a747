"""Scale-out on production settings (PostgreSQL, Redis): two gunicorn instances, worker processes
on separate queues with distinct hostnames and one beat. The sandbox publishes orders that beat's
pulls ingest while 30 logged-in users claim, release, escalate and approve holds over HTTP. First
one worker per queue, then two; in the second phase one worker of each queue is SIGKILLed (its
twin takes over, then it is restarted). Zero 5xx, every order and shipment once, every action
recorded once, and every worker in the console's list; throughput of each phase is reported."""

import random
import re
import signal
import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count

from billing.models import Invoice, InvoiceLine, Shipment
from core.roles import Role
from exceptions.models import Hold
from exceptions.models.hold import ACTIVE_CONDITION
from integrations.models import Connector, InboundMessage, InboundState, WorkerHeartbeat
from orders.models import Order
from tests.fixtures.processes import free_port, start_beat, start_worker, stop_worker, wait_for
from tests.reliability.harness import (
    Stats,
    deployment_schedules,
    first_load,
    needs_services,
    production_env,
    production_user,
    session,
    start_gunicorn,
    wait_ready,
)
from tests.summary import summary

USERS, PHASE_SECONDS, ORDERS_PER_SECOND = 30, 30, 3
#: One worker per queue in phase one, a second of each in phase two.
QUEUES = {
    "ingest": ("ingest",),
    "billing": ("billing",),
    "outbox": ("outbox",),
    "desk": ("receivables", "notify", "default", "kpis"),
}
ROLES = {
    Role.CREDIT: "credit",
    Role.PRICING: "pricing",
    Role.WAREHOUSE: "warehouse",
    Role.CUSTOMER_SERVICE: "customer_service",
}
#: A killed worker's task comes back in seconds, not the production hour.
FAST_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "10", "CELERY_RESTORE_INTERVAL": "1"}


class Desk:
    """What the users did, by the server's answer: only 2xx outcomes are effects to find in the DB."""

    def __init__(self):
        self.lock = threading.Lock()
        self.done = Counter()  # (action, hold id) -> successes
        self.by = {}  # (action, hold id) -> username of the last success

    def record(self, action: str, hold_id: int, username: str) -> None:
        with self.lock:
            self.done[(action, hold_id)] += 1
            self.by[(action, hold_id)] = username


def _work(client, username, queue, stats, desk, until, seed):
    rng = random.Random(seed)
    token = client.cookies["csrftoken"]
    headers = {"HX-Request": "true", "X-CSRFToken": token}
    while time.monotonic() < until:
        page = stats.call(client, "GET", f"/queues/{queue}/")
        holds = re.findall(r'id="hold-(\d+)"', page.text if page is not None else "")
        if not holds:
            time.sleep(0.5)
            continue
        hold_id = int(rng.choice(holds))
        waiting = Hold.objects.filter(pk=hold_id, state="awaiting_second_approval").exclude(
            first_approver__username=username
        )
        if waiting.exists():  # someone else released it above the maker-checker amount
            answer = stats.call(
                client,
                "POST",
                f"/queues/holds/{hold_id}/approve/",
                headers=headers,
                data={"reason": "second look: fine"},
                conflict_ok=True,
            )
            if answer is not None and answer.status_code == 200:
                desk.record("approve", hold_id, username)
            continue
        claim = stats.call(
            client, "POST", f"/queues/holds/{hold_id}/claim/", headers=headers, conflict_ok=True
        )
        if claim is None or claim.status_code != 200:
            continue
        desk.record("claim", hold_id, username)
        action = "escalate" if rng.random() < 0.25 else "release"
        answer = stats.call(
            client,
            "POST",
            f"/queues/holds/{hold_id}/{action}/",
            headers=headers,
            data={"reason": f"load test {action}"},
            conflict_ok=True,
        )
        if answer is not None and answer.status_code == 200:
            desk.record(action, hold_id, username)
    connection.close()


def _reporting(workers: dict) -> bool:
    """Every worker process is up and in the worker list (its own pid, not stopped)."""
    rows = {
        row.hostname.split("@")[0]: row
        for row in WorkerHeartbeat.objects.filter(stopped_at__isnull=True)
    }
    return all(name in rows and rows[name].pid == process.pid for name, process in workers.items())


def _publish(sandbox, until):
    """The ERP publishes a steady stream of new orders; beat's pulls take them in."""
    while time.monotonic() < until:
        sandbox.state.orders += ORDERS_PER_SECOND
        time.sleep(1)


def _phase(name, seconds, sandbox, clients, stats, desk, during=None):
    """Users and ingestion for ``seconds``; ``during`` runs halfway. Orders applied and requests
    answered per second over the phase."""
    orders_before, requests_before = Order.objects.count(), len(stats.timings)
    invoices_before = Invoice.objects.count()
    start = time.monotonic()
    until = start + seconds
    threads = [threading.Thread(target=_publish, args=(sandbox, until))] + [
        threading.Thread(target=_work, args=(c, u, q, stats, desk, until, i))
        for i, (c, u, q) in enumerate(clients)
    ]
    for thread in threads:
        thread.start()
    if during:
        time.sleep(seconds / 2)
        during()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(t.is_alive() for t in threads), f"{name}: a user never finished"
    elapsed = time.monotonic() - start
    return {
        "orders/s": round((Order.objects.count() - orders_before) / elapsed, 2),
        "invoices/s": round((Invoice.objects.count() - invoices_before) / elapsed, 2),
        "requests/s": round((len(stats.timings) - requests_before) / elapsed, 1),
    }


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_scale_out_under_load_with_a_worker_of_each_queue_killed(billing_defaults, quiet_sandbox):
    needs_services()
    sandbox = quiet_sandbox
    # given the sandbox ERP and WMS pulled by beat every 5 s, and finance approving no invoice
    erp = Connector.objects.create(
        name="sandbox-erp", kind="erp", base_url=sandbox.url, poll_interval_seconds=5
    )
    wms = Connector.objects.create(
        name="sandbox-wms", kind="wms", base_url=sandbox.url, poll_interval_seconds=5
    )
    first_load(erp)
    deployment_schedules(erp, wms)
    billing_defaults.approval_amount = billing_defaults.second_approval_amount = 10**9
    billing_defaults.save()
    people = [
        (production_user(f"scale{n}", role).username, ROLES[role])
        for n in range(USERS)
        for role in [list(ROLES)[n % len(ROLES)]]
    ]
    admin = production_user("scale-admin", Role.INTEGRATION_ADMIN).username

    env = production_env(**FAST_REDELIVERY)
    ports = [free_port(), free_port()]
    web = [
        start_gunicorn(port=port, name=f"scale-gunicorn-{n}", env={**env, "WEB_CONCURRENCY": "2"})
        for n, port in enumerate(ports)
    ]
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    workers = {
        f"scale-{group}-1": start_worker(name=f"scale-{group}-1", queues=queues, extra_env=env)
        for group, queues in QUEUES.items()
    }
    beat = start_beat(name="scale-beat", extra_env=env)
    stats, desk, report = Stats(), Desk(), {}
    try:
        for base in bases:
            ready = wait_ready(base)
            assert ready.get("http") == 200, ready
        # master data and stock first, as a real first load
        assert wait_for(
            lambda: (
                InboundMessage.objects.filter(stream="inventory", state="processed").exists()
                and InboundMessage.objects.filter(stream="ar", state="processed").exists()
            ),
            timeout=120,
        ), "master data did not arrive"
        sandbox.state.orders = 40  # a first backlog, so the queues have holds to work
        assert wait_for(lambda: Order.objects.count() >= 40, timeout=120), "orders did not arrive"
        clients = [
            (session(bases[n % 2], username, behind_https=True), username, queue)
            for n, (username, queue) in enumerate(people)
        ]

        # phase one: one worker per queue
        report["one worker per queue"] = _phase("one", PHASE_SECONDS, sandbox, clients, stats, desk)
        print(f"\nscale-out, one worker per queue: {report['one worker per queue']}")

        # phase two: a second worker per queue; halfway, the first of each is SIGKILLed
        for group, queues in QUEUES.items():
            name = f"scale-{group}-2"
            workers[name] = start_worker(name=name, queues=queues, extra_env=env)
        assert wait_for(lambda: _reporting(workers), timeout=120), (
            "the second workers did not start"
        )

        def kill_first_of_each():
            for group in QUEUES:
                workers[f"scale-{group}-1"].send_signal(signal.SIGKILL)

        report["two workers per queue"] = _phase(
            "two", PHASE_SECONDS, sandbox, clients, stats, desk, during=kill_first_of_each
        )
        print(f"\nscale-out, two workers per queue: {report['two workers per queue']}")
        for group, queues in QUEUES.items():  # the killed ones come back under their names
            name = f"scale-{group}-1"
            workers[name].wait()
            workers[name] = start_worker(name=name, queues=queues, extra_env=env)

        # then, once the pipeline drains: every published order exactly once, as an order or,
        # for one the ERP amended before o2c ever saw it, as its later version parked (waiting
        # for the first, O2C_PARK_HOURS, then stored whole): none lost, none twice
        published = {r["number"]: r["id"] for r in sandbox.state.records("orders")}
        orders = Order.objects.filter(source_system=erp.name)
        messages = InboundMessage.objects.filter(connector=erp, stream="orders")
        parked = messages.filter(state=InboundState.FAILED, parked_since__isnull=False)

        def accounted():
            return orders.count() + parked.values("external_id").distinct().count() >= len(
                published
            )

        assert wait_for(accounted, timeout=180, interval=1), (
            len(published),
            orders.count(),
            Counter(messages.values_list("state", flat=True)),
        )
        ordered = list(orders.values_list("number", flat=True))
        waiting = set(parked.values_list("external_id", flat=True))
        assert len(ordered) == len(set(ordered))
        assert not waiting & set(orders.values_list("external_id", flat=True))
        assert set(ordered) | {n for n, i in published.items() if i in waiting} == set(published)
        assert wait_for(lambda: not orders.filter(state="received").exists(), timeout=60)
        assert not messages.filter(state=InboundState.DEAD).exists(), list(
            messages.filter(state=InboundState.DEAD).values_list("external_id", "last_error")[:5]
        )

        # every shipment of a customer billed at shipment is invoiced, unless an open hold stops
        # it (the sandbox's other customers are billed on proof of delivery or consolidated)
        uninvoiced = Shipment.objects.filter(
            lines__invoice_lines__isnull=True, order__customer__billing_rule="immediate"
        ).exclude(order__holds__in=Hold.objects.filter(ACTIVE_CONDITION))
        assert wait_for(lambda: not uninvoiced.exists(), timeout=120, interval=1), list(
            uninvoiced.values_list("order__number", "state")[:10]
        )

        # every worker, the restarted ones too, alive in the console's worker list
        console = session(bases[0], admin, behind_https=True)
        names = set(workers)

        def listed():
            body = console.get("/integrations/").text
            rows = re.findall(r"<td>([^<@]+)@[^<]*</td>\s*<td>[^<]*</td>\s*<td>(.*?)</td>", body)
            alive = {name for name, state in rows if "alive" in state}
            return names <= alive

        assert wait_for(listed, timeout=60, interval=1), console.get("/integrations/").text[-3000:]
    finally:
        for process in [*web, *workers.values(), beat]:
            stop_worker(process)

    # no 5xx and no transport error anywhere; refusals (409 taken, 403 maker-checker) are answers
    assert not [e for e in stats.errors if not re.search(r": (40[0-9])$", e)], stats.errors[:20]
    assert not any(status >= 500 for status in stats.statuses), stats.statuses

    # every shipment recorded once and invoiced at most once; none left uninvoiced without a hold
    assert (
        Shipment.objects.values("external_id").annotate(n=Count("id")).filter(n__gt=1).count() == 0
    )
    twice = InvoiceLine.objects.values("shipment_line").annotate(n=Count("id")).filter(n__gt=1)
    assert not twice.exists(), list(twice[:5])

    # every action a user was told succeeded is in the database, once
    released = [h for (a, h), n in desk.done.items() if a == "release"]
    assert all(n == 1 for (a, _), n in desk.done.items() if a in ("release", "approve"))
    for hold in Hold.objects.filter(pk__in=released).select_related(
        "first_approver", "resolved_by"
    ):
        by = desk.by[("release", hold.pk)]
        assert (hold.first_approver or hold.resolved_by).username == by, hold.pk
    for (action, hold_id), n in desk.done.items():
        if action == "escalate":
            assert Hold.objects.get(pk=hold_id).escalation_level == n, hold_id
        if action == "approve":
            assert Hold.objects.get(pk=hold_id).resolved_by.username == desk.by[(action, hold_id)]
    actions = Counter(action for action, _ in desk.done.elements())
    assert actions["release"] > 0 and actions["claim"] > 0

    figures = "; ".join(
        f"{phase}: {', '.join(f'{v} {k}' for k, v in values.items())}"
        for phase, values in report.items()
    )
    print(
        f"\nscale-out: {figures}; actions {dict(actions)}; statuses {stats.statuses}; "
        f"{len(ordered)} orders, {len(waiting)} parked amendments"
    )
    summary(
        "scale-out: 2 web, 4→8 workers, 30 users",
        load=f"{len(published)} orders ingested, {len(stats.timings)} requests; {figures}",
        faults="SIGKILL of one worker per queue, mid-run",
        result=f"0 errors; {dict(actions)}",
        lost=0,
    )
