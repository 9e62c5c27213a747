"""The detail drawer on the case, finance and payment queues in chromium: a row opened from the
keyboard shows the item beside the list at the item's URL; an action in the drawer changes the
row in the list; Back or Escape closes the drawer and focus is back on the row."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceState
from cases.models import Case
from receivables.models import PaymentState
from tests.cases.test_case_pages import _cases
from tests.cases.test_deductions import invoice, reasons
from tests.receivables.test_queue_views import cash_user, invoices, suggested

__all__ = ["cash_user", "invoice", "invoices", "reasons", "suggested"]  # shared fixtures

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _open_from_the_keyboard(page, drawer, key: str) -> str:
    """j to the first row, then ``key`` (o or Enter) opens it: the row's id."""
    expect(drawer).to_be_hidden()
    page.keyboard.press("j")
    row_id = page.evaluate("document.activeElement.id")
    page.keyboard.press(key)
    expect(drawer).to_be_visible()
    return row_id


def test_a_case_is_claimed_opened_and_noted_from_the_keyboard(
    page, live_server, login, invoice, pricing_user
):
    _cases(2, invoice)  # two disputes in pricing's queue
    first = Case.objects.order_by("due_at").first()
    login("pricing")
    queue_url = f"{live_server.url}/cases/"
    page.goto(queue_url)
    drawer = page.get_by_role("complementary", name="Case details")
    row = page.locator(f"#case-{first.pk}")

    # j, then c claims in the row and focus stays on it
    page.keyboard.press("j")
    expect(row).to_be_focused()
    page.keyboard.press("c")
    expect(row.get_by_role("status")).to_contain_text("Done: claim.")
    expect(row).to_be_focused()
    # Enter opens the case in the drawer, at the case's URL
    page.keyboard.press("Enter")
    expect(drawer.get_by_role("heading", name=f"Dispute {first.pk}")).to_be_focused()
    expect(page).to_have_url(f"{live_server.url}/cases/{first.pk}/")
    expect(drawer).to_contain_text("claimed by pricing")

    # a note from the drawer: the letters typed are text, and the row says it is done
    note = drawer.get_by_label("Add a note")
    note.click()
    page.keyboard.type("jk: price list checked")
    expect(note).to_have_value("jk: price list checked")
    drawer.get_by_role("button", name="Add note").click()
    expect(row.get_by_role("status")).to_contain_text("Done: note added.")
    expect(drawer.locator("ul.notes")).to_contain_text("jk: price list checked")  # reloaded

    # Back closes the drawer: the queue's URL, focus on the row
    page.go_back()
    expect(drawer).to_be_hidden()
    expect(page).to_have_url(queue_url)
    expect(row).to_be_focused()
    # / goes to the filters, ? shows the keys
    page.keyboard.press("/")
    expect(page.get_by_role("combobox", name="Queue:")).to_be_focused()
    page.keyboard.press("Escape")
    page.locator("body").click(position={"x": 5, "y": 300})
    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_contain_text("claim")
    assert first.notes.get().text == "jk: price list checked"


def test_an_invoice_is_approved_in_the_drawer(
    page, live_server, login, released_order, ship, finance_user
):
    order = released_order(lines=[("B", "4")])  # the customer's first invoice waits
    ship(order, {1: "4"})
    pending = Invoice.objects.get(lines__order_line__order=order)
    login("finance")
    queue_url = f"{live_server.url}/billing/finance/"
    page.goto(queue_url)
    drawer = page.get_by_role("complementary", name="Invoice details")

    row_id = _open_from_the_keyboard(page, drawer, "o")
    assert row_id == f"invoice-{pending.pk}"
    expect(page).to_have_url(f"{live_server.url}/billing/invoices/{pending.pk}/")
    expect(drawer.get_by_role("table", name="Invoice lines")).to_contain_text("4")

    # the approval in the drawer changes the row in the list
    drawer.get_by_label(f"Reason for invoice {pending.number}").fill("New account, PO verified")
    drawer.get_by_role("button", name="Approve and release").click()
    row = page.locator(f"#{row_id}")
    expect(row.get_by_role("status")).to_contain_text("Done: approve.")
    expect(drawer.get_by_role("heading", name=re.compile(pending.number))).not_to_contain_text(
        "Pending approval"
    )  # the drawer followed

    # Escape closes it, and the URL and focus go back to the queue's row
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    expect(page).to_have_url(queue_url)
    expect(row).to_be_focused()
    pending.refresh_from_db()
    assert pending.state != InvoiceState.PENDING_APPROVAL


def test_a_payment_suggestion_is_accepted_in_the_drawer(
    page, live_server, login, suggested, cash_user
):
    login("cash")
    queue_url = f"{live_server.url}/cash/"
    page.goto(queue_url)
    drawer = page.get_by_role("complementary", name="Payment details")

    row_id = _open_from_the_keyboard(page, drawer, "Enter")
    assert row_id == f"payment-{suggested.pk}"
    expect(page).to_have_url(f"{live_server.url}/cash/payments/{suggested.pk}/")
    expect(drawer.get_by_role("region", name="Matching")).to_contain_text("Accept suggestion 1")

    drawer.get_by_role("button", name="Accept suggestion 1").click()
    row = page.locator(f"#{row_id}")
    expect(row.get_by_role("status")).to_contain_text("Done: accepted.")
    expect(drawer.get_by_role("region", name="Applications")).to_contain_text(
        suggested.candidates[0]["allocations"][0]["invoice"]
    )  # the drawer followed

    page.go_back()
    expect(drawer).to_be_hidden()
    expect(page).to_have_url(queue_url)
    expect(row).to_be_focused()
    suggested.refresh_from_db()
    assert suggested.state == PaymentState.APPLIED
