"""Connectors against the sandbox over real HTTP: idempotent pulls, retries, dead letters, replay, outbox."""

import pytest
from django.db.models import Count

from core.errors import TransientError
from exceptions.models import Hold
from integrations.client import PermanentError
from integrations.models import (
    InboundMessage,
    InboundState,
    OutboundMessage,
    OutboundState,
    SyncCursor,
)
from integrations.services import connector_sync, inbox_process, inbox_replay, outbox_relay
from orders.models import Customer, Item, Order, OrderState

pytestmark = pytest.mark.django_db
ERP_STREAMS = ["customers", "items", "prices", "ar", "orders"]


def sync(connector, streams, capture):
    with capture(execute=True):  # run what follows each commit: rule evaluation, as in production
        for stream in streams:
            connector_sync(connector_id=connector.pk, stream=stream)
            inbox_process(connector_id=connector.pk, stream=stream)


def full_sync(erp, wms, capture):
    """Master data, then stock, then orders: the order a real first load takes."""
    sync(erp, ["customers", "items", "prices", "ar"], capture)
    sync(wms, ["inventory"], capture)
    sync(erp, ["orders"], capture)


def fingerprint():
    return {
        "orders": sorted(Order.objects.values_list("number", "state", "total", "correlation_id")),
        "customers": Customer.objects.count(),
        "items": Item.objects.count(),
        "holds": Hold.objects.count(),
        "order_history": Order.history.count(),
        "arrivals": InboundMessage.history.filter(history_type="+").count(),
    }


def test_full_sync_creates_orders_with_holds_for_problem_orders(
    erp, wms, caplog, django_capture_on_commit_callbacks
):
    from core.logs import CorrelationFilter

    caplog.handler.addFilter(CorrelationFilter())
    caplog.set_level("INFO", logger="integrations")
    full_sync(erp, wms, django_capture_on_commit_callbacks)

    assert Customer.objects.filter(source_system="sandbox-erp").count() == 40
    orders = Order.objects.filter(source_system="sandbox-erp")
    assert orders.count() == 30
    # about a fifth of sandbox orders carry a problem: they wait on hold, the rest flowed through
    states = dict(orders.values_list("state").annotate(n=Count("id")))
    assert states.get(OrderState.ON_HOLD, 0) >= 1 and states.get(OrderState.RELEASED, 0) >= 15
    # the inbound message's correlation id travels to the order
    message = InboundMessage.objects.get(stream="orders", external_id="SBO100000")
    assert Order.objects.get(external_id="SBO100000").correlation_id == message.correlation_id
    # and every log line written while applying it carries the same id
    lines = [r for r in caplog.records if "SBO100000" in r.getMessage()]
    assert lines and {r.correlation_id for r in lines} == {str(message.correlation_id)}
    assert not InboundMessage.objects.exclude(state=InboundState.PROCESSED).exists()
    # each message's arrival is in its history, authored by the connector's system user
    arrival = InboundMessage.history.get(id=message.pk, history_type="+")
    assert arrival.history_change_reason == "Received from sandbox-erp"
    assert arrival.history_user.username == "o2c-system"


