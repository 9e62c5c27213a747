"""Analysts working their queues in chromium: claim and release, correct a price, approve a partial
shipment, bulk release, and a queue of another team refused."""

import re

import pytest
from playwright.sync_api import expect

from exceptions.models import Hold, HoldState
from orders.models import OrderState
from tests.browser.nav import nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _row(page, hold):
    return page.locator(f"#hold-{hold.pk}")


def _count(page, queue):
    return page.locator(f'#queue-counts a[data-queue="{queue}"] .count')


def test_credit_analyst_claims_and_releases_and_the_count_drops(
    page, live_server, login, enter, credit_user
):
    first, second = enter(quantity="60").holds.get(), enter(quantity="70").holds.get()
    login("credit")
    nav(page, re.compile(r"^Credit"))
    expect(_count(page, "credit")).to_have_text("2")
    expect(page.get_by_label("Queue summary")).to_contain_text("2 open")

    row = _row(page, first)
    row.get_by_role("button", name="Claim").click()
    expect(row).to_contain_text("Claimed")
    row.get_by_label(f"Reason for hold {first.pk}").fill("Customer paid the overdue invoice today")
    row.get_by_role("button", name="Release", exact=True).click()

    expect(row.get_by_role("status")).to_contain_text("Done: release.")
    expect(_count(page, "credit")).to_have_text("1")
    expect(page.get_by_label("Queue summary")).to_contain_text("1 open")  # the header follows
    first.refresh_from_db()
    assert first.state == HoldState.RELEASED and first.order.state == OrderState.RELEASED
    assert first.resolution_note == "Customer paid the overdue invoice today"
    assert Hold.objects.get(pk=second.pk).state == HoldState.OPEN


def test_pricing_analyst_corrects_a_price(page, live_server, login, enter, pricing_user):
    hold = enter(price="80").holds.get(reason__code="PRICE_BELOW_CONTRACT")
    login("pricing")
    page.goto(f"{live_server.url}/queues/pricing/")
    row = _row(page, hold)
    # the hold's link opens its drawer, at the hold's own URL, with the numbers and the actions
    row.get_by_role("link", name="Price below contract").click()
    drawer = page.get_by_role("complementary", name="Hold details")
    expect(drawer.get_by_label("Numbers behind the hold")).to_contain_text("80")
    expect(page).to_have_url(re.compile(rf"/queues/holds/{hold.pk}/$"))
    drawer.get_by_label(f"More actions for hold {hold.pk}").click()
    drawer.get_by_label(f"Reason for hold {hold.pk}").fill("Contract price applies")
    drawer.get_by_role("button", name="Correct to contract").click()
    expect(row).to_contain_text("Released")  # the row in the list follows the drawer's action
    expect(drawer).to_contain_text("Released")
    hold.refresh_from_db()
    assert hold.resolution_code == "CLEARED"
    assert str(hold.order.lines.get().unit_price) == "100.0000"


def test_warehouse_user_approves_a_partial_shipment(
    page, live_server, login, enter, warehouse_user
):
    hold = enter(quantity="1050").holds.get(reason__code="STOCK_SHORT")  # 50 short, 5,000 at risk
    login("warehouse")
    page.goto(f"{live_server.url}/queues/warehouse/")
    row = _row(page, hold)
    row.get_by_label(f"More actions for hold {hold.pk}").click()  # the row's menu
    row.get_by_label(f"Reason for hold {hold.pk}").fill("Ship 1000 now, 50 on backorder")
    row.get_by_role("button", name="Approve partial + backorder").click()
    expect(row).to_contain_text("Released")
    hold.refresh_from_db()
    assert hold.resolution_code == "PARTIAL_BACKORDER"


def test_bulk_release_runs(page, live_server, login, enter, credit_user):
    holds = [enter(quantity=str(q)).holds.get() for q in (55, 60, 65)]
    login("credit")
    page.goto(f"{live_server.url}/queues/credit/")
    for hold in holds[:2]:
        page.get_by_label(f"Select hold {hold.pk}").check()
    page.get_by_label("Reason for bulk release").fill("Month-end credit review")
    page.get_by_role("button", name="Release selected").click()
    # first a preview, which changes nothing: the rows that will act and their value
    preview = page.get_by_role("region", name="Bulk release preview")
    expect(preview).to_contain_text("2 will act, 0 will be refused")
    expect(preview.get_by_role("table", name="Will act")).to_contain_text(str(holds[1].pk))
    assert Hold.objects.filter(state=HoldState.OPEN).count() == 3
    preview.get_by_role("button", name="Confirm: release 2").click()
    expect(page.locator("#bulk-result")).to_contain_text("2 holds processed")
    expect(_count(page, "credit")).to_have_text("1")
    states = {h.pk: Hold.objects.get(pk=h.pk).state for h in holds}
    assert [states[h.pk] for h in holds] == [HoldState.RELEASED, HoldState.RELEASED, HoldState.OPEN]


def test_a_forbidden_queue_is_refused(page, live_server, login, enter, pricing_user):
    enter(quantity="60")
    login("pricing")
    expect(page.locator("#queue-counts")).not_to_contain_text("Credit")
    response = page.goto(f"{live_server.url}/queues/credit/")
    assert response.status == 403
