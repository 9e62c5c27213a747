"""The measurements: each figure with its baseline taken in the same run, so a noisy machine moves
both alike. Server time is measured in-process around Django's request handling (the test
client): no network, no browser."""

import os
import resource
import statistics
import time
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.roles import Role
from exceptions.models import Hold
from exceptions.services import hold_release
from insights import rollups
from integrations.models import Connector, InboundMessage
from integrations.services import inbox_process, inbox_store
from orders.models import Customer, Item, Order

from .generate import SOURCE


@dataclass
class Figure:
    name: str
    value: float
    unit: str
    target: str = ""
    extra: dict = field(default_factory=dict)
    #: the samples behind a percentile: n, min, p50, p95, max
    spread: dict = field(default_factory=dict)
    #: each repetition's value, in the order measured, when the figure was measured more than once
    runs: list = field(default_factory=list)

    def spread_text(self) -> str:
        if len(self.runs) > 1:
            done = sorted(v for v in self.runs if v == v)  # NaN: a run that was skipped
            span = f" (range {number(done[0])}–{number(done[-1])})" if done else ""
            return f"runs {' · '.join(number(v) for v in self.runs)}{span}"
        if self.spread:
            s = self.spread
            return f"p50 {number(s['p50'])} · {number(s['min'])}–{number(s['max'])} (n={s['n']})"
        return ""


def number(value: float) -> str:
    """A figure as the table shows it: tenths from 10 up, thousandths below (seconds)."""
    return f"{value:,.1f}" if abs(value) >= 10 or value != value else f"{value:,.3f}"


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, min(len(ordered) - 1, int(round(p * len(ordered) + 0.5)) - 1))]


def sample_spread(samples: list[float], digits: int = 1) -> dict:
    """How the samples behind a percentile figure spread: a p95 alone hides a slow tail's length
    and a fast run's floor."""
    if not samples:
        return {}
    return {
        "n": len(samples),
        "min": round(min(samples), digits),
        "p50": round(_pct(samples, 0.5), digits),
        "p95": round(_pct(samples, 0.95), digits),
        "max": round(max(samples), digits),
    }


def combine(rounds: list[list[Figure]]) -> list[Figure]:
    """One figure per name from repetitions of a measurement: the run with the median value (the
    lower of the two middle ones, so the value, its extras and its spread are one run's), with
    every run's value beside it."""
    if len(rounds) == 1:
        return rounds[0]
    names = list(dict.fromkeys(f.name for figures in rounds for f in figures))
    combined = []
    for name in names:
        measured = [f for figures in rounds for f in figures if f.name == name]
        values = [f.value for f in measured]
        ranked = sorted((f for f in measured if f.value == f.value), key=lambda f: f.value)
        middle = ranked[(len(ranked) - 1) // 2] if ranked else measured[0]
        combined.append(
            Figure(
                name, middle.value, middle.unit, middle.target, middle.extra, middle.spread, values
            )
        )
    return combined


def _user(username: str, *roles: str, superuser: bool = False):
    user, _ = get_user_model().objects.get_or_create(
        username=username, defaults={"is_superuser": superuser, "is_staff": superuser}
    )
    user.groups.set([Group.objects.get_or_create(name=role)[0] for role in roles])
    return user


def _client(user) -> Client:
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def _timed_get(client: Client, url: str, n: int) -> tuple[list[float], int]:
    client.get(url)  # warm up: templates compiled, caches filled, as on a running server
    samples, queries = [], 0
    for _ in range(n):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - start) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}")
        queries = len(captured)
    return samples, queries


