"""Pages and CSV exports as a person reads them: times in their zone, money with its currency
code, and amounts in two currencies never added together."""

import csv
import io
import re
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from billing.models import Invoice
from core.models import UserPreference
from core.templatetags.desk import money
from exceptions.models import Hold
from insights import rollups
from orders.models import Order
from tests.fixtures.factories import OrderFactory
from tests.fixtures.insights import at, hold

pytestmark = pytest.mark.django_db

#: 15:30 UTC on a winter day: 10:30 in New York (EST).
KNOWN = datetime(2026, 1, 15, 15, 30, tzinfo=ZoneInfo("UTC"))
RANGE = {"start": "2026-11-01", "end": "2026-11-10"}


def in_new_york(client, user):
    UserPreference.objects.create(user=user, time_zone="America/New_York")
    client.force_login(user)
    return client


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_a_queue_row_shows_when_the_hold_was_raised_in_the_users_zone(client, manager_user, enter):
    # given a credit hold raised at a known UTC time, and a manager in New York
    order = enter(quantity="60")
    credit = order.holds.get(reason__code="CREDIT_LIMIT")
    Hold.objects.filter(pk=credit.pk).update(raised_at=KNOWN)
    in_new_york(client, manager_user)
    # when the manager opens the credit queue
    body = client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    row = body.split(f'id="hold-{credit.pk}"')[1].split("</tbody>")[0]
    # then the row says it was raised at 10:30 New York time, and its value carries USD
    assert re.search(r"raised <time [^>]*>2026-01-15 10:30</time>", row)
    assert "2026-01-15 15:30" not in row
    assert f">{money(credit.value_at_risk, 'USD')}</td>" in row


def test_the_queue_summary_keeps_each_currency_apart(client, manager_user, enter):
    # given two credit holds, one on a USD order and one on a EUR order
    usd = enter(quantity="60").holds.get(reason__code="CREDIT_LIMIT")
    eur = enter(quantity="70").holds.get(reason__code="CREDIT_LIMIT")
    Order.objects.filter(pk=eur.order_id).update(currency="EUR")
    client.force_login(manager_user)
    # when the queue's summary is read
    summary = client.get(reverse("exceptions:summary", args=["credit"])).content.decode()
    # then each currency has its own figure, none is their sum
    assert "<strong>2</strong> open" in summary
    assert f"{money(eur.value_at_risk, 'EUR')} + {money(usd.value_at_risk, 'USD')} at risk" in (
        summary
    )
    assert money(usd.value_at_risk + eur.value_at_risk) not in summary


def test_the_orders_csv_has_its_times_in_the_users_zone(client, manager_user):
    # given an order received at a known UTC time, and a manager in New York
    order = OrderFactory(received_at=KNOWN)
    in_new_york(client, manager_user)
    # when the manager exports the order list
    header, row = csv_rows(client.get(reverse("orders:list"), {"format": "csv"}))
    # then the time column names the zone and the time is New York's, offset included
    assert header[-2:] == ["received (America/New_York)", "released (America/New_York)"]
    assert row[0] == order.number
    assert row[-2:] == ["2026-01-15 10:30:00-05:00", ""]
    assert header[6:8] == ["total", "currency"] and row[7] == "USD"


def test_without_a_preference_the_csv_is_in_the_default_zone(client, manager_user, settings):
    settings.O2C_DEFAULT_TIME_ZONE = "Asia/Tokyo"
    OrderFactory(received_at=KNOWN)
    client.force_login(manager_user)
    header, row = csv_rows(client.get(reverse("orders:list"), {"format": "csv"}))
    assert header[-2] == "received (Asia/Tokyo)" and row[-2] == "2026-01-16 00:30:00+09:00"


