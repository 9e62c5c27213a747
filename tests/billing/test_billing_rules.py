"""Billing rules per customer: hold for proof of delivery (the overdue hold, then delivery or
finance's waiver) and consolidation per daily / weekly window."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from billing.models import Invoice
from billing.services import (
    consolidation_window,
    invoices_consolidate,
    shipment_deliver,
    shipments_hold_pod_overdue,
)
from core.roles import get_system_user
from exceptions.models import Hold, HoldState
from exceptions.services import hold_release
from orders.models import OrderState
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db
UTC = ZoneInfo("UTC")


def deliver(shipment, capture, *, at=None):
    with capture(execute=True):
        shipment_deliver(
            actor=get_system_user(),
            source=shipment.source_system,
            external_id=shipment.external_id,
            delivered_at=at or timezone.now(),
            signed_by="R. Receiver",
        )


def test_hold_for_pod_waits_for_delivery_then_invoices(
    released_order, ship, django_capture_on_commit_callbacks
):
    order = released_order(lines=[("B", "2")], billing_rule="hold_for_pod")
    shipment = ship(order, {1: "2"})
    assert not Invoice.objects.exists()  # shipped, but no proof of delivery yet

    deliver(shipment, django_capture_on_commit_callbacks)

    invoice = Invoice.objects.get()
    assert invoice.billing_rule == "hold_for_pod"
    assert invoice.lines.get().shipment_line.shipment == shipment


def test_overdue_pod_raises_a_billing_hold_which_delivery_clears(
    released_order, ship, django_capture_on_commit_callbacks, billing_defaults
):
    order = released_order(lines=[("B", "2")], billing_rule="hold_for_pod")
    shipment = ship(order, {1: "2"}, shipped_at=timezone.now() - timedelta(days=6))

    # 5 days is the policy: 4 days after shipping nothing is raised, 6 days after it is
    assert shipments_hold_pod_overdue(now=shipment.shipped_at + timedelta(days=4)) == 0
    assert shipments_hold_pod_overdue() == 1
    assert shipments_hold_pod_overdue() == 1  # idempotent: still one hold
    hold = Hold.objects.get(order=order, reason__code="POD_OVERDUE")
    assert (hold.queue, hold.blocks, hold.state) == ("finance", "invoice", HoldState.OPEN)
    assert hold.context["shipments"] == [shipment.external_id] and hold.context["days_late"] == 6

    deliver(shipment, django_capture_on_commit_callbacks)

    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED and hold.resolution_code == "CLEARED"
    assert Invoice.objects.filter(lines__order_line__order=order).count() == 1


def test_finance_can_release_the_pod_hold_to_invoice_without_pod(
    released_order, ship, finance_user, django_capture_on_commit_callbacks
):
    order = released_order(lines=[("B", "2")], billing_rule="hold_for_pod")
    shipment = ship(order, {1: "2"}, shipped_at=timezone.now() - timedelta(days=9))
    shipments_hold_pod_overdue()
    hold = Hold.objects.get(order=order, reason__code="POD_OVERDUE")

    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold_id=hold.pk, actor=finance_user, reason="Customer confirmed by phone")

    shipment.refresh_from_db()
    assert shipment.pod_waived_by == finance_user and shipment.state == "confirmed"
    assert Invoice.objects.get().lines.get().shipment_line.shipment == shipment


def test_consolidated_daily_builds_one_invoice_per_customer_per_window(released_order, ship):
    customer = CustomerFactory(credit_limit=Decimal("1e6"), billing_rule="consolidated_daily")
    now = timezone.now()
    first = released_order(lines=[("A", "2")], customer=customer)
    second = released_order(lines=[("B", "3")], customer=customer)
    today = released_order(lines=[("C", "4")], customer=customer)
    window = consolidation_window("consolidated_daily", now)
    ship(first, {1: "2"}, shipped_at=window.start + timedelta(hours=9))
    ship(second, {1: "3"}, shipped_at=window.start + timedelta(hours=15))
    ship(today, {1: "4"}, shipped_at=window.end + timedelta(minutes=1))
    assert not Invoice.objects.exists()  # nothing is invoiced per shipment under consolidation

    invoices = invoices_consolidate(rule="consolidated_daily", now=now)

    assert len(invoices) == 1
    invoice = invoices[0]
    assert invoice.order is None  # spans two orders
    assert (invoice.window_start, invoice.window_end) == (window.start, window.end)
    assert sorted(invoice.lines.values_list("order_line__order__number", flat=True)) == sorted(
        [first.number, second.number]
    )
    # 2 × 12.50 = 25.00 (+1.56) and 3 × 7.99 = 23.97 (+1.50)
    assert invoice.total == Decimal("52.03")
    # a second run for the same window changes nothing; today's shipment waits for its window
    assert invoices_consolidate(rule="consolidated_daily", now=now) == []
    assert Invoice.objects.count() == 1
    later = invoices_consolidate(rule="consolidated_daily", now=now + timedelta(days=1))
    assert [line.order_line.order for line in later[0].lines.all()] == [today]


def test_consolidation_bills_each_currency_apart_and_passes_over_a_held_order(released_order, ship):
    from exceptions.services import hold_raise, holds_clear
    from orders.models import Order

    customer = CustomerFactory(credit_limit=Decimal("1e6"), billing_rule="consolidated_daily")
    now = timezone.now()
    window = consolidation_window("consolidated_daily", now)
    dollars = released_order(lines=[("A", "2")], customer=customer)
    euros = released_order(lines=[("B", "3")], customer=customer)
    Order.objects.filter(pk=euros.pk).update(currency="EUR")
    held = released_order(lines=[("C", "4")], customer=customer)
    for order, quantity in ((dollars, "2"), (euros, "3"), (held, "4")):
        ship(order, {1: quantity}, shipped_at=window.start + timedelta(hours=9))
    # given one of the customer's orders held from invoicing
    hold_raise(order_id=held.pk, reason_code="ERP_POSTING_REJECTED", context={"error": "x"})
    # when the window is billed
    invoices = invoices_consolidate(rule="consolidated_daily", now=now)
    # then each currency has its invoice, its own lines alone, and the held order waits
    by_currency = {invoice.currency: invoice for invoice in invoices}
    assert sorted(by_currency) == ["EUR", "USD"]
    for currency, order in (("USD", dollars), ("EUR", euros)):
        lines = by_currency[currency].lines.values_list("order_line__order_id", flat=True)
        assert list(lines) == [order.pk]
    assert by_currency["USD"].total == Decimal("26.56")  # 2 × 12.50 + 6.25 % tax
    assert not Invoice.objects.filter(lines__order_line__order=held).exists()
    # and once its hold is cleared, the next window bills it
    holds_clear(order_id=held.pk, reason_code="ERP_POSTING_REJECTED", note="fixed")
    later = invoices_consolidate(rule="consolidated_daily", now=now + timedelta(days=1))
    assert [line.order_line.order_id for line in later[0].lines.all()] == [held.pk]


def test_consolidated_weekly_covers_the_last_complete_week(released_order, ship):
    customer = CustomerFactory(credit_limit=Decimal("1e6"), billing_rule="consolidated_weekly")
    now = timezone.now()
    window = consolidation_window("consolidated_weekly", now)
    order = released_order(lines=[("B", "5")], customer=customer)
    ship(order, {1: "2"}, shipped_at=window.start + timedelta(days=1))
    ship(order, {1: "3"}, shipped_at=window.start + timedelta(days=6))

    invoices = invoices_consolidate(rule="consolidated_weekly", now=now)

    assert len(invoices) == 1 and invoices[0].lines.count() == 2
    order.refresh_from_db()
    # the customer's first invoice waits for finance; until it is released the order is shipped
    assert order.state == OrderState.SHIPPED


@pytest.mark.parametrize(
    ("rule", "now", "start", "end"),
    [
        # a Wednesday afternoon: yesterday; and the full week Monday 16th to Monday 23rd
        ("consolidated_daily", "2026-11-25 15:00", "2026-11-24 00:00", "2026-11-25 00:00"),
        ("consolidated_weekly", "2026-11-25 15:00", "2026-11-16 00:00", "2026-11-23 00:00"),
        # just after midnight on a Monday, the week that just ended is complete
        ("consolidated_weekly", "2026-11-23 00:05", "2026-11-16 00:00", "2026-11-23 00:00"),
    ],
)
def test_consolidation_windows(rule, now, start, end, settings):
    settings.TIME_ZONE = "UTC"
    parse = lambda text: datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=UTC)  # noqa: E731
    window = consolidation_window(rule, parse(now))
    assert (window.start, window.end) == (parse(start), parse(end))
