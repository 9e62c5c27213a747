"""A collector in chromium: opens the collections worklist, finds the customer with the most
pressing past-due money first, opens their account and logs a promise to pay; the promise is on
the account and the worklist shows it."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from core.roles import Role
from dunning.models import PromiseState, PromiseToPay
from dunning.services import dunning_run
from tests.browser.nav import nav
from tests.fixtures.billing import past_due_invoice
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_collector_logs_a_promise_to_pay(page, live_server, login, dunning_defaults):
    # given two customers late with their money: one a little, one a lot and for long
    slight = CustomerFactory(name="Beacon Hardware")
    pressing = CustomerFactory(name="Granite Foods")
    past_due_invoice(slight, "90.00", days_past_due=5)
    past_due_invoice(pressing, "1800.00", days_past_due=40)
    dunning_run()  # the night's run: accounts, standings, the ladder's tasks
    make_user("collector", Role.COLLECTIONS, first_name="Cole", last_name="Collector")

    # when the collector opens the worklist, the pressing customer comes first
    login("collector")
    nav(page, "Collections")
    expect(page.get_by_role("heading", name="Collections")).to_be_visible()
    rows = page.get_by_role("table", name="Customers with money past due").locator("tbody")
    expect(rows.first).to_contain_text("Granite Foods")
    expect(rows.first).to_contain_text("1,800.00 USD")
    expect(rows.first).to_contain_text("Watch")  # 40 days: beyond the 30 of the policy
    expect(rows.nth(1)).to_contain_text("Beacon Hardware")

    # and on the account, the 30-day step left a call to make
    rows.first.get_by_role("link", name="Granite Foods").click()
    expect(page.get_by_role("heading", name="Granite Foods")).to_be_visible()
    expect(page.get_by_text("Call Granite Foods about 1,800.00 USD past due")).to_be_visible()

    # the collector calls and logs the customer's promise
    by = timezone.localdate() + timedelta(days=7)
    page.get_by_label("Amount").fill("1800.00")
    page.get_by_label("By").fill(by.isoformat())
    page.get_by_label("Note").fill("AP run next Friday")
    page.get_by_role("button", name="Log promise").click()
    expect(page.locator(".msg-success")).to_contain_text("Promise logged: 1,800.00 USD by")
    expect(page.get_by_text("AP run next Friday").first).to_be_visible()
    promise = PromiseToPay.objects.get(customer=pressing)
    assert promise.state == PromiseState.OPEN and promise.promised_for == by

    # and the worklist shows the promise on the customer's row
    page.get_by_role("link", name="← Collections").click()
    expect(rows.first).to_contain_text(f"1,800.00 USD by {by.isoformat()}")
