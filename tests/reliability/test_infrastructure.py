"""Infrastructure faults during a real ingestion (sandbox ERP over HTTP → beat → worker → the
database): Redis is killed and restarted, and every database connection of the app is cut with
pg_terminate_backend. Nothing is lost, nothing is half-applied, and processing resumes by itself;
nobody re-sends or replays anything."""

import shutil
import signal
import socket
import subprocess
import time

import pytest
from django.conf import settings
from django.db import connection
from django.db.models import Count

from demo.sandbox import Sandbox, SandboxState
from demo.sandbox.data import Catalog
from integrations.client import fetch_page
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services.schedule import connector_schedule
from orders.models import Order
from tests.fixtures.processes import free_port, start_beat, start_worker, stop_worker, wait_for
from tests.summary import summary

ORDERS = 240


@pytest.fixture
def big_sandbox():
    server = Sandbox(state=SandboxState(catalog=Catalog(), orders=ORDERS)).start()
    yield server
    server.stop()


@pytest.fixture
def erp_pulled_by_beat(transactional_db, hold_policy, big_sandbox):
    """The sandbox ERP, pulled every 5 s by its beat entry (as saving it in admin schedules it)."""
    connector = Connector.objects.create(
        name="sandbox-erp",
        kind="erp",
        base_url=big_sandbox.url,
        page_size=25,
        poll_interval_seconds=5,
    )
    connector_schedule(connector=connector)
    return connector


def _expected(connector) -> dict[str, int]:
    """Order number → line count, as the ERP serves them."""
    expected, cursor = {}, ""
    while True:
        page = fetch_page(connector, "orders", cursor)
        expected.update({r["number"]: len(r["lines"]) for r in page.records})
        if not page.more:
            return expected
        cursor = page.next_cursor


def _imported() -> int:
    return Order.objects.filter(source_system="sandbox-erp").count()


def _nothing_lost_nothing_half_applied(expected: dict[str, int]) -> None:
    lines = dict(
        Order.objects.filter(source_system="sandbox-erp")
        .annotate(n=Count("lines"))
        .values_list("number", "n")
    )
    assert lines == expected  # every order, each with all of its lines: none lost, none partial
    waiting = InboundMessage.objects.exclude(
        state__in=[InboundState.PROCESSED, InboundState.DEAD]
    ).count()
    assert waiting == 0
    assert not InboundMessage.objects.filter(state=InboundState.DEAD, last_error="").exists()


@pytest.fixture
def own_redis():
    """A Redis of this test's own (CI's shared one is not ours to restart)."""
    binary = shutil.which("redis-server")
    if binary is None or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs redis-server and a Redis broker")
    port = free_port()

    def start():
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [
                binary,
                "--port",
                str(port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
        )
        assert wait_for(lambda: _pingable(port), timeout=10)
        return process

    servers = {"current": start()}
    yield {"url": f"redis://127.0.0.1:{port}/0", "servers": servers, "start": start}
    servers["current"].kill()
    servers["current"].wait()


def _pingable(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.mark.slow
def test_redis_restart_during_ingestion(erp_pulled_by_beat, own_redis):
    expected = _expected(erp_pulled_by_beat)
    env = {
        "CELERY_BROKER_URL": own_redis["url"],
        "CELERY_VISIBILITY_TIMEOUT": "5",
        "CELERY_RESTORE_INTERVAL": "1",
    }
    worker = start_worker(name="infra-redis-worker", extra_env=env)
    beat = start_beat(name="infra-redis-beat", extra_env=env)
    try:
        assert wait_for(lambda: _imported() >= 20, timeout=120), "ingestion never started"
        at_fault = _imported()
        # kill -9: queued and unacknowledged tasks vanish with it (no persistence configured)
        own_redis["servers"]["current"].send_signal(signal.SIGKILL)
        own_redis["servers"]["current"].wait()
        time.sleep(3)
        own_redis["servers"]["current"] = own_redis["start"]()
        assert wait_for(lambda: _imported() == len(expected), timeout=240), _imported()
        # and a moment more: nothing applies twice after the catch-up
        time.sleep(6)
    finally:
        stop_worker(beat)
        stop_worker(worker)
    assert worker.returncode is not None
    _nothing_lost_nothing_half_applied(expected)
    summary(
        "Redis restart during ingestion",
        load=f"{len(expected)} orders via beat + worker",
        faults=f"redis-server SIGKILL + restart after {at_fault} orders",
        result="resumed by itself; all applied once",
        lost=len(expected) - _imported(),
    )


@pytest.mark.slow
def test_database_connections_cut_during_ingestion(erp_pulled_by_beat):
    if connection.vendor != "postgresql":
        pytest.skip("pg_terminate_backend needs PostgreSQL")
    expected = _expected(erp_pulled_by_beat)
    worker = start_worker(name="infra-pg-worker")
    beat = start_beat(name="infra-pg-beat")
    cuts = 0
    try:
        assert wait_for(lambda: _imported() >= 20, timeout=120), "ingestion never started"
        at_fault = _imported()
        for _ in range(3):  # three cuts, two seconds apart, mid-transaction more often than not
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
                cuts += cursor.fetchone()[0]
            time.sleep(2)
        assert wait_for(lambda: _imported() == len(expected), timeout=240), _imported()
        time.sleep(6)
    finally:
        stop_worker(beat)
        stop_worker(worker)
    assert cuts > 0
    _nothing_lost_nothing_half_applied(expected)
    summary(
        "PostgreSQL connections cut",
        load=f"{len(expected)} orders via beat + worker",
        faults=f"pg_terminate_backend × 3 ({cuts} connections) after {at_fault} orders",
        result="resumed by itself; all applied once",
        lost=len(expected) - _imported(),
    )
