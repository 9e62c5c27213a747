"""Waiting is not failing: a message parked for its order or shipment counts its checks and its
waiting time apart from its attempts, so only real failures reach the poison limit, and only
O2C_PARK_HOURS of waiting ends it in a hold or a dead letter."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from exceptions.models import Hold
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import inbox_process, inbox_store
from integrations.services.inbox import POISON_ATTEMPTS
from orders.models import OrderState
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db

#: More checks than the poison limit and than the old attempt counts of one run (12).
CHECKS = 3 * POISON_ATTEMPTS


@pytest.fixture
def wms(db):
    return Connector.objects.create(name="wms", kind="wms", base_url="http://127.0.0.1:9/")


@pytest.fixture
def tms(db):
    return Connector.objects.create(name="tms", kind="tms", base_url="http://127.0.0.1:9/")


def shipment(wms, order_number: str) -> InboundMessage:
    inbox_store(
        connector=wms,
        stream="shipments",
        records=[
            {
                "id": f"SHP-{order_number}",
                "order": order_number,
                "shipped_at": "2026-01-02T10:00:00Z",
                "lines": [{"line": 1, "quantity": "1"}],
            }
        ],
    )
    return InboundMessage.objects.get(external_id=f"SHP-{order_number}")


def check(connector, stream: str, times: int) -> None:
    for _ in range(times):
        inbox_process(connector_id=connector.pk, stream=stream)


def waited_hours(message: InboundMessage, hours: float) -> None:
    """As if the message had started waiting ``hours`` ago."""
    InboundMessage.objects.filter(pk=message.pk).update(
        parked_since=timezone.now() - timedelta(hours=hours)
    )


def test_checks_of_a_waiting_message_are_not_attempts(wms):
    # given a ship confirmation for an order o2c has not heard of yet
    message = shipment(wms, "SO-LATER")

    # when it is checked again and again within the parking time
    check(wms, "shipments", CHECKS)

    # then it waits: every check counted, none of them an attempt, and its history says so once
    message.refresh_from_db()
    assert message.state == InboundState.FAILED and message.waiting
    assert message.attempts == 0 and message.park_checks == CHECKS
    assert message.parked_since is not None
    assert "parked: order “SO-LATER” is unknown" in message.last_error
    waits = message.history.filter(history_change_reason__startswith="Waiting:")
    assert waits.count() == 1


def test_a_real_failure_of_a_long_waiting_message_is_not_poison(wms):
    # given a message that has waited through many checks
    message = shipment(wms, "SO-LATER")
    check(wms, "shipments", CHECKS)

    # when its next check fails unexpectedly
    with mock.patch.dict(
        "integrations.services.inbox.PER_MESSAGE",
        {"shipments": mock.Mock(side_effect=RuntimeError("database hiccup"))},
    ):
        check(wms, "shipments", 1)

    # then that is its first real failure, retried, not a dead letter as poison
    message.refresh_from_db()
    assert message.state == InboundState.FAILED and not message.waiting
    assert message.attempts == 1 and "database hiccup" in message.last_error

    # and waiting again afterwards keeps its clock and counts on
    check(wms, "shipments", 2)
    message.refresh_from_db()
    assert message.waiting and message.attempts == 1 and message.park_checks == CHECKS + 2


def test_after_the_park_hours_an_unknown_orders_shipment_is_a_dead_letter(wms, settings):
    # given a confirmation that arrived long ago but started waiting only now
    settings.O2C_PARK_HOURS = 4
    message = shipment(wms, "NEVER-SEEN")
    InboundMessage.objects.filter(pk=message.pk).update(
        received_at=timezone.now() - timedelta(hours=10)
    )
    check(wms, "shipments", 2)
    message.refresh_from_db()
    assert message.waiting  # the limit is counted by waiting time, not since arrival

    # when it has waited longer than O2C_PARK_HOURS
    waited_hours(message, 4.5)
    check(wms, "shipments", 1)

    # then it is a dead letter naming the order, after one attempt, with its checks kept
    message.refresh_from_db()
    assert message.state == InboundState.DEAD
    assert message.last_error == "order: order “NEVER-SEEN” is unknown after 4 h"
    assert message.attempts == 1 and message.park_checks == 2


def test_after_the_park_hours_a_held_orders_shipment_raises_one_integration_hold(
    wms, enter, settings
):
    # given a confirmation for an order on a credit hold, waiting
    settings.O2C_PARK_HOURS = 4
    order = enter(customer=CustomerFactory(credit_limit=Decimal("10")), quantity="100")
    assert order.state == OrderState.ON_HOLD
    message = shipment(wms, order.number)
    check(wms, "shipments", 3)
    assert not Hold.objects.filter(order=order, reason__code="SHIPMENT_UNMATCHED").exists()

    # when it has waited longer than O2C_PARK_HOURS, and is checked again
    waited_hours(message, 5)
    check(wms, "shipments", 3)

    # then one integration hold says since when it waits, and the message still waits
    hold = Hold.objects.get(order=order, reason__code="SHIPMENT_UNMATCHED")
    message.refresh_from_db()
    assert hold.context["waiting_since"] == message.parked_since.isoformat()
    assert message.waiting and message.attempts == 0 and message.park_checks == 6


def test_a_delivery_waits_for_its_shipment_then_is_a_dead_letter(tms, settings):
    settings.O2C_PARK_HOURS = 4
    inbox_store(
        connector=tms,
        stream="deliveries",
        records=[{"id": "POD-1", "shipment": "SHP-X", "delivered_at": "2026-01-03T10:00:00Z"}],
    )
    check(tms, "deliveries", CHECKS)
    message = InboundMessage.objects.get(external_id="POD-1")
    assert message.waiting and message.attempts == 0 and message.park_checks == CHECKS

    waited_hours(message, 4.5)
    check(tms, "deliveries", 1)
    message.refresh_from_db()
    assert message.state == InboundState.DEAD and message.attempts == 1
    assert "shipment “SHP-X” is unknown after 4 h" in message.last_error


def test_replay_gives_a_message_its_full_waiting_time_again(tms, settings, integration_user):
    from integrations.services import inbox_replay

    settings.O2C_PARK_HOURS = 4
    inbox_store(
        connector=tms,
        stream="deliveries",
        records=[{"id": "POD-1", "shipment": "SHP-X", "delivered_at": "2026-01-03T10:00:00Z"}],
    )
    check(tms, "deliveries", 1)
    message = InboundMessage.objects.get(external_id="POD-1")
    waited_hours(message, 5)
    check(tms, "deliveries", 1)

    inbox_replay(
        message_ids=[message.pk], actor=integration_user, reason="TMS fixed", process=False
    )
    check(tms, "deliveries", 1)
    message.refresh_from_db()
    assert message.waiting and message.park_checks == 1 and message.attempts == 0


def test_the_console_shows_waiting_time_and_checks(client, integration_user, wms):
    # given a message that has waited through a few checks
    message = shipment(wms, "SO-LATER")
    check(wms, "shipments", 7)
    waited_hours(message, 2)
    client.force_login(integration_user)

    # the inbox list, filtered to the waiting ones, shows both apart from the attempts
    page = client.get(reverse("integrations:inbox"), {"state": "waiting"}).content.decode()
    assert "SHP-SO-LATER" in page and "for 2\xa0hours</span>, 7 checks" in page

    # and so does the message's page, with its payload and history
    page = client.get(reverse("integrations:inbox_message", args=[message.pk])).content.decode()
    assert "for 2\xa0hours</span>, 7 checks" in page and "<dd>0 <small>" in page
    assert "after 4 h it is held or dead-lettered" in page
    assert "Waiting: parked: order “SO-LATER” is unknown" in page
    assert "&quot;order&quot;: &quot;SO-LATER&quot;" in page


def test_the_waiting_filter_leaves_out_other_messages(client, integration_user, wms):
    shipment(wms, "SO-LATER")
    check(wms, "shipments", 1)
    inbox_store(connector=wms, stream="shipments", records=[{"id": "BROKEN", "lines": []}])
    check(wms, "shipments", 1)
    client.force_login(integration_user)
    page = client.get(reverse("integrations:inbox"), {"state": "waiting"}).content.decode()
    assert "SHP-SO-LATER" in page and "BROKEN" not in page
