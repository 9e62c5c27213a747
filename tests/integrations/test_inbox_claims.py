"""Workers sharing a stream split its messages: one that another worker is applying is left to
it (skipped, not waited for, not counted as an attempt) and the rest go ahead."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from billing.models import Invoice
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import inbox_process, inbox_store


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

    def other_worker():  # holds the row lock as a worker in the middle of applying it would
        try:
            with transaction.atomic():
                InboundMessage.objects.select_for_update().get(pk=held.pk)
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

    assert counts == {"processed": 1}  # did not wait for the lock: the free one went ahead
    held.refresh_from_db()
    assert (held.state, held.attempts, held.unfinished_attempts) == (InboundState.RECEIVED, 0, 0)
    assert Invoice.objects.filter(order=free).exists()
    assert not Invoice.objects.filter(order=busy).exists()

    # once the other worker lets go, the next run applies it
    with django_capture_on_commit_callbacks(execute=True):
        assert inbox_process(connector_id=wms.pk, stream="shipments") == {"processed": 1}
    assert Invoice.objects.filter(order=busy).exists()
