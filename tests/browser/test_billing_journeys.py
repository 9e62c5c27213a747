"""The warehouse settles a short shipment in chromium, and finance's tier 2 approval needs two
people: the second click of the same person is refused on screen."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceState
from exceptions.models import Hold, HoldState
from orders.models import OrderState
from tests.browser.nav import nav
from tests.fixtures.users import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_warehouse_accepts_a_short_shipment_and_closes_the_line(
    page, live_server, login, released_order, ship, warehouse_user
):
    order = released_order(lines=[("A", "10"), ("B", "2")])
    ship(order, {1: "8", 2: "2"})
    hold = Hold.objects.get(reason__code="SHIPMENT_SHORT")

    login("warehouse")
    nav(page, re.compile(r"^Warehouse"))
    row = page.locator(f"#hold-{hold.pk}")
    expect(row).to_contain_text("Shipped less than released")
    row.get_by_label(f"More actions for hold {hold.pk}").click()  # an open hold: in its menu
    row.get_by_label(f"Reason for hold {hold.pk}").fill("Last two units damaged; customer agreed")
    page.once("dialog", lambda dialog: dialog.accept())  # closing the line asks first
    row.get_by_role("button", name="Accept + close line").click()

    expect(row.get_by_role("status")).to_contain_text("Done: close short.")
    expect(row).to_contain_text("Released")
    hold.refresh_from_db()
    order.refresh_from_db()
    assert hold.state == HoldState.RELEASED and hold.resolution_code == "CLOSED_SHORT"
    assert order.lines.get(line_number=1).short_closed
    assert order.state == OrderState.SHIPPED  # its only invoice waits for finance


def test_tier_two_invoice_needs_two_finance_approvers(
    page, live_server, login, released_order, ship, finance_user
):
    order = released_order(lines=[("A", "4000")])  # 50,000 + tax: tier 2
    ship(order, {1: "4000"})
    invoice = Invoice.objects.get()
    assert invoice.approval_tier == 2
    make_user("finance2", "finance", first_name="Second", last_name="Approver")

    login("finance")
    nav(page, re.compile(r"^Approvals"))
    row = page.locator(f"#invoice-{invoice.pk}")
    row.get_by_label(f"Reason for invoice {invoice.number}").fill("PO and receipt match")
    row.get_by_role("button", name="Approve (1 of 2)").click()
    expect(row.get_by_role("status")).to_contain_text("Done: approve.")
    expect(row).to_contain_text("1st: finance")

    row.get_by_label(f"Reason for invoice {invoice.number}").fill("Again")
    row.get_by_role("button", name="Approve and release").click()
    expect(row.get_by_role("alert")).to_contain_text("a different person must give the second")
    assert Invoice.objects.get(pk=invoice.pk).state == InvoiceState.PENDING_APPROVAL

    page.get_by_role("button", name="Log out").click()
    login("finance2")
    page.goto(f"{live_server.url}/billing/finance/")
    row = page.locator(f"#invoice-{invoice.pk}")
    row.get_by_label(f"Reason for invoice {invoice.number}").fill("Second look done")
    row.get_by_role("button", name="Approve and release").click()
    expect(row).to_contain_text("Released")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED
    assert (invoice.first_approver.username, invoice.second_approver.username) == (
        "finance",
        "finance2",
    )
