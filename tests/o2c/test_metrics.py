"""/metrics: Prometheus text with the desk's gauges for a loopback scraper (or a bearer token), a
403 for anyone else, and a fixed number of queries however much there is to count."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from core.roles import get_system_user
from exceptions.models import Hold
from integrations.models import Connector, InboundMessage, OutboundMessage, WorkerHeartbeat
from integrations.services import worker_report
from o2c.task_metrics import task_record
from receivables.models import Payment, UnappliedCash
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def _samples(response) -> dict:
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            if sample.name.startswith("o2c_"):
                found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _inbound(connector, stream, n, state):
    for i in range(n):
        message = InboundMessage.objects.create(
            connector=connector,
            stream=stream,
            external_id=f"{stream}-{state}-{i}",
            payload={},
            payload_hash="0" * 64,
            received_at=timezone.now(),
        )
        InboundMessage.objects.filter(pk=message.pk).update(state=state)


def _unapplied(customer, currency, amount, key):
    payment = Payment.objects.create(
        key=key,
        entry_reference=key,
        amount=amount,
        currency=currency,
        value_date=timezone.now().date(),
        method=Payment.Method.WIRE,
        received_at=timezone.now(),
    )
    return UnappliedCash.objects.create(
        customer=customer,
        payment=payment,
        amount=amount,
        kind=UnappliedCash.Kind.ON_ACCOUNT,
        created_at=timezone.now(),
        created_by=get_system_user(),
    )


@pytest.fixture
def desk(enter):
    """Two credit holds (one past due), an inbox backlog and dead letters, an outbox message ten
    minutes old, unapplied cash in two currencies (one released, so not counted), a live worker and a silent one."""
    first, second = enter(quantity="100"), enter(quantity="100")
    holds = Hold.objects.filter(order__in=[first, second])
    assert holds.count() == 2 and {h.queue for h in holds} == {"credit"}
    Hold.objects.filter(order=first).update(due_at=timezone.now() - timedelta(hours=1))
    Hold.objects.filter(order=second).update(due_at=timezone.now() + timedelta(hours=1))

    erp = Connector.objects.create(name="m-erp", kind="erp", base_url="http://127.0.0.1:9")
    _inbound(erp, "orders", 3, "received")
    _inbound(erp, "orders", 1, "failed")
    _inbound(erp, "customers", 2, "dead")
    _inbound(erp, "orders", 4, "processed")
    OutboundMessage.objects.create(
        connector=erp,
        topic="invoice_release",
        key="invoice:M-1",
        payload={},
        created_at=timezone.now() - timedelta(minutes=10),
    )

    customer = CustomerFactory()
    _unapplied(customer, "USD", Decimal("120.50"), "M-P1")
    _unapplied(customer, "USD", Decimal("79.50"), "M-P2")
    _unapplied(customer, "EUR", Decimal("40.00"), "M-P3")
    released = _unapplied(customer, "EUR", Decimal("999.00"), "M-P4")
    UnappliedCash.objects.filter(pk=released.pk).update(released_at=timezone.now())

    for name in ("o2c-ingest@a", "o2c-worker@b"):
        worker_report(hostname=name, queues=["ingest"], pid=1, started_at=timezone.now())
    WorkerHeartbeat.objects.filter(hostname="o2c-ingest@a").update(
        last_seen=timezone.now() - timedelta(hours=1)
    )


def test_loopback_reads_the_desk_gauges(client, desk):
    response = client.get("/metrics", REMOTE_ADDR="127.0.0.1")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    got = _samples(response)
    erp_orders = (("connector", "m-erp"), ("stream", "orders"))
    erp_customers = (("connector", "m-erp"), ("stream", "customers"))
    assert got[("o2c_inbox_backlog", erp_orders)] == 4
    assert got[("o2c_inbox_dead_letters", erp_customers)] == 2
    assert got[("o2c_inbox_dead_letters", erp_orders)] == 0
    assert got[("o2c_holds_open", (("queue", "credit"),))] == 2
    assert got[("o2c_holds_sla_breached", (("queue", "credit"),))] == 1
    assert got[("o2c_unapplied_cash", (("currency", "USD"),))] == 200.0
    assert got[("o2c_unapplied_cash", (("currency", "EUR"),))] == 40.0
    assert 590 <= got[("o2c_outbox_oldest_pending_age_seconds", ())] < 900
    assert got[("o2c_outbox_dead_letters", ())] == 0
    assert got[("o2c_workers", (("state", "alive"),))] == 1
    assert got[("o2c_workers", (("state", "silent"),))] == 1
    assert got[("o2c_workers", (("state", "stopped"),))] == 0
    # and django-prometheus's request metrics are there too
    assert b"django_http_requests_total_by_method_total" in response.content


def test_the_gauges_take_the_same_queries_for_few_and_many_rows(client, desk):
    with CaptureQueriesContext(connection) as few:
        client.get("/metrics")
    erp = Connector.objects.get(name="m-erp")
    for stream in ("prices", "items", "ar"):
        _inbound(erp, stream, 5, "received")

    with CaptureQueriesContext(connection) as many:
        client.get("/metrics")

    assert len(many) == len(few) <= 6


def test_another_address_is_refused(client, desk):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 403
    assert b"o2c_" not in response.content


def test_a_forwarded_for_header_does_not_get_a_stranger_in(client):
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 403


@override_settings(O2C_METRICS_TOKEN="scrape-me-0123456789")
def test_a_bearer_token_lets_a_remote_scraper_in_and_a_wrong_one_does_not(client):
    def get(token):
        return client.get(
            "/metrics", REMOTE_ADDR="203.0.113.9", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    assert get("scrape-me-0123456789").status_code == 200
    assert get("scrape-me-wrong").status_code == 403


def test_task_runs_counted_by_the_workers_are_served_by_outcome(client):
    # given runs of the heartbeat task counted as a worker counts them (in the shared cache)
    task = "integrations.tasks.worker_heartbeat"
    before = _samples(client.get("/metrics"))
    succeeded = ("o2c_tasks_total", (("state", "succeeded"), ("task", task)))
    failed = ("o2c_tasks_total", (("state", "failed"), ("task", task)))
    spent = ("o2c_task_seconds_total", (("task", task),))

    task_record(task, "succeeded", 0.25)
    task_record(task, "succeeded", 0.5)
    task_record(task, "failed", 1.0)

    # then a scrape shows them by outcome, with the time they took
    after = _samples(client.get("/metrics"))
    assert after[succeeded] - before[succeeded] == 2
    assert after[failed] - before[failed] == 1
    assert after[spent] - before[spent] == pytest.approx(1.75)
