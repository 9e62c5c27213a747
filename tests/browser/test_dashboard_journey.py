"""A manager opens the dashboard, changes the range, drills into a chart bar, lands on the
filtered order list, and exports it as CSV, in chromium."""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from orders.models import Order
from tests.browser.nav import nav

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_manager_drills_from_a_chart_bar_to_orders_and_exports_csv(
    page, live_server, login, dataset, manager_user
):
    login("manager")
    nav(page, "Dashboard")
    expect(page.get_by_role("heading", name=re.compile("Where orders wait"))).to_be_visible()

    page.get_by_label("Start").fill("2026-11-01")
    page.get_by_label("End").fill("2026-11-10")
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_label("Key figures")).to_contain_text("25 %")

    # the bar of 5 November: one order, held
    bar = page.locator('svg.chart a[data-day="2026-11-05"]')
    expect(bar).to_have_attribute("aria-label", re.compile("1 orders, 0 touchless, 1 held"))
    bar.click()

    page.wait_for_url(re.compile(r"/orders/\?.*received_from=2026-11-05"))
    held = Order.objects.get(received_at__date="2026-11-05")
    rows = page.locator("#results tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(held.number)

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export CSV").click()
    download = download_info.value
    assert download.suggested_filename == "orders.csv"
    lines = Path(download.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("number,state,channel") and len(lines) == 2
    assert lines[1].startswith(held.number)
