"""The dashboard page: managers only, a bad range is a clear error, figures drill down to the
orders or holds behind them, every table exports as CSV, and the page's SQL does not grow."""

import csv
import io

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.fixtures.factories import OrderFactory

pytestmark = pytest.mark.django_db
RANGE = {"start": "2026-11-01", "end": "2026-11-10"}


def csv_rows(response):
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_only_managers_see_the_dashboard(client, dataset, manager_user, cs_user, finance_user):
    url = reverse("insights:dashboard")
    for user, status in [(manager_user, 200), (cs_user, 403), (finance_user, 403)]:
        client.force_login(user)
        assert client.get(url, RANGE).status_code == status
        assert client.get(reverse("insights:holds"), RANGE).status_code == status
        assert client.get(reverse("insights:export", args=["trend"]), RANGE).status_code == status
    client.logout()
    assert client.get(url).status_code == 302


def test_dashboard_shows_the_figures_and_drill_down_links(client, dataset, manager_user):
    client.force_login(manager_user)
    body = client.get(reverse("insights:dashboard"), RANGE).content.decode()
    assert "25 %" in body  # touchless
    assert "4.0 h" in body and "24.0 h" in body  # release cycle median and p90
    assert "500" in body  # value on hold
    assert "received_from=2026-11-05&amp;received_to=2026-11-05" in body  # a day's bar
    assert "/billing/invoices/?created_from=2026-11-01&amp;created_to=2026-11-10" in body
    assert (
        reverse("insights:holds") + "?start=2026-11-01&amp;end=2026-11-10&amp;reason=CREDIT_LIMIT"
        in body
    )


def test_a_bad_range_is_refused_with_a_message(client, manager_user):
    client.force_login(manager_user)
    response = client.get(
        reverse("insights:dashboard"), {"start": "2026-11-10", "end": "2026-11-01"}
    )
    assert response.status_code == 400
    assert "The start date must not be after the end date." in response.content.decode()


def test_hold_drill_down_lists_and_exports_the_holds(client, dataset, manager_user):
    client.force_login(manager_user)
    query = {**RANGE, "reason": "CREDIT_LIMIT"}
    body = client.get(reverse("insights:holds"), query).content.decode()
    assert body.count("Exposure above credit limit") == 3
    rows = csv_rows(client.get(reverse("insights:holds"), {**query, "format": "csv"}))
    assert rows[0][:4] == ["hold", "order", "customer", "reason"]
    assert len(rows) == 4 and {row[3] for row in rows[1:]} == {"CREDIT_LIMIT"}


def test_every_table_exports_as_csv(client, dataset, manager_user):
    client.force_login(manager_user)
    rates = csv_rows(client.get(reverse("insights:export", args=["hold-rates"]), RANGE))
    assert rates[1][1:3] == ["CREDIT_LIMIT", "Exposure above credit limit"] and rates[1][4] == "3"
    resolution = csv_rows(client.get(reverse("insights:export", args=["resolution"]), RANGE))
    assert resolution[1] == ["credit", "3", "6.0", "16.0"]
    dead = csv_rows(client.get(reverse("insights:export", args=["dead-letters"]), RANGE))
    assert dead[1:] == [["erp-x", "orders", "2"], ["erp-x", "customers", "1"]]
    trend = csv_rows(client.get(reverse("insights:export", args=["trend"]), RANGE))
    assert sum(int(row[1]) for row in trend[1:]) == 5
    aging = client.get(reverse("insights:export", args=["aging"]), RANGE)
    assert aging.status_code == 200 and csv_rows(aging)[0][0] == "queue"
    assert client.get(reverse("insights:export", args=["nope"]), RANGE).status_code == 404


def test_orders_list_exports_the_drill_down_as_csv(client, dataset, manager_user):
    client.force_login(manager_user)
    rows = csv_rows(
        client.get(
            reverse("orders:list"),
            {
                "received_from": "2026-11-01",
                "received_to": "2026-11-10",
                "held": "no",
                "format": "csv",
            },
        )
    )
    # decided or not, the orders without any hold in range: o1 and the still-received one
    assert rows[0][0] == "number" and len(rows) == 3


def test_dashboard_queries_do_not_grow_with_orders(client, dataset, manager_user):
    client.force_login(manager_user)
    url = reverse("insights:dashboard")
    with CaptureQueriesContext(connection) as few:
        client.get(url, RANGE)
    customer = OrderFactory().customer
    for day in range(1, 9):
        OrderFactory(customer=customer, received_at=f"2026-11-0{day}T10:00:00Z")
    with CaptureQueriesContext(connection) as many:
        client.get(url, RANGE)
    assert len(many) == len(few)


def test_kpis_over_the_api(client, dataset, manager_user, cs_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(cs_user)
    assert api.get("/api/v1/kpis/", RANGE).status_code == 403
    api.force_authenticate(manager_user)
    body = api.get("/api/v1/kpis/", RANGE).json()
    assert body["touchless"] == {"total": 4, "touchless": 1, "rate": "0.2500"}
    assert body["release_cycle"] == {"released": 3, "median": 14400.0, "p90": 86400.0}
    # 4,000 s is past the hour: read to the minute it falls in (66 min)
    assert body["shipment_to_invoice_seconds"] == {"invoices": 4, "median": 200, "p90": 3960}
    assert body["value_on_hold"] == "500.00"
    bad = api.get("/api/v1/kpis/", {"start": "2026-11-10", "end": "2026-11-01"})
    assert bad.status_code == 400 and "start date" in bad.json()["message"]


def test_value_at_risk_charts_one_per_currency_with_a_money_axis():
    from decimal import Decimal

    from insights.views import VALUE_CHART_WIDTH, _value_charts

    aging = [
        {"queue": "credit", "url": "/c", "value_by_currency": {"USD": Decimal("800.00"),
                                                                "EUR": Decimal("50.00")}},
        {"queue": "pricing", "url": "/p", "value_by_currency": {"USD": Decimal("200.00")}},
        {"queue": "warehouse", "url": "/w", "value_by_currency": {"USD": Decimal("0")}},
    ]  # fmt: skip
    eur, usd = _value_charts(aging)
    # never summed across currencies; a queue with nothing at risk draws no bar
    assert (eur["currency"], [b["queue"] for b in eur["bars"]]) == ("EUR", ["credit"])
    assert [(b["queue"], b["width"]) for b in usd["bars"]] == [
        ("credit", VALUE_CHART_WIDTH),
        ("pricing", VALUE_CHART_WIDTH // 4),
    ]
    assert [t["value"] for t in usd["ticks"]] == [Decimal("0"), Decimal("400.0"), Decimal("800.00")]


def test_the_dashboard_draws_value_at_risk_with_currency_and_a_table(client, dataset, manager_user):
    client.force_login(manager_user)
    body = client.get(reverse("insights:dashboard"), RANGE).content.decode()
    chart = body.split('<figure class="value-chart"')[1].split("</figure>")[0]
    assert "Value at risk by queue, USD" in chart and "in USD</p>" in chart  # caption, legend
    axis = chart.split('<g class="axis">')[1].split("</g>")[0]
    assert axis.count(" USD</text>") == 3  # zero, half and the peak, each in money
    table = chart.split("<table")[1]
    assert 'href="/insights/holds/?' in table and " USD</td>" in table
