"""A customer-service agent logs in, filters the order list and reads an order's timeline."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from orders.services import LineInput, order_create, order_update_line
from tests.browser.nav import nav
from tests.fixtures.factories import CustomerFactory, ItemFactory, ShipToFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_agent_filters_orders_and_opens_the_timeline(page, live_server, login, cs_user, cs_user_2):
    # given two customers' orders, one of them edited with a reason
    ItemFactory(sku="SKU-WID", description="Widget")
    acme, globex = CustomerFactory(name="Acme Supply"), CustomerFactory(name="Globex Corp")
    acme_order = order_create(
        actor=cs_user,
        customer_id=acme.pk,
        channel="edi",
        ship_to_id=ShipToFactory(customer=acme).pk,
        lines=[LineInput(sku="SKU-WID", quantity=Decimal("5"))],
    )
    order_create(
        actor=cs_user,
        customer_id=globex.pk,
        channel="portal",
        lines=[LineInput(sku="SKU-WID", quantity=Decimal("2"))],
    )
    line = acme_order.lines.get()
    order_update_line(
        actor=cs_user_2,
        order_id=acme_order.pk,
        line_id=line.pk,
        quantity=Decimal("8"),
        unit_price=line.unit_price,
        reason="Buyer raised the quantity by phone",
    )

    # when the agent logs in and searches the order list for Acme
    login("cs")
    nav(page, "Orders")
    rows = page.get_by_role("table", name="Orders").locator("tbody tr")
    expect(rows).to_have_count(2)
    page.get_by_label("Search").fill("acme")
    page.get_by_label("Search").press("Enter")

    # then only Acme's order is listed (swapped in place by htmx, URL kept shareable)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Acme Supply")
    expect(page).to_have_url(
        f"{live_server.url}/orders/?q=acme&state=&channel=&segment=&territory=&held="
        "&received_from=&received_to=&customer="
    )

    # and the order's timeline tells who changed what, and why
    page.get_by_role("link", name=acme_order.number).click()
    timeline = page.get_by_role("list", name="Timeline")
    expect(timeline).to_contain_text("Buyer raised the quantity by phone")
    expect(timeline).to_contain_text("ordered qty: 5.000 → 8.000")
    expect(timeline).to_contain_text("Order entered")


def test_agent_cancels_an_order_with_a_reason(page, live_server, login, cs_user):
    ItemFactory(sku="SKU-X")
    customer = CustomerFactory(name="Initech")
    order = order_create(
        actor=cs_user,
        customer_id=customer.pk,
        channel="edi",
        lines=[LineInput(sku="SKU-X", quantity=Decimal("1"))],
    )
    login("cs")
    page.goto(f"{live_server.url}/orders/{order.pk}/")
    page.once("dialog", lambda dialog: dialog.accept())  # the destructive action asks first
    page.get_by_role("region", name="Actions").get_by_label("Reason").fill(
        "Customer sent a duplicate PO"
    )
    page.get_by_role("button", name="Cancel order").click()
    expect(page.locator("#order-body .badge").first).to_have_text("Cancelled")
    expect(page.get_by_role("list", name="Timeline")).to_contain_text(
        "Customer sent a duplicate PO"
    )
