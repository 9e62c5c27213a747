"""The EDI console for integration admins: interchanges by partner with state and
acknowledgement, a set read segment by segment with each element's meaning, followed to the
order it became, and its rejected sets replayed; a page's queries do not grow with its rows."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from integrations.models import Interchange
from orders.models import Order
from tests.edi.samples import interchange, po_850
from tests.edi.test_intake import _apply, _receive
from tests.edi.test_intake import partner as partner  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(partner, django_capture_on_commit_callbacks):
    bad = po_850("PO-31")
    bad[0][1] = "99"  # BEG01: not a purpose code
    text = interchange([("PO", 5, [("850", "0001", po_850("PO-30")), ("850", "0002", bad)])])
    row = _receive(text, django_capture_on_commit_callbacks).interchange
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    return row


def test_the_list_shows_partner_state_and_acknowledgement(client, integration_user, received):
    client.force_login(integration_user)
    page = client.get(
        reverse("integrations:edi"), {"partner": received.partner_id}
    ).content.decode()
    assert "000000101" in page and "Partly accepted" in page and "acme" in page
    sent = Interchange.objects.filter(direction="out").first()
    assert sent.control_number in page  # the 997 (and 855) o2c sent back
    only_in = client.get(reverse("integrations:edi"), {"direction": "in"}).content.decode()
    assert sent.control_number not in only_in
    found = client.get(reverse("integrations:edi"), {"q": "PO-30"}).content.decode()
    assert "000000101" in found
    none = client.get(reverse("integrations:edi"), {"q": "PO-NOPE"}).content.decode()
    assert "No interchanges match" in none


def test_a_set_reads_segment_by_segment_and_leads_to_its_order(client, integration_user, received):
    client.force_login(integration_user)
    page = client.get(reverse("integrations:edi_interchange", args=[received.pk])).content.decode()
    assert "Beginning segment for purchase order" in page
    assert "<code>BEG03</code> PO number: <strong>PO-30</strong>" in page
    assert "<code>PO102</code> Quantity: <strong>2</strong>" in page
    order = Order.objects.get(number="ACME-PO-30")
    assert reverse("orders:detail", args=[order.pk]) in page
    assert "BEG (segment 2, element 01)" in page  # the rejected set says where
    assert "Replay 1 rejected set" in page


def test_the_list_queries_do_not_grow_with_its_rows(
    client, integration_user, partner, django_capture_on_commit_callbacks
):
    client.force_login(integration_user)

    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("integrations:edi")).status_code == 200
        return len(captured)

    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-40"))])], control="000000201"),
        django_capture_on_commit_callbacks,
    )
    few = queries()
    for n in range(2, 7):
        _receive(
            interchange([("PO", n, [("850", "0001", po_850(f"PO-4{n}"))])], control=f"00000020{n}"),
            django_capture_on_commit_callbacks,
        )
    assert Interchange.objects.count() >= 12
    assert queries() == few
