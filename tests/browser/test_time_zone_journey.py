"""An agent in New York signs in, finds that times are in UTC, chooses their zone, and reads an
order's received time as New York's, on the list and after signing in again."""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.fixtures.factories import OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

#: 15:30 UTC on a winter day: 10:30 in New York (EST).
KNOWN = datetime(2026, 1, 15, 15, 30, tzinfo=ZoneInfo("UTC"))


def test_agent_chooses_their_zone_and_reads_times_in_it(page, live_server, login, cs_user):
    # given an order received at a known UTC time, and an agent who has chosen no zone
    order = OrderFactory(received_at=KNOWN)
    login("cs")
    page.goto(f"{live_server.url}/orders/")
    row = page.get_by_role("row", name=re.compile(order.number))
    expect(row).to_contain_text("2026-01-15 15:30")
    # when they follow "Times in UTC" and choose New York
    page.get_by_role("link", name="Times in UTC").click()
    page.get_by_label("Time zone").select_option("America/New_York")
    page.get_by_role("button", name="Save").click()
    # then they are told, and the header and the order list read New York's time
    expect(page.locator("#messages")).to_contain_text("Times are now shown in America/New_York.")
    expect(page.locator("#time-zone")).to_have_text(
        re.compile(r"Times in America/New_York \(E[SD]T\)")
    )
    page.goto(f"{live_server.url}/orders/")
    expect(page.get_by_role("row", name=re.compile(order.number))).to_contain_text(
        "2026-01-15 10:30"
    )
    # and after signing out and in again, the choice holds
    page.get_by_role("button", name="Log out").click()
    login("cs")
    page.goto(f"{live_server.url}/orders/")
    expect(page.get_by_role("row", name=re.compile(order.number))).to_contain_text(
        "2026-01-15 10:30"
    )
