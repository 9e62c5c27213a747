"""Workers sharing a stream split its messages: one that another worker is applying is left to
it (skipped, not waited for, not counted as an attempt) and the rest go ahead; one that another
run has applied since this run listed it is passed over cheaply. Outbox relays split theirs alike."""

import threading
from contextlib import contextmanager

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from billing.models import Invoice
from integrations.models import (
    Connector,
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
)
from integrations.services import inbox_process, inbox_store, outbox_relay
from integrations.services.attempts import claimed
from integrations.services.inbox import _still_waiting
from integrations.services.outbox import _claimed as outbox_claimed


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks with SKIP LOCKED need PostgreSQL; SQLite locks the whole file")


def _shipment(order) -> dict:
    return {
        "id": f"SHP-{order.number}",
        "order": order.number,
        "shipped_at": timezone.now().isoformat(),
        "lines": [
            {"line": line.line_number, "quantity": str(line.ordered_qty)}
            for line in order.lines.all()
        ],
    }


@contextmanager
def _held_elsewhere(claim):
    """``claim()`` run in another thread's transaction, on its own connection, and held there
    (its row locks with it) until the block ends."""
    locked, done, claims = threading.Event(), threading.Event(), []

    def other():
        try:
            with transaction.atomic():
                claims.append(claim())
                locked.set()
                done.wait(timeout=60)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        assert claims[0] is not None
        yield
    finally:
        done.set()
        thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_a_message_another_worker_is_applying_is_left_to_it(
    postgresql, released_order, django_capture_on_commit_callbacks
):
    wms = Connector.objects.create(name="claims-wms", kind="wms", base_url="http://127.0.0.1:9")
    busy, free = released_order(lines=[("A", "2")]), released_order(lines=[("B", "3")])
    inbox_store(connector=wms, stream="shipments", records=[_shipment(busy), _shipment(free)])
    held = InboundMessage.objects.get(external_id=f"SHP-{busy.number}")

    # claimed as a worker in the middle of applying it claims it
    with (
        _held_elsewhere(lambda: claimed(held)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        counts = inbox_process(connector_id=wms.pk, stream="shipments")

    # did not wait for the lock, and the other worker's claim holds that message alone (not its
    # connector's row, which every message of the stream joins): the free one went ahead
    assert counts == {"processed": 1}
    held.refresh_from_db()
    assert (held.state, held.attempts, held.unfinished_attempts) == (InboundState.RECEIVED, 0, 0)
    assert Invoice.objects.filter(order=free).exists()
    assert not Invoice.objects.filter(order=busy).exists()

    # once the other worker lets go, the next run applies it
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox_process(connector_id=wms.pk, stream="shipments") == {"processed": 1}
    assert Invoice.objects.filter(order=busy).exists()


@pytest.mark.django_db
def test_a_run_skips_listed_messages_applied_since_by_another_run(released_order):
    """Under a burst of webhooks many runs of a stream are queued; one that finds its list gone
    stale re-checks it a few messages per query instead of claiming each applied message."""
    wms = Connector.objects.create(name="recheck-wms", kind="wms", base_url="http://127.0.0.1:9")
    orders = [released_order(lines=[("A", "1")]) for _ in range(3)]
    inbox_store(connector=wms, stream="shipments", records=[_shipment(o) for o in orders])
    listed = list(InboundMessage.objects.filter(connector=wms).order_by("external_id"))
    applied_meanwhile = [listed[0].pk, listed[2].pk]
    InboundMessage.objects.filter(pk__in=applied_meanwhile).update(state=InboundState.PROCESSED)

    with CaptureQueriesContext(connection) as queries:
        still = list(_still_waiting(listed))

    assert [m.pk for m in still] == [listed[1].pk]
    assert len(queries) == 1


@pytest.mark.django_db(transaction=True)
def test_a_relay_sends_what_another_relay_is_not_sending(postgresql, wms, sandbox, released_order):
    released_order(lines=[("A", "1")])
    released_order(lines=[("B", "1")])
    held, free = OutboundMessage.objects.filter(topic="order_release").order_by("pk")
    assert (held.state, free.state) == (OutboundState.PENDING, OutboundState.PENDING)

    # claimed as another relay in the middle of sending it to the same connector claims it
    with _held_elsewhere(lambda: outbox_claimed(held.pk)):
        counts = outbox_relay()

    assert counts == {"sent": 1, "failed": 0, "dead": 0}
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.state, free.state) == (OutboundState.PENDING, OutboundState.SENT)
    assert list(sandbox.state.releases) == [free.key]
    assert outbox_relay()["sent"] == 1  # once the other relay lets go
    assert sorted(sandbox.state.releases) == sorted([held.key, free.key])
