"""The home page in chromium: a credit analyst sees her overdue holds, clicks the figure and lands
on her queue filtered to them; a manager sees the queues past SLA across teams."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from tests.o2c.test_home import _case, _hold, invoice

__all__ = ["invoice"]  # the fixture the manager's journey uses

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
H = timedelta(hours=1)


def test_credit_analyst_follows_her_overdue_count_to_the_filtered_queue(
    page, live_server, login, hold_policy, credit_user
):
    # given two overdue credit holds, one still in time, and an overdue pricing hold
    late = [_hold(due=-2 * H), _hold(due=-H)]
    on_time = _hold(due=20 * H)
    other_team = _hold("PRICE_BELOW_CONTRACT", due=-H)
    # when the credit analyst signs in, her home shows her queue's overdue count
    login("credit")
    overdue = page.get_by_label("2 overdue in holds · Credit")
    expect(overdue).to_have_text("2")
    expect(page.get_by_text("Holds · Pricing")).to_have_count(0)
    # and the figure takes her to the credit queue, filtered to overdue holds
    overdue.click()
    page.wait_for_url("**/queues/credit/?overdue=on")
    expect(page.get_by_label("Overdue")).to_be_checked()
    rows = page.get_by_role("table", name="Holds")
    for hold in late:
        expect(rows).to_contain_text(hold.order.number)
    expect(rows).not_to_contain_text(on_time.order.number)
    expect(rows).not_to_contain_text(other_team.order.number)


def test_manager_sees_sla_breaches_across_queues(
    page, live_server, login, hold_policy, invoice, manager_user
):
    # given a credit hold 1 h late, a pricing hold 5 h late and a pricing case 3 h late
    credit_late = _hold(due=-H)
    pricing_late = _hold("PRICE_BELOW_CONTRACT", due=-5 * H)
    case_late = _case(invoice, due=-3 * H)
    login("manager")
    breaches = page.get_by_role("table", name="Queues past SLA")
    expect(breaches.locator("tbody tr")).to_have_count(3)
    # the longest overdue queue first
    expect(breaches.locator("tbody tr").first).to_contain_text("Holds · Pricing")
    items = page.locator("ol.breaches li")
    expect(items.first).to_contain_text(pricing_late.order.number)
    expect(items.nth(1)).to_contain_text(f"Case {case_late.pk}")
    expect(items.nth(2)).to_contain_text(credit_late.order.number)
    # and the figure opens the case queue filtered to overdue pricing cases
    breaches.locator("tbody tr").nth(1).get_by_role("link").click()
    page.wait_for_url("**/cases/?queue=pricing&overdue=on")
    expect(page.get_by_role("table", name="Open cases")).to_contain_text(f"{case_late.pk}")
