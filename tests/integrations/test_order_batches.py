"""Orders import set-wise, a chunk per transaction: the same orders, holds, states, history and
WMS instructions as the one-at-a-time path, in a fixed number of queries per chunk; a chunk that
fails unexpectedly is applied one message at a time, so one bad order never holds up the rest."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

import exceptions.services
from exceptions.models import Hold
from integrations.models import InboundMessage, InboundState, OutboundMessage, SyncCursor
from integrations.services import connector_sync, inbox_process
from integrations.services import inbox as inbox_module
from orders.models import Order, OrderLine
from tests.integrations.test_sandbox_sync import sync

pytestmark = pytest.mark.django_db


def _one_at_a_time(*, connector_id, limit, counts):
    # none applied as a batch: the inbox applies every waiting message one at a time
    return list(
        InboundMessage.objects.filter(connector_id=connector_id, stream="orders")
        .select_related("connector")
        .order_by("external_id", "version")[:limit]
    )


def _outcome():
    """What a person would see of the import: every order, its holds and its story."""
    return {
        "orders": {
            order.number: (
                order.state,
                order.total,
                order.ship_to_id,
                str(order.correlation_id),
                sorted(
                    (h.reason.code, h.scope.startswith("line"), h.value_at_risk, h.approval_amount)
                    + (h.priority_score, h.queue, h.state, h.context != {})
                    for h in order.holds.all()
                ),
                [
                    (line.line_number, line.item.sku, line.ordered_qty, line.unit_price)
                    + (line.contract_price,)
                    for line in order.lines.all()
                ],
            )
            for order in Order.objects.prefetch_related("holds__reason", "lines__item")
        },
        "order history": sorted(
            Order.history.values_list("number", "history_type", "state", "history_change_reason")
        ),
        "line history": OrderLine.history.count(),
        "hold history": sorted(
            Hold.history.values_list("order__number", "history_type", "history_change_reason")
        ),
        "messages": sorted(
            InboundMessage.objects.filter(stream="orders").values_list(
                "external_id", "state", "attempts", "last_error"
            )
        ),
        "wms instructions": sorted(
            OutboundMessage.objects.filter(topic="order_release").values_list("key", "payload")
        ),
    }


class Rollback(Exception):
    pass


def test_a_batch_imports_exactly_what_one_at_a_time_would(
    erp, wms, monkeypatch, django_capture_on_commit_callbacks
):
    wms.enabled = True  # releases go to the WMS through the outbox
    wms.save()
    sync(erp, ["customers", "items", "prices", "ar"], django_capture_on_commit_callbacks)
    sync(wms, ["inventory"], django_capture_on_commit_callbacks)
    connector_sync(connector_id=erp.pk, stream="orders")
    outcomes = {}
    for path in ("one at a time", "batch"):
        try:
            with transaction.atomic():
                # on-commit work (the one-at-a-time path evaluates there) runs as it would
                with django_capture_on_commit_callbacks(execute=True), monkeypatch.context() as p:
                    if path == "one at a time":
                        p.setattr(inbox_module, "orders_apply_batches", _one_at_a_time)
                    inbox_process(connector_id=erp.pk, stream="orders")
                outcomes[path] = _outcome()
                raise Rollback
        except Rollback:
            pass
    one, batch = outcomes["one at a time"], outcomes["batch"]
    assert len(batch["orders"]) == 30 and batch["orders"]  # the sandbox's feed, all imported
    held = [n for n, o in batch["orders"].items() if o[0] == "on_hold"]
    assert held and all(batch["orders"][n][4] for n in held)  # held orders name their holds
    assert batch["wms instructions"]  # touchless releases told the WMS
    for number, seen in one["orders"].items():  # order by order, for a readable difference
        assert batch["orders"][number] == seen, number
    for key in one:
        assert batch[key] == one[key], key


def test_a_chunk_costs_the_same_queries_whatever_its_size(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    sync(erp, ["customers", "items", "prices", "ar"], django_capture_on_commit_callbacks)
    sync(wms, ["inventory"], django_capture_on_commit_callbacks)
    queries = {}
    for size in (5, 25):
        sandbox.state.orders = size
        InboundMessage.objects.filter(stream="orders").delete()  # test setup: a fresh feed
        Order.objects.all().delete()
        SyncCursor.objects.filter(stream="orders").delete()
        connector_sync(connector_id=erp.pk, stream="orders")
        with CaptureQueriesContext(connection) as captured:
            counts = inbox_process(connector_id=erp.pk, stream="orders")
        assert counts.get("processed") == size
        queries[size] = len(captured)
    assert queries[5] == queries[25], queries


def test_an_unexpected_failure_in_a_chunk_applies_its_messages_one_at_a_time(
    erp, wms, monkeypatch, django_capture_on_commit_callbacks
):
    sync(erp, ["customers", "items", "prices", "ar"], django_capture_on_commit_callbacks)
    sync(wms, ["inventory"], django_capture_on_commit_callbacks)
    connector_sync(connector_id=erp.pk, stream="orders")

    def broken(**kwargs):
        raise RuntimeError("a bug in the batch path")

    monkeypatch.setattr(exceptions.services, "orders_evaluate_imported", broken)
    with django_capture_on_commit_callbacks(execute=True):
        counts = inbox_process(connector_id=erp.pk, stream="orders")
    # nothing of the failed chunk stayed; every order then went in on its own, and was evaluated
    assert counts == {"processed": 30}
    assert Order.objects.count() == 30 and not Order.objects.filter(state="received").exists()
    assert not InboundMessage.objects.exclude(state=InboundState.PROCESSED).exists()
