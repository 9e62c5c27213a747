"""Connectors never skip: records the sandbox inserts mid-stream, or back-dates, are still pulled
(within the overlap) or recovered and held by the reconciliation (beyond it). Over real HTTP."""

from datetime import timedelta

import pytest
from django.db.models import Count

from exceptions.models import Hold, HoldReason
from integrations.client import Keyset
from integrations.models import InboundMessage, InboundState, MissedRecord, SyncCursor
from integrations.services import connector_sync, inbox_process, outbox_relay, stream_reconcile
from integrations.services.reconcile import MISSED_REASON
from integrations.services.sync import next_position
from orders.models import Order, OrderState
from tests.integrations.test_sandbox_sync import full_sync, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def missed_reason(hold_policy):
    """The hold a missed record raises, as the migrations (and hold_policy) make it."""
    return HoldReason.objects.get(code=MISSED_REASON)


def control(sandbox, **switches):
    import httpx

    response = httpx.post(f"{sandbox.url}/_control", json=switches)
    assert response.status_code == 200, response.text
    return response.json()["switches"]


def arrivals() -> int:
    return InboundMessage.history.filter(history_type="+").count()


def test_records_inserted_mid_stream_or_back_dated_within_the_overlap_are_pulled(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    # given the 30 orders were pulled; a position cursor would now stand after the 30th
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    assert Order.objects.count() == 30
    # when the ERP inserts three orders at position 5 of its stream, two more back-dated two
    # minutes (the overlap is five), and five new orders arrive at the end
    control(sandbox, insert=[{"stream": "orders", "count": 3, "at": 5}])
    control(sandbox, insert={"stream": "orders", "count": 2, "at": 12, "backdate_seconds": 120})
    control(sandbox, orders=35)
    listed = [r["id"] for r in sandbox.state.records("orders")]
    inserted = [number for number in listed if number.startswith("SBO2")]
    assert [listed.index(n) for n in inserted] == [5, 6, 7, 12, 13]  # mid-stream, not at its end
    sync(erp, ["orders"], django_capture_on_commit_callbacks)

    # then every one of the 40 arrived, once, and was applied
    assert Order.objects.count() == 40
    assert set(inserted) <= set(Order.objects.values_list("number", flat=True))
    assert not InboundMessage.objects.exclude(state=InboundState.PROCESSED).exists()

    # and the next pull reads the overlap again, which the inbox's idempotency absorbs
    before = arrivals()
    result = connector_sync(connector_id=erp.pk, stream="orders")
    cursor = SyncCursor.objects.get(connector=erp, stream="orders")
    assert cursor.messages >= 5 and result.stored == 0 and arrivals() == before
    assert InboundMessage.objects.filter(stream="orders").count() == 40


def test_an_order_back_dated_beyond_the_overlap_is_recovered_by_the_reconciliation(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    # given the orders were pulled, and the ERP then inserts two orders stamped two hours back
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    control(sandbox, insert={"stream": "orders", "count": 2, "at": 3, "backdate_seconds": 7200})
    sync(erp, ["orders"], django_capture_on_commit_callbacks)
    assert Order.objects.count() == 30  # further back than the overlap: the pull cannot see them

    # when the reconciliation compares the last day with the source
    with django_capture_on_commit_callbacks(execute=True):
        result = stream_reconcile(connector_id=erp.pk, stream="orders")
    inbox_process(connector_id=erp.pk, stream="orders")

    # then it found both (the window ends the overlap behind the newest change: the 30 orders
    # pulled a moment ago are the next pull's to read again), recovered them, and they applied
    assert (result.source, result.present) == (2, 0)
    assert sorted(result.missed) == ["SBO200000", "SBO200001"]
    assert result.recovered == 2 and result.held == 0  # no order yet to hold
    assert Order.objects.filter(number__in=result.missed).count() == 2
    # an integration admin sees what was missed and that it is resolved
    missed = MissedRecord.objects.filter(connector=erp, stream="orders")
    assert sorted(missed.values_list("external_id", flat=True)) == ["SBO200000", "SBO200001"]
    assert all(m.resolved_at and m.order is None and "recovered" in m.note for m in missed)
    cursor = SyncCursor.objects.get(connector=erp, stream="orders")
    assert "2 at the source, 0 here, 2 missed (SBO200000, SBO200001), 2 recovered" in (
        cursor.reconciliation
    )

    # and the hourly task's next run finds nothing more missing, and changes nothing
    from integrations.tasks import connector_reconcile_task

    summaries = connector_reconcile_task.apply(args=[erp.pk]).get()
    assert summaries["orders"].endswith("2 at the source, 2 here, 0 missed.")
    assert MissedRecord.objects.count() == 2


def test_a_shipment_missed_by_the_pull_is_recovered_and_holds_its_order(
    erp, wms, sandbox, missed_reason, django_capture_on_commit_callbacks
):
    from billing.models import Shipment

    # given released orders the warehouse has not shipped yet, and one shipment already pulled
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    control(sandbox, ship_after_seconds=3600, short_every=0)
    outbox_relay()
    control(sandbox, insert={"stream": "shipments", "count": 1})
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    assert Shipment.objects.count() == 1
    # when the WMS confirms two more, one stamped a minute back and one three hours back
    control(sandbox, insert={"stream": "shipments", "count": 1, "backdate_seconds": 60, "at": 0})
    control(sandbox, insert={"stream": "shipments", "count": 1, "backdate_seconds": 10800})
    back = {seconds: i for i, seconds in sandbox.state.backdate["shipments"].items()}
    late, lost = (
        next(r for r in sandbox.state.records("shipments") if r["id"] == back[seconds])
        for seconds in (60, 10800)
    )
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)

    # then the one within the overlap was pulled; the other is not, until the reconciliation
    assert set(Shipment.objects.values_list("external_id", flat=True)) >= {late["id"]}
    assert not Shipment.objects.filter(external_id=lost["id"]).exists()
    with django_capture_on_commit_callbacks(execute=True):
        result = stream_reconcile(connector_id=wms.pk, stream="shipments")
    inbox_process(connector_id=wms.pk, stream="shipments")
    assert result.missed == [lost["id"]] and result.recovered == 1 and result.held == 1

    # it is recorded on its order, which waits in the integration queue with what was missed
    order = Order.objects.get(number=lost["order"])
    assert Shipment.objects.filter(external_id=lost["id"], order=order).exists()
    assert order.state in (OrderState.SHIPPED, OrderState.PARTIALLY_SHIPPED)
    hold = Hold.objects.get(order=order, reason=missed_reason)
    assert hold.queue == "integration_admin" and hold.state == "open"
    assert hold.context["record"] == f"{lost['id']} v1" and hold.context["recovered"] == "yes"
    missed = MissedRecord.objects.get(external_id=lost["id"])
    assert missed.order == order and missed.hold == hold and missed.resolved_at
    # nothing else in the stream was missed or held
    assert Hold.objects.filter(reason=missed_reason).count() == 1
    assert (
        InboundMessage.objects.filter(stream="shipments")
        .values("external_id")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
        == 0
    )


def test_a_pull_cut_short_resumes_where_it_stopped_and_a_drained_one_overlaps(erp, sandbox):
    # given an overlap wider than the whole stream's history
    erp.overlap_seconds = 3600
    erp.save()
    # when a pull stops after one page of 25 of the 30 orders
    first = connector_sync(connector_id=erp.pk, stream="orders", max_pages=1)
    cursor = SyncCursor.objects.get(connector=erp, stream="orders")
    # then the next one starts after the 25th, not an hour back, and reaches the end
    assert not first.done and Keyset.parse(cursor.cursor).after_id == "SBO100024"
    second = connector_sync(connector_id=erp.pk, stream="orders", max_pages=1)
    assert second.done and InboundMessage.objects.filter(stream="orders").count() == 30
    cursor.refresh_from_db()
    # a drained pull leaves the cursor the overlap behind the newest change, before any id
    assert Keyset.parse(cursor.cursor).after_id == ""
    third = connector_sync(connector_id=erp.pk, stream="orders")
    assert third.done and third.pages == 2  # the overlap read again: 30 records, 2 pages


def test_an_empty_page_never_moves_a_rewound_cursor_further_back():
    rewound = Keyset.parse("2026-11-01T10:00:00.000000Z|")
    assert next_position(rewound.text(), None, drained=True, overlap=timedelta(minutes=5)) == (
        rewound.text()
    )
    exact = "2026-11-01T10:00:00.000000Z|SBO100001"
    assert next_position(exact, None, drained=True, overlap=timedelta(minutes=5)) == (
        "2026-11-01T09:55:00.000000Z|"
    )
    assert next_position("", None, drained=True, overlap=timedelta(minutes=5)) == ""


def test_the_reconciliation_runs_hourly_from_beat_for_each_enabled_connector(erp, wms, tms):
    from django_celery_beat.models import PeriodicTask

    from integrations.tasks import connectors_reconcile
    from o2c.celery import app

    task = PeriodicTask.objects.get(name="Reconcile connector streams")
    assert task.enabled and (task.interval.every, task.interval.period) == (1, "hours")
    app.loader.import_default_modules()
    assert task.task in app.tasks
    tms.enabled = False
    tms.save()
    assert connectors_reconcile.apply().get() == 2
