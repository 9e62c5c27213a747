"""A credit analyst meets a hold raised again after the order grew tenfold: the queue row opens
on the earlier decision beside today's numbers."""

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from exceptions.models import HoldState
from exceptions.services import hold_release
from orders.services import order_update_line
from tests.fixtures.factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_credit_analyst_sees_the_re_raised_hold_with_the_earlier_decision(
    page, live_server, login, enter, credit_user, cs_user_2
):
    # given a credit override on an order of 6,000 (kept on hold by missing master data) ...
    order = enter(
        customer=CustomerFactory(credit_limit=Decimal("5000"), tax_region=""), quantity="60"
    )
    decided = order.holds.get(reason__code="CREDIT_LIMIT")
    hold_release(hold_id=decided.pk, actor=credit_user, reason="Customer prepaid half")
    # ... which customer service then multiplies by ten
    order_update_line(
        actor=cs_user_2,
        order_id=order.pk,
        line_id=order.lines.get().pk,
        quantity=Decimal("600"),
        unit_price=Decimal("100"),
        reason="Customer called",
    )
    again = order.holds.get(reason__code="CREDIT_LIMIT", state=HoldState.OPEN)
    # when the credit analyst opens the re-raised hold in the queue
    login("credit")
    page.goto(f"{live_server.url}/queues/credit/")
    row = page.locator(f"#hold-{again.pk}")
    row.locator(".hold-link").click()
    # then the earlier decision is there, in the hold's drawer, its figures beside today's
    decision = page.locator("#drawer").get_by_label("Earlier decision")
    expect(decision).to_contain_text("released by credit")
    expect(decision.locator("tr", has_text="Exposure")).to_contain_text("6,000.00 USD")
    expect(decision.locator("tr", has_text="Exposure")).to_contain_text("60,000.00 USD")
    expect(page.locator(f"#hold-{decided.pk}")).to_have_count(0)  # the decided one is closed
