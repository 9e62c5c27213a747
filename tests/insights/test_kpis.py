"""Each KPI against a hand-built dataset whose answers are known (worked out in the comments)."""

from datetime import date
from decimal import Decimal

import pytest

from insights import kpis
from tests.fixtures.insights import H, at

pytestmark = pytest.mark.django_db


def test_touchless_rate_counts_decided_orders_without_any_hold(dataset):
    # decided in range: o1, o2, o3, o4; touchless: o1 only
    assert kpis.touchless(dataset) == {"total": 4, "touchless": 1, "rate": Decimal("0.2500")}


def test_hold_rate_by_category_and_reason(dataset):
    rows = {row["reason__code"]: row for row in kpis.hold_rates(dataset)}
    # 5 orders in range; credit held o2 and o4 (3 holds), pricing held o3
    assert (rows["CREDIT_LIMIT"]["holds"], rows["CREDIT_LIMIT"]["orders"]) == (3, 2)
    assert rows["CREDIT_LIMIT"]["rate"] == Decimal("0.4000")
    assert rows["PRICE_BELOW_CONTRACT"]["rate"] == Decimal("0.2000")


def test_resolution_time_median_and_p90_by_category(dataset):
    (credit,) = kpis.resolution_times(dataset)
    # 2 h, 6 h, 16 h: nearest rank 2 of 3 is the median, rank 3 the p90
    assert credit == {"category": "credit", "resolved": 3, "median": 6 * H, "p90": 16 * H}


def test_release_cycle_time(dataset):
    # 1 h, 4 h, 24 h
    assert kpis.release_cycle(dataset) == {"released": 3, "median": 4 * H, "p90": 24 * H}


def test_queue_aging_breaches_and_value(dataset):
    (pricing,) = kpis.queue_aging(dataset, now=at(4, 20))  # the pricing hold is 12 h old
    assert pricing == {
        "queue": "pricing",
        "active": 1,
        "breached": 1,
        "value": Decimal("100.00"),
        "value_by_currency": {"USD": Decimal("100.00")},
        "buckets": [0, 1, 0, 0],
    }
    (later,) = kpis.queue_aging(dataset, now=at(9))  # 5 days old
    assert later["buckets"] == [0, 0, 0, 1]


def test_value_on_hold_and_rehold_rate(dataset):
    assert kpis.value_on_hold(dataset) == Decimal("500.00")
    # held orders o2, o3, o4; o4 was held again after its first hold was resolved
    assert kpis.rehold(dataset) == {"held_orders": 3, "reheld_orders": 1, "rate": Decimal("0.3333")}


def test_shipment_to_invoice_latency_and_first_pass_accuracy(dataset):
    # exact below an hour; 4,000 s is read to its minute (66 min = 3,960 s)
    assert kpis.shipment_to_invoice(dataset) == {"invoices": 4, "median": 200, "p90": 3960}
    assert kpis.first_pass(dataset) == {"released": 4, "clean": 3, "rate": Decimal("0.7500")}


def test_dead_letters_by_connector(dataset):
    assert kpis.dead_letters(dataset) == [
        {"connector__name": "erp-x", "stream": "orders", "n": 2},
        {"connector__name": "erp-x", "stream": "customers", "n": 1},
    ]


def test_filters_narrow_every_figure(dataset):
    west = kpis.KpiFilters(start=dataset.start, end=dataset.end, territory="WEST")
    assert kpis.touchless(west) == {"total": 1, "touchless": 0, "rate": Decimal("0.0000")}
    assert [row["reason__code"] for row in kpis.hold_rates(west)] == ["PRICE_BELOW_CONTRACT"]
    key = kpis.KpiFilters(start=dataset.start, end=dataset.end, segment="key")
    assert kpis.release_cycle(key)["released"] == 3


def test_daily_trend(dataset):
    trend = {row["day"]: row for row in kpis.daily_trend(dataset)}
    assert trend[date(2026, 11, 5)] == {
        "day": date(2026, 11, 5),
        "orders": 1,
        "held": 1,
        "touchless": 0,
    }
    assert sum(row["orders"] for row in trend.values()) == 5
