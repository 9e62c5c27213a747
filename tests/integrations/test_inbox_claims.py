"""Workers sharing a stream split its messages: one that another worker is applying is left to
it (skipped, not waited for, not counted as an attempt) and the rest go ahead; one that another
run has applied since this run listed it is passed over cheaply. Outbox relays split theirs alike."""

import threading

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


@pytest.mark.django_db(transaction=True)
def test_a_message_another_worker_is_applying_is_left_to_it(
    postgresql, released_order, django_capture_on_commit_callbacks
):
    wms = Connector.objects.create(name="claims-wms", kind="wms", base_url="http://127.0.0.1:9")
    busy, free = released_order(lines=[("A", "2")]), released_order(lines=[("B", "3")])
    inbox_store(connector=wms, stream="shipments", records=[_shipment(busy), _shipment(free)])
    held = InboundMessage.objects.get(external_id=f"SHP-{busy.number}")
    locked, done = threading.Event(), threading.Event()

    def other_worker():  # claims the message as a worker in the middle of applying it does
        try:
            with transaction.atomic():
                assert claimed(held) is not None
                locked.set()
                done.wait(timeout=60)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_worker)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        with django_capture_on_commit_callbacks(execute=True):
            counts = inbox_process(connector_id=wms.pk, stream="shipments")
    finally:
        done.set()
        thread.join(timeout=60)

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
    locked, done = threading.Event(), threading.Event()

    def other_relay():  # in the middle of sending ``held`` to the same connector
        try:
            with transaction.atomic():
                assert outbox_claimed(held.pk) is not None
                locked.set()
                done.wait(timeout=60)
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_relay)
    thread.start()
    try:
        assert locked.wait(timeout=30)
        counts = outbox_relay()
    finally:
        done.set()
        thread.join(timeout=60)

    assert counts == {"sent": 1, "failed": 0, "dead": 0}
    held.refresh_from_db()
    free.refresh_from_db()
    assert (held.state, free.state) == (OutboundState.PENDING, OutboundState.SENT)
    assert list(sandbox.state.releases) == [free.key]
    assert outbox_relay()["sent"] == 1  # once the other relay lets go
    assert sorted(sandbox.state.releases) == sorted([held.key, free.key])