def test_feeding_every_stream_again_shuffled_and_duplicated_changes_nothing(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    before = fingerprint()

    # when the whole feed is delivered again, duplicated and out of order
    sandbox.state.duplicates = sandbox.state.shuffle = True
    SyncCursor.objects.update(cursor="")
    full_sync(erp, wms, django_capture_on_commit_callbacks)

    # then nothing changed: same orders, totals, holds, and not one new history row
    assert fingerprint() == before


def test_5xx_then_success_is_processed_once(erp, sandbox, django_capture_on_commit_callbacks):
    sandbox.state.fail_next = [503, 500, 429]
    for _ in range(3):
        with pytest.raises(TransientError):
            connector_sync(connector_id=erp.pk, stream="customers")
    assert SyncCursor.objects.get(connector=erp, stream="customers").last_error.endswith(
        "HTTP 429 on erp/customers"
    )
    sync(erp, ["customers"], django_capture_on_commit_callbacks)
    assert Customer.objects.count() == 40
    assert InboundMessage.objects.filter(stream="customers").count() == 40
    assert not SyncCursor.objects.get(connector=erp, stream="customers").last_error


def test_permanent_http_error_is_not_retried(erp, sandbox):
    erp.base_url = sandbox.url + "/nowhere"
    erp.save()
    with pytest.raises(PermanentError, match="HTTP 404"):
        connector_sync(connector_id=erp.pk, stream="customers")


def test_malformed_and_unknown_references_become_dead_letters_then_replay_after_the_fix(
    erp, sandbox, manager_user, django_capture_on_commit_callbacks
):
    # given orders arrive before their items are known, and one order is malformed
    sandbox.state.malformed = {"SBO100002"}
    sync(erp, ["customers", "orders"], django_capture_on_commit_callbacks)
    dead = InboundMessage.objects.filter(stream="orders", state=InboundState.DEAD)
    assert dead.count() == 30 and not Order.objects.exists()
    malformed = dead.get(external_id="SBO100002")
    assert malformed.last_error == "lines[1].quantity: must be at least 0, got -3"
    assert dead.get(external_id="SBO100000").last_error.startswith("lines.sku: unknown SB-")

    # when the items arrive and the dead letters are replayed
    sync(erp, ["items", "prices"], django_capture_on_commit_callbacks)
    replayed = inbox_replay(
        message_ids=list(dead.values_list("pk", flat=True)),
        actor=manager_user,
        reason="Items now loaded",
    )
    with django_capture_on_commit_callbacks(execute=True):
        inbox_process(connector_id=erp.pk, stream="orders")

    # then every order applies except the malformed one, which stays dead with its reason
    assert replayed == 30
    assert Order.objects.count() == 29
    malformed.refresh_from_db()
    assert malformed.state == InboundState.DEAD
    reasons = list(
        InboundMessage.history.filter(id=malformed.pk)
        .order_by("history_date")
        .values_list("history_change_reason", flat=True)
    )
    assert reasons[-2:] == [
        "Replayed: Items now loaded",
        "Dead letter: lines[1].quantity: must be at least 0, got -3",
    ]


def test_records_without_identity_are_kept_as_dead_letters(erp):
    from integrations.services import inbox_store

    inbox_store(
        connector=erp, stream="customers", records=[["not", "an", "object"], {"name": "no id"}]
    )
    dead = InboundMessage.objects.filter(state=InboundState.DEAD)
    assert dead.count() == 2 and set(dead.values_list("last_error", flat=True)) == {
        "id/version: missing or not valid"
    }


def test_released_orders_reach_the_wms_exactly_once(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    released = Order.objects.filter(state=OrderState.RELEASED).count()
    assert OutboundMessage.objects.filter(topic="order_release").count() == released

    # the first relay meets a 503 and retries; later relays send the rest once
    sandbox.state.fail_next = [503]
    first = outbox_relay()
    assert first["failed"] == 1
    outbox_relay()
    assert outbox_relay() == {"sent": 0, "failed": 0, "dead": 0}
    assert len(sandbox.state.releases) == released == sandbox.state.release_posts
    assert set(OutboundMessage.objects.values_list("state", flat=True)) == {OutboundState.SENT}


def test_released_orders_ship_and_short_shipments_stay_partial(
    erp, wms, sandbox, django_capture_on_commit_callbacks
):
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    outbox_relay()
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    released = len(sandbox.state.releases)
    # shipped orders go on to be invoiced (immediate billing) unless finance must approve first
    shipped = Order.objects.filter(
        state__in=[
            OrderState.SHIPPED,
            OrderState.PARTIALLY_SHIPPED,
            OrderState.PARTIALLY_INVOICED,
            OrderState.INVOICED,
        ]
    )
    assert shipped.count() == released
    # the sandbox ships some orders one short on their first line: those stay partially shipped
    # (or partially invoiced), each with a shortage hold in the warehouse queue
    ordered = {r["order"]: r["lines"][0]["quantity"] for r in sandbox.state.releases.values()}
    short = [
        s["order"]
        for s in sandbox.state.shipments()
        if s["lines"][0]["quantity"] != ordered[s["order"]]
    ]
    partly = shipped.filter(state__in=[OrderState.PARTIALLY_SHIPPED, OrderState.PARTIALLY_INVOICED])
    assert short and sorted(short) == sorted(partly.values_list("number", flat=True))
    assert sorted(short) == sorted(
        Hold.objects.filter(reason__code="SHIPMENT_SHORT", queue="warehouse").values_list(
            "order__number", flat=True
        )
    )
    partial = partly.first()
    first = partial.lines.get(line_number=1)
    assert first.shipped_qty == first.ordered_qty - 1
    # the shipment's reason names the carrier and tracking number in the timeline (not always
    # the latest entry: under immediate billing the invoice's release may follow it at once)
    assert Order.history.filter(
        id=partial.pk, history_change_reason__contains="via UPS 1Z"
    ).exists()


def test_a_shipment_before_its_order_is_parked_then_held_or_dead_lettered(
    erp, wms, sandbox, settings, django_capture_on_commit_callbacks
):
    full_sync(erp, wms, django_capture_on_commit_callbacks)
    held = Order.objects.filter(state=OrderState.ON_HOLD).first()
    sandbox.state.orphan_shipments = [held.number, "NEVER-SEEN"]

    # within the parking time both wait, retried on every run
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    parked = InboundMessage.objects.filter(stream="shipments", state=InboundState.FAILED)
    assert set(parked.values_list("external_id", flat=True)) == {
        f"SHP-{held.number}",
        "SHP-NEVER-SEEN",
    }
    assert (
        "parked: order “NEVER-SEEN” is unknown"
        in parked.get(external_id="SHP-NEVER-SEEN").last_error
    )

    # past it, the unknown order's shipment is a dead letter; the held order gets an integration hold
    settings.O2C_PARK_HOURS = 0
    inbox_process(connector_id=wms.pk, stream="shipments")
    assert InboundMessage.objects.get(external_id="SHP-NEVER-SEEN").state == InboundState.DEAD
    hold = Hold.objects.get(order=held, reason__code="SHIPMENT_UNMATCHED")
    assert hold.queue == "integration_admin" and hold.context["shipment"] == f"SHP-{held.number}"
    inbox_process(connector_id=wms.pk, stream="shipments")
    assert Hold.objects.filter(order=held, reason__code="SHIPMENT_UNMATCHED").count() == 1


def test_order_timeline_tells_the_message_story(
    client, erp, wms, cs_user, django_capture_on_commit_callbacks
):
    from django.urls import reverse

    full_sync(erp, wms, django_capture_on_commit_callbacks)
    outbox_relay()
    order = Order.objects.filter(state=OrderState.RELEASED).first()
    client.force_login(cs_user)
    body = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert f"Message orders:{order.external_id} v1 (processed)" in body
    assert "Outbound order_release (sent)" in body
    assert str(order.correlation_id) in body


def test_shipments_are_recorded_and_delivered_from_the_tms(
    erp, wms, tms, sandbox, django_capture_on_commit_callbacks
):
    from billing.models import Shipment, ShipmentState

    full_sync(erp, wms, django_capture_on_commit_callbacks)
    outbox_relay()

    # a proof of delivery that arrives before its shipment is parked, not dropped
    sync(tms, ["deliveries"], django_capture_on_commit_callbacks)
    early = InboundMessage.objects.filter(stream="deliveries", state=InboundState.FAILED)
    assert early.exists() and "parked: shipment" in early.first().last_error

    # once the WMS confirms, each shipment is recorded with its lines, then delivered on the next pass
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    shipment = Shipment.objects.select_related("order").first()
    assert shipment.lines.count() == shipment.order.lines.count() and shipment.carrier == "UPS"
    inbox_process(connector_id=tms.pk, stream="deliveries")
    assert set(Shipment.objects.values_list("state", flat=True)) == {ShipmentState.DELIVERED}
    assert Shipment.objects.filter(delivered_at__isnull=True).count() == 0
    assert (
        not InboundMessage.objects.filter(stream="deliveries")
        .exclude(state=InboundState.PROCESSED)
        .exists()
    )


def test_an_out_of_order_shipment_is_processed_once_its_order_is_released(
    erp, wms, sandbox, manager_user, django_capture_on_commit_callbacks
):
    from billing.models import Shipment
    from exceptions.services import hold_release

    full_sync(erp, wms, django_capture_on_commit_callbacks)
    held = (
        Order.objects.filter(state=OrderState.ON_HOLD, holds__reason__code="STOCK_SHORT").first()
        or Order.objects.filter(state=OrderState.ON_HOLD).first()
    )
    sandbox.state.orphan_shipments = [held.number]
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)
    message = InboundMessage.objects.get(external_id=f"SHP-{held.number}")
    assert message.state == InboundState.FAILED

    # when the order's holds are released, the parked shipment applies on the next pass, once
    from exceptions.services import hold_approve
    from tests.fixtures.users import make_user

    checker = make_user("manager2", "manager")
    with django_capture_on_commit_callbacks(execute=True):
        for hold in held.holds.filter(state__in=["open", "claimed"]):
            hold = hold_release(
                hold_id=hold.pk, actor=manager_user, reason="Cleared with the customer"
            )
            if hold.state == "awaiting_second_approval":  # maker-checker above the policy amount
                hold_approve(hold_id=hold.pk, actor=checker, reason="Agreed")
    held.refresh_from_db()
    assert held.state == OrderState.RELEASED
    inbox_process(connector_id=wms.pk, stream="shipments")
    inbox_process(connector_id=wms.pk, stream="shipments")
    message.refresh_from_db()
    assert message.state == InboundState.PROCESSED
    assert Shipment.objects.filter(order=held).count() == 1
    held.refresh_from_db()
    assert held.state in (OrderState.SHIPPED, OrderState.PARTIALLY_SHIPPED)


def test_a_poison_message_ends_in_the_dead_letters_not_in_an_endless_loop(
    erp, sandbox, monkeypatch, django_capture_on_commit_callbacks
):
    from integrations.services import inbox as inbox_module
    from integrations.services import order_messages

    sandbox.state.orders = 1
    sync(erp, ["customers", "items"], django_capture_on_commit_callbacks)
    connector_sync(connector_id=erp.pk, stream="orders")

    def explode(**kwargs):
        raise RuntimeError("mapper bug")

    # the bug is in both paths: the batch falls back to one at a time, which fails it alone
    monkeypatch.setattr(order_messages, "orders_import", explode)
    monkeypatch.setattr(order_messages, "order_create", explode)
    for attempt in range(1, inbox_module.POISON_ATTEMPTS + 1):
        counts = inbox_process(connector_id=erp.pk, stream="orders")
        assert counts == ({"dead": 1} if attempt == inbox_module.POISON_ATTEMPTS else {"failed": 1})
    message = InboundMessage.objects.get(stream="orders")
    assert (
        message.state == InboundState.DEAD
        and message.last_error == "unexpected RuntimeError: mapper bug"
    )
    assert inbox_process(connector_id=erp.pk, stream="orders") == {}


def test_the_demo_finance_orders_shipped_again_by_the_sandbox_are_known_repeats(
    wms, sandbox, billing_defaults, django_capture_on_commit_callbacks
):
    """``make run``: the finance demo's orders are released to the sandbox WMS after the demo
    shipped and invoiced them; the sandbox's confirmations of them are repeats, not parked."""
    from billing.models import Invoice, Shipment
    from demo.billing import seed_billing
    from demo.holds import seed_holds
    from demo.master_data import seed_demo

    seed_demo(orders=150, customers=80, items=80)
    seed_holds()
    assert seed_billing(wms=wms.name) >= 12
    shipments = Shipment.objects.filter(source_system=wms.name)
    story = sorted(shipments.values_list("order__number", "external_id", "state"))
    invoices = sorted(
        Invoice.objects.filter(lines__shipment_line__shipment__in=shipments).values_list(
            "number", "state", "total"
        )
    )
    assert story and all(external_id == f"SHP-{number}" for number, external_id, _ in story)

    outbox_relay()  # the demo orders' releases reach the sandbox, which ships each one
    assert {f"release:{number}" for number, _, _ in story} <= set(sandbox.state.releases)
    sync(wms, ["shipments"], django_capture_on_commit_callbacks)

    repeats = InboundMessage.objects.filter(
        stream="shipments", external_id__in=[external_id for _, external_id, _ in story]
    )
    assert repeats.count() == len(story)
    assert set(repeats.values_list("state", flat=True)) == {InboundState.PROCESSED}
    assert not InboundMessage.objects.filter(stream="shipments", state=InboundState.FAILED).exists()
    assert sorted(shipments.values_list("order__number", "external_id", "state")) == story
    assert (
        sorted(
            Invoice.objects.filter(lines__shipment_line__shipment__in=shipments).values_list(
                "number", "state", "total"
            )
        )
        == invoices
    )
    assert not Hold.objects.filter(reason__code="SHIPMENT_UNMATCHED").exists()
