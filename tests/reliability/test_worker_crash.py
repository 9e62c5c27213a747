"""Real `celery worker` processes on Redis, killed mid-batch: SIGKILL then a restart processes every
message exactly once in effect; SIGTERM (warm shutdown) loses nothing; a poison message that kills
its worker ends in the dead letters instead of an endless crash loop. The broker's visibility
timeout is consistent with every time limit, backoff and countdown."""

import signal
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db.models import Count

from exceptions.models import Hold
from integrations.models import Connector, InboundMessage, InboundState, OutboundMessage
from integrations.services import inbox_store
from integrations.services.inbox import POISON_ATTEMPTS
from integrations.tasks import inbox_process_task
from o2c.celery import app
from orders.models import Order
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.processes import start_worker, stop_worker, wait_for
from tests.summary import summary

SOURCE = "crash-erp"
#: Workers in these tests get a short visibility timeout, so a killed worker's task comes back in
#: seconds rather than the production hour.
FAST_REDELIVERY = {"CELERY_VISIBILITY_TIMEOUT": "5", "CELERY_RESTORE_INTERVAL": "1"}


def test_visibility_timeout_outlasts_every_limit_backoff_and_countdown():
    """A task must never be redelivered while it is still running or waiting for its retry."""
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    if visibility is None:  # the embedded filesystem broker: no redelivery by timeout at all
        pytest.skip("the filesystem broker has no visibility timeout")
    longest = 0
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        hard_limit = task.time_limit or settings.CELERY_TASK_TIME_LIMIT
        # celery caps an exponential backoff at 600 s unless the task sets its own cap
        backoff = (
            getattr(task, "retry_backoff_max", 600) if getattr(task, "retry_backoff", 0) else 0
        )
        countdown = task.default_retry_delay if not getattr(task, "retry_backoff", False) else 0
        longest = max(longest, hard_limit, backoff + hard_limit, countdown + hard_limit)
        assert backoff + hard_limit < visibility, name
        assert countdown + hard_limit < visibility, name
    summary(
        "visibility timeout consistency",
        load=f"{len(app.tasks)} tasks",
        result=f"longest {longest} s < {visibility} s",
    )


@pytest.fixture
def redis_broker():
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs Redis (CELERY_BROKER_URL=redis://…): redelivery is the broker's")


@pytest.fixture
def orders_waiting(transactional_db, hold_policy, stocked_item):
    """A connector with ``n`` order messages stored and not yet applied."""
    connector = Connector.objects.create(
        name=SOURCE, kind="erp", base_url="http://127.0.0.1:9", enabled=False
    )
    Connector.objects.create(name="crash-wms", kind="wms", base_url="http://127.0.0.1:9")
    CustomerFactory(
        number="CC-1", external_id="CC-1", source_system=SOURCE, credit_limit=Decimal("1e9")
    )

    def store(n: int, *, poison_at: int | None = None):
        records = [
            {
                "id": f"CR-{i:04d}",
                "version": 1,
                "number": f"CR-{i:04d}",
                "channel": "edi",
                "customer": "CC-1",
                "ship_to": "",
                "lines": [{"sku": stocked_item.sku, "quantity": str(1 + i % 3)}],
                **({"crash": True} if i == poison_at else {}),
            }
            for i in range(n)
        ]
        inbox_store(connector=connector, stream="orders", records=records)
        return connector

    return store


def _processed() -> int:
    return InboundMessage.objects.filter(
        connector__name=SOURCE, state=InboundState.PROCESSED
    ).count()


def _exactly_once(n: int) -> None:
    """n messages, n orders, one arrival in each order's history, no hold twice, one release
    instruction per released order."""
    assert _processed() == n
    orders = Order.objects.filter(source_system=SOURCE)
    assert orders.count() == n
    assert not (
        Order.history.filter(source_system=SOURCE, history_type="+")
        .values("id")
        .annotate(n=Count("history_id"))
        .filter(n__gt=1)
        .exists()
    )
    assert not (
        Hold.objects.filter(order__source_system=SOURCE)
        .values("order_id", "reason_id", "scope")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .exists()
    )
    released = orders.exclude(state__in=["received", "on_hold"]).count()
    assert OutboundMessage.objects.filter(topic="order_release").count() == released


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigkill_mid_batch_then_restart_processes_every_message_once(redis_broker, orders_waiting):
    n = 150
    connector = orders_waiting(n)
    # small chunks, so the kill lands between committed chunks and inside one
    first = start_worker(name="crash-a", extra_env=FAST_REDELIVERY | {"O2C_ORDER_CHUNK": "10"})
    try:
        inbox_process_task.delay(connector.pk, "orders")
        assert wait_for(lambda: _processed() >= 20, timeout=90), "the worker never started"
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    done_before = _processed()
    assert 0 < done_before < n, f"not mid-batch: {done_before} of {n}"
    second = start_worker(name="crash-b", extra_env=FAST_REDELIVERY)
    try:
        # nobody re-sends anything: the broker hands the killed worker's task to the new one
        assert wait_for(lambda: _processed() == n, timeout=120), f"{_processed()} of {n}"
    finally:
        stop_worker(second)
    _exactly_once(n)
    summary(
        "worker SIGKILL mid-batch",
        load=f"{n} orders, killed after {done_before}",
        faults="SIGKILL, restart",
        result="every message applied once",
        lost=n - _processed(),
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_sigterm_warm_shutdown_loses_nothing(redis_broker, orders_waiting):
    n = 100
    connector = orders_waiting(n)
    worker = start_worker(name="crash-term", extra_env=FAST_REDELIVERY)
    inbox_process_task.delay(connector.pk, "orders")
    assert wait_for(lambda: _processed() >= 10, timeout=90), "the worker never started"
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=120)  # warm: the running task finishes and is acknowledged first
    _exactly_once(n)
    summary(
        "worker SIGTERM (warm shutdown)",
        load=f"{n} orders",
        faults="SIGTERM mid-batch",
        result="batch finished before exit",
        lost=n - _processed(),
    )


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_message_that_kills_its_worker_ends_in_the_dead_letters(redis_broker, orders_waiting):
    n, poison = 30, 12
    connector = orders_waiting(n, poison_at=poison)
    inbox_process_task.delay(connector.pk, "orders")
    crashes, worker = 0, None
    deadline = time.monotonic() + 240
    poison_message = InboundMessage.objects.get(external_id=f"CR-{poison:04d}")
    try:
        # the test is the supervisor (systemd, Kubernetes): it restarts whatever worker died
        while time.monotonic() < deadline:
            poison_message.refresh_from_db()
            if poison_message.state == InboundState.DEAD and _processed() == n - 1:
                break
            if worker is None or worker.poll() is not None:
                if worker is not None:
                    crashes += 1
                    assert worker.returncode == 137, worker.returncode
                worker = start_worker(
                    name=f"crash-poison-{crashes}",
                    extra_env=FAST_REDELIVERY,
                    include="tests.reliability.crash_hook",
                )
            time.sleep(0.5)
    finally:
        if worker is not None:
            stop_worker(worker)
    poison_message.refresh_from_db()
    assert poison_message.state == InboundState.DEAD, (poison_message.state, crashes)
    assert poison_message.last_error.startswith("poison: its worker died"), poison_message
    assert crashes == POISON_ATTEMPTS
    assert not Order.objects.filter(number=f"CR-{poison:04d}").exists()
    assert _processed() == n - 1  # every other message of the batch applied
    summary(
        "poison message",
        load=f"{n} orders, 1 poison",
        faults=f"worker killed by the message {crashes} times",
        result="dead letter with reason; rest applied",
        lost=0,
    )
