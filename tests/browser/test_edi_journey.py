"""An integration admin in chromium: from the console to the EDI interchanges, opens the one a
partner sent, reads its 850 segment by segment, sees which set was rejected and why, and follows
the accepted set to the order it became."""

import pytest
from playwright.sync_api import expect

from core.roles import Role
from orders.models import Order
from tests.browser.nav import nav
from tests.edi.samples import interchange, po_850
from tests.edi.test_intake import _apply, _receive
from tests.edi.test_intake import partner as partner  # noqa: F401 - the fixture
from tests.fixtures.users import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_integration_admin_follows_an_interchange_to_its_order(
    page, live_server, login, partner, django_capture_on_commit_callbacks
):
    bad = po_850("PO-71")
    bad[0][5] = "20261345"  # BEG05: no such date
    text = interchange([("PO", 3, [("850", "0001", po_850("PO-70")), ("850", "0002", bad)])])
    received = _receive(text, django_capture_on_commit_callbacks).interchange
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    order = Order.objects.get(number="ACME-PO-70")
    make_user("integrator", Role.INTEGRATION_ADMIN, first_name="Ira", last_name="Admin")

    login("integrator")
    nav(page, "Integrations")
    page.get_by_role("link", name="EDI interchanges").click()
    listing = page.get_by_role("table", name="Interchanges")
    expect(listing).to_contain_text("acme")
    expect(listing).to_contain_text("Partly accepted")
    listing.get_by_role("link", name=received.control_number).click()

    expect(page.get_by_role("heading", level=1)).to_contain_text(received.control_number)
    sets = page.get_by_role("region", name="Transaction sets")
    expect(sets).to_contain_text("BEG (segment 2, element 05)")
    expect(sets.get_by_role("button", name="Replay 1 rejected set")).to_be_visible()
    first = page.get_by_role("region", name="Set 850 0001")
    expect(first).to_contain_text("Beginning segment for purchase order")
    expect(first).to_contain_text("PO number: PO-70")

    sets.get_by_role("link", name=f"order {order.number}").click()
    expect(page).to_have_url(f"{live_server.url}/orders/{order.pk}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(order.number)
