"""A failed htmx action is never silent: a server error or a lost connection shows a message in the
row the analyst worked (and in the live region), and the next request that succeeds clears it."""

import re

import pytest
from playwright.sync_api import expect

from exceptions.models import HoldState

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_server_error_and_a_lost_connection_show_where_the_analyst_acted(
    page, live_server, login, enter, credit_user
):
    # given: two credit holds on the queue page
    first, second = enter(quantity="60").holds.get(), enter(quantity="70").holds.get()
    login("credit")
    page.goto(f"{live_server.url}/queues/credit/")
    row, other = page.locator(f"#hold-{first.pk}"), page.locator(f"#hold-{second.pk}")
    claim_url = re.compile(rf"/queues/holds/{first.pk}/claim/$")

    # when: the server fails the claim
    page.route(claim_url, lambda route: route.fulfill(status=500, body="Server Error"))
    row.get_by_role("button", name="Claim").click()
    # then: the row says so, and so does the live region
    note = row.locator(".request-failure")
    expect(note).to_have_text(re.compile(r"the server failed \(error 500\)"))
    expect(note).to_have_attribute("role", "alert")
    expect(page.locator("#request-status")).to_contain_text("the server failed (error 500)")

    # when: the connection drops on the next try
    page.unroute(claim_url)
    page.route(claim_url, lambda route: route.abort("internetdisconnected"))
    row.get_by_role("button", name="Claim").click()
    # then: one message, saying the server could not be reached
    expect(note).to_have_count(1)
    expect(note).to_contain_text("o2c could not be reached")

    # when: the analyst's next action succeeds (on another row)
    page.unroute(claim_url)
    other.get_by_role("button", name="Claim").click()
    # then: the message is gone, and the failed claims changed nothing
    expect(other).to_contain_text("Claimed")
    expect(page.locator(".request-failure")).to_have_count(0)
    expect(page.locator("#request-status")).to_have_text("")
    first.refresh_from_db()
    assert first.state == HoldState.OPEN