def test_the_order_list_and_page_show_the_currency_code(client, manager_user, make_order):
    order = make_order()
    Order.objects.filter(pk=order.pk).update(currency="EUR")
    order.refresh_from_db()
    client.force_login(manager_user)
    listing = client.get(reverse("orders:list")).content.decode()
    assert f">{money(order.total, 'EUR')}</td>" in listing
    page = client.get(reverse("orders:detail", args=[order.pk])).content.decode()
    assert f"<dd>{money(order.total, 'EUR')}</dd>" in page
    line = order.lines.get(line_number=1)
    assert re.search(rf">{re.escape(f'{line.unit_price:,.2f}')}[0-9]* EUR</td>", page)


def test_the_invoice_list_and_invoice_show_the_currency_code(
    client, finance_user, released_order, ship
):
    order = released_order(lines=[("B", "4")])
    ship(order, {1: "4"})
    invoice = Invoice.objects.get(lines__order_line__order=order)
    client.force_login(finance_user)
    listing = client.get(reverse("billing:invoices")).content.decode()
    assert f">{money(invoice.total, 'USD')}</td>" in listing
    page = client.get(reverse("billing:invoice", args=[invoice.pk])).content.decode()
    assert f"<strong>{money(invoice.total, 'USD')}</strong>" in page
    assert f">{money(invoice.subtotal, 'USD')}</td>" in page


def test_a_dashboard_card_shows_the_currency_code(client, dataset, manager_user):
    client.force_login(manager_user)
    body = client.get(reverse("insights:dashboard"), RANGE).content.decode()
    cards = body.split('aria-label="Key figures"')[1].split("</section>")[0]
    assert "<strong>500.00 USD</strong>" in cards  # value on hold: o3, 500.00
    aging = body.split('aria-label="Queue aging"')[1].split("</section>")[0]
    assert "100.00 USD" in aging  # the pricing hold's value at risk


def test_value_on_hold_over_two_currencies_shows_both_and_never_their_sum(
    client, dataset, manager_user
):
    # given, beside the USD order on hold (500.00), a EUR order on hold with a hold of its own
    eur = OrderFactory(
        received_at=at(4, 9), state="on_hold", total=Decimal("80.00"), currency="EUR"
    )
    hold(eur, "PRICE_BELOW_CONTRACT", at(4, 9), value="30.00", due=at(4, 12))
    rollups.rebuild()
    client.force_login(manager_user)
    # when the manager opens the dashboard
    body = client.get(reverse("insights:dashboard"), RANGE).content.decode()
    # then the card and the aging table have a line per currency, and no line adds them up
    cards = body.split('aria-label="Key figures"')[1].split("</section>")[0]
    assert "<strong>80.00 EUR</strong><strong>500.00 USD</strong>" in cards
    assert "580" not in cards
    aging = body.split('aria-label="Queue aging"')[1].split("</section>")[0]
    assert "30.00 EUR<br>100.00 USD" in aging and "130" not in aging
    # and the aging CSV has a value column per currency
    header, row = csv_rows(client.get(reverse("insights:export", args=["aging"]), RANGE))
    assert header[3:5] == ["value at risk (EUR)", "value at risk (USD)"]
    assert row[:5] == ["pricing", "2", "2", "30.00", "100.00"]
    # and the API gives each currency, with no single figure for both
    api = client.get("/api/v1/kpis/", RANGE).json()
    assert api["value_on_hold_by_currency"] == {"EUR": "80.00", "USD": "500.00"}
    assert api["value_on_hold"] is None


def test_the_hold_drill_down_csv_has_currency_and_zoned_times(client, dataset, manager_user):
    in_new_york(client, manager_user)
    query = {**RANGE, "reason": "PRICE_BELOW_CONTRACT", "format": "csv"}
    header, row = csv_rows(client.get(reverse("insights:holds"), query))
    assert header[6:10] == [
        "value at risk",
        "currency",
        "raised (America/New_York)",
        "resolved (America/New_York)",
    ]
    # raised 2026-11-04 08:00 UTC: 03:00 in New York (EST)
    assert row[6:10] == ["100.00", "USD", "2026-11-04 03:00:00-05:00", ""]
