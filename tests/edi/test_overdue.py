"""What is owed and late becomes an integration hold on the order, once: a partner's 997 for an
855 o2c sent, and an 855 the partner requires for an order still undecided."""

from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.models import ACTIVE_STATES, Hold
from integrations.edi.overdue import edi_overdue
from integrations.models import Interchange
from integrations.services import outbox_relay
from orders.models import Order
from tests.edi.samples import interchange, po_850
from tests.edi.test_intake import _apply, _receive
from tests.edi.test_intake import partner as partner  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def _holds(order, code):
    return Hold.objects.filter(order=order, reason__code=code)


def test_a_997_not_received_in_time_holds_the_order_once(
    partner, django_capture_on_commit_callbacks
):
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-60"))])]),
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    order = Order.objects.get(number="ACME-PO-60")
    outbox_relay()  # delivered to the partner's folder: only its 997 is owed
    sent = Interchange.objects.get(direction="out", documents__code="855")
    assert sent.state == "sent"
    assert sent.ack_state == "awaiting"
    assert edi_overdue(now=sent.ack_due_at - timedelta(minutes=1))["holds"] == 0
    later = sent.ack_due_at + timedelta(minutes=1)
    assert edi_overdue(now=later) == {"acks": 1, "documents": 0, "holds": 1}
    hold = _holds(order, "EDI_ACK_OVERDUE").get()
    assert hold.state in ACTIVE_STATES and hold.reason.queue == "integration_admin"
    assert hold.context["sets"] == ["855"] and hold.context["interchange"] == sent.control_number
    sent.refresh_from_db()
    assert sent.ack_state == "overdue"
    assert edi_overdue(now=later + timedelta(hours=1))["holds"] == 0  # once


def test_an_interchange_never_delivered_holds_its_order(
    partner, django_capture_on_commit_callbacks
):
    partner.outbound_folder = ""  # nowhere to deliver: the relay dead-letters it
    partner.save()
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-63"))])]),
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    outbox_relay()
    order = Order.objects.get(number="ACME-PO-63")
    stuck = Interchange.objects.get(direction="out", documents__code="855")
    assert stuck.state == "queued" and stuck.outbound.state == "dead"
    edi_overdue(now=stuck.at + timedelta(hours=partner.document_hours + 1))
    hold = _holds(order, "EDI_DOCUMENT_OVERDUE").get()
    assert hold.context == {
        "partner": "acme",
        "document": "855",
        "hours": 24,
        "why": "not delivered",
    }


def test_a_997_received_in_time_clears_the_wait(partner, django_capture_on_commit_callbacks):
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-61"))])]),
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    sent = Interchange.objects.get(direction="out", documents__code="855")
    group = sent.documents.get().group_control
    ack = [["AK1", "PR", group], ["AK2", "855", sent.documents.get().control_number], ["AK5", "A"],
           ["AK9", "A", "1", "1", "1"]]  # fmt: skip
    _receive(
        interchange([("FA", 9, [("997", "0009", ack)])], control="000000777"),
        django_capture_on_commit_callbacks,
    )
    sent.refresh_from_db()
    assert sent.ack_state == "accepted" and sent.documents.get().ack_state == "accepted"
    assert edi_overdue(now=timezone.now() + timedelta(days=3))["acks"] == 0


def test_an_undecided_order_without_its_855_is_held_after_the_partners_hours(
    partner, django_capture_on_commit_callbacks
):
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-62", ship_to=("92", "GONE")))])]),
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    order = Order.objects.get(number="ACME-PO-62")
    assert not Interchange.objects.filter(direction="out", documents__code="855").exists()
    soon = order.received_at + timedelta(hours=partner.document_hours - 1)
    assert edi_overdue(now=soon)["holds"] == 0
    late = order.received_at + timedelta(hours=partner.document_hours + 1)
    assert edi_overdue(now=late)["holds"] == 1
    assert _holds(order, "EDI_DOCUMENT_OVERDUE").get().context["document"] == "855"


def test_a_997_without_set_loops_takes_its_groups_verdict(
    partner, django_capture_on_commit_callbacks
):
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-64"))])]),
        django_capture_on_commit_callbacks,
    )
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    sent = Interchange.objects.get(direction="out", documents__code="855")
    ack = [["AK1", "PR", sent.documents.get().group_control], ["AK9", "A", "1", "1", "1"]]
    _receive(
        interchange([("FA", 9, [("997", "0009", ack)])], control="000000778"),
        django_capture_on_commit_callbacks,
    )
    sent.refresh_from_db()
    assert sent.ack_state == "accepted" and sent.documents.get().ack_state == "accepted"