def queue_page(requests: int) -> list[Figure]:
    """The credit queue's first page, a filtered and sorted later page, its header (counted over
    the whole queue, loaded after the rows), and the admin changelist of the same holds with the
    same filter."""
    analyst = _user("bench-credit", Role.CREDIT)
    admin = _user("bench-admin", superuser=True)
    client = _client(analyst)
    first, first_q = _timed_get(client, "/queues/credit/", requests)
    page = client.get("/queues/credit/?sort=value&min_value=100").content.decode()
    cursor = page.split("after=")[1].split('"')[0] if "after=" in page else ""
    later_url = f"/queues/credit/?sort=value&min_value=100&after={cursor}"
    later, later_q = _timed_get(client, later_url, requests)
    # the header counts the whole queue; the page loads it after its rows (not a target figure)
    summary, summary_q = _timed_get(client, "/queues/credit/summary/", max(5, requests // 10))
    changelist, admin_q = _timed_get(
        _client(admin), "/admin/exceptions/hold/?queue__exact=credit&state__exact=open", requests
    )
    # the same first page with a model's recommendation on every row, as triage writes them in
    # suggest mode (three factors and the expected time each); compared with the page without
    shown, shown_q = _with_suggestions(client, requests)
    p95 = _pct(first, 0.95)
    return [
        Figure(
            "queue page with predictions p95",
            _pct(shown, 0.95),
            "ms",
            "<= 50 ms, queries as without",
            {"queries": shown_q, "without": round(p95, 1), "queries without": first_q},
            sample_spread(shown),
        ),
        Figure("queue page p50", statistics.median(first), "ms", extra={"queries": first_q}),
        Figure(
            "queue page p95",
            p95,
            "ms",
            "<= 50 ms, <= 10 queries",
            {"queries": first_q},
            sample_spread(first),
        ),
        Figure(
            "queue later page p95",
            _pct(later, 0.95),
            "ms",
            "<= 50 ms",
            {"queries": later_q},
            sample_spread(later),
        ),
        Figure(
            "queue summary p95",
            _pct(summary, 0.95),
            "ms",
            "(loaded after the rows)",
            {"queries": summary_q},
            sample_spread(summary),
        ),
        Figure(
            "admin changelist p95",
            _pct(changelist, 0.95),
            "ms",
            extra={
                "queries": admin_q,
                "queue page is faster by": round(_pct(changelist, 0.95) / p95, 1),
            },
            spread=sample_spread(changelist),
        ),
    ]


def _with_suggestions(client, requests: int):
    from exceptions.models import ACTIVE_STATES, Hold

    suggestion = {
        "label": "release", "probability": 0.9412, "text": "Likely release, 94%",
        "factors": [
            {"text": "this customer's earlier CREDIT_LIMIT holds: 31 of 33 released",
             "direction": "+", "weight": 1.412},
            {"text": "value at risk 4,250.00", "direction": "-", "weight": -0.377},
            {"text": "CREDIT_LIMIT holds: 611 of 902 released overall", "direction": "+",
             "weight": 0.21},
        ],
        "model": "hold_outcome", "version": 3, "hours": 6.2,
        "eta": "usually decided about 6 h after raising",
    }  # fmt: skip
    Hold.objects.filter(queue="credit", state__in=ACTIVE_STATES).update(suggestion=suggestion)
    return _timed_get(client, "/queues/credit/", requests)


def release_action(count: int) -> list[Figure]:
    """Release open credit holds one by one: locks, history, auto-release, the outbox row."""
    analyst = _user("bench-credit", Role.CREDIT)
    ids = list(
        Hold.objects.filter(queue="credit", state="open", order__source_system=SOURCE)
        .order_by("id")
        .values_list("id", flat=True)[:count]
    )
    samples = []
    for hold_id in ids:
        start = time.perf_counter()
        # the generated customers' exposure has grown since their holds were raised: the analyst
        # confirms today's figures, as the queue's checkbox does (credit_now is in the timing)
        hold_release(
            hold_id=hold_id, actor=analyst, reason="Benchmark release", confirm_exposure=True
        )
        samples.append((time.perf_counter() - start) * 1000)
    return [
        Figure(
            "hold release p95",
            _pct(samples, 0.95),
            "ms",
            "<= 100 ms",
            {"n": len(samples)},
            sample_spread(samples),
        )
    ]


def dashboard(requests: int) -> list[Figure]:
    """The dashboard reads KPI slices; first the minute refresh beat runs, timed (it takes in
    what changed since the data set's last refresh, the same in every run since each measures on
    a fresh copy, or builds every slice on data generated before the slices existed)."""
    started = time.perf_counter()
    days = rollups.refresh()
    refresh_ms = 1000 * (time.perf_counter() - started)
    manager = _user("bench-manager", Role.MANAGER)
    samples, queries = _timed_get(_client(manager), "/insights/", requests)
    return [
        Figure(
            "dashboard p95 (30 days)",
            _pct(samples, 0.95),
            "ms",
            "<= 300 ms",
            {"queries": queries},
            sample_spread(samples),
        ),
        Figure(
            "KPI slice refresh",
            refresh_ms,
            "ms",
            "(beat, every minute)",
            {"days": "all (first build)" if days is None else len(days)},
        ),
    ]


def erp_connector() -> Connector:
    """Named after the generator's source system, so imported orders find its customers."""
    connector, _ = Connector.objects.get_or_create(
        name=SOURCE, defaults={"kind": "erp", "base_url": "http://127.0.0.1:9", "enabled": False}
    )
    return connector


def order_records(prefix: str, count: int, *, customers: int = 200, items: int = 400) -> list:
    """``count`` ERP order messages of 4 lines (2 of each item) for the generator's first
    ``customers`` customers in turn, on their main ship-to, ids ``<prefix>-<stamp>-<n>``."""
    return list(iter_order_records(prefix, count, customers=customers, items=items))


def iter_order_records(prefix: str, count: int, *, customers: int = 200, items: int = 400):
    """:func:`order_records` one at a time, for runs too long to hold in memory."""
    numbers = list(
        Customer.objects.filter(source_system=SOURCE).values_list("number", flat=True)[:customers]
    )
    skus = list(Item.objects.filter(source_system=SOURCE).values_list("sku", flat=True)[:items])
    stamp = int(time.time())
    for n in range(count):
        yield {
            "id": f"{prefix}-{stamp}-{n}",
            "version": 1,
            "number": f"{prefix}-{stamp}-{n}",
            "channel": "edi",
            "customer": numbers[n % len(numbers)],
            "ship_to": "MAIN",
            "lines": [{"sku": skus[(n * 4 + k) % len(skus)], "quantity": "2"} for k in range(4)],
        }


def ingestion(orders: int, *, copy_rate: float | None = None) -> list[Figure]:
    """Orders of 4 lines through the real pipeline (inbox → mapping → order_create → rules → holds
    and history) in this process, with the naive per-object save() path as its baseline in this
    run (the COPY baseline is the generator's own rate)."""
    connector = erp_connector()
    records = order_records("ING", orders)
    stamp = int(time.time())
    before = Order.objects.count()
    start = time.perf_counter()
    inbox_store(connector=connector, stream="orders", records=records)
    while inbox_process(connector_id=connector.pk, stream="orders"):  # a call takes 1,000 at most
        pass
    elapsed = time.perf_counter() - start
    made = Order.objects.count() - before
    pipeline_rate = made / elapsed if elapsed else 0.0

    # (b) the naive path: one save() per object, history signals and all
    customer = Customer.objects.filter(source_system=SOURCE).first()
    items = list(Item.objects.filter(source_system=SOURCE)[:4])
    start = time.perf_counter()
    naive = max(50, orders // 10)
    for n in range(naive):
        with transaction.atomic():
            order = Order(
                number=f"NAIVE-{stamp}-{n}",
                channel="edi",
                customer=customer,
                received_at=timezone.now(),
            )
            order.save()
            for k, item in enumerate(items, start=1):
                order.lines.create(
                    line_number=k, item=item, ordered_qty=Decimal(2), unit_price=item.list_price
                )
    naive_rate = naive / (time.perf_counter() - start)
    dead = InboundMessage.objects.filter(connector=connector, state="dead").count()
    return [
        Figure(
            "ingestion",
            round(pipeline_rate, 1),
            "orders/s",
            ">= 2,000 orders/s, >= 10x naive",
            {
                "orders": made,
                "dead": dead,
                "naive orders/s": round(naive_rate, 1),
                "x naive": round(pipeline_rate / naive_rate, 2) if naive_rate else None,
                "COPY orders/s": copy_rate,
                "share of COPY": round(pipeline_rate / copy_rate, 4) if copy_rate else None,
            },
        )
    ]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT version()")
        database = cursor.fetchone()[0]
    return {"cpus": os.cpu_count(), "uname": " ".join(os.uname()), "database": database}
