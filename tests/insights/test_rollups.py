"""The KPI slices stay current: a change made through the app's services shows on the dashboard
after the next refresh, which recomputes only the days that changed; the first refresh builds
everything; beat runs it; the command rebuilds."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from billing.models import CreditMemo, Invoice
from exceptions.models import Hold
from exceptions.services import hold_release
from insights import kpis, rollups, tasks
from insights.models import DailyFigure, RollupState
from orders.models import Customer, Order
from tests.fixtures.insights import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def settled(dataset):
    """As if the last refresh ran after the dataset's writes settled, so the next one sees only
    what a test changes."""
    RollupState.objects.filter(pk=1).update(refreshed_at=timezone.now() + rollups.LOOKBACK)
    return dataset


def test_a_released_hold_shows_after_the_next_refresh_which_recomputes_only_its_day(
    settled, manager_user
):
    held = Hold.objects.get(reason__code="PRICE_BELOW_CONTRACT")  # o3, received 4 November
    assert kpis.value_on_hold(settled) == Decimal("500.00")
    assert kpis.queue_aging(settled, now=at(4, 20))[0]["active"] == 1

    hold_release(hold_id=held.pk, actor=manager_user, reason="contract price confirmed")
    # Not yet: the slices are what the last refresh computed.
    assert kpis.value_on_hold(settled) == Decimal("500.00")

    assert rollups.refresh() == {date(2026, 11, 4)}
    assert kpis.value_on_hold(settled) == Decimal("0.00")
    assert kpis.queue_aging(settled, now=at(4, 20)) == []
    # o3 is released with its last hold
    assert kpis.release_cycle(settled)["released"] == 4
    assert kpis.rehold(settled) == {"held_orders": 3, "reheld_orders": 1, "rate": Decimal("0.3333")}
    # The next refresh looks back over the same minutes (late commits): recomputing is harmless.
    rows = sorted(DailyFigure.objects.values_list("day", "figure", "bucket", "count", "amount"))
    rollups.refresh()
    assert (
        sorted(DailyFigure.objects.values_list("day", "figure", "bucket", "count", "amount"))
        == rows
    )


def test_a_customer_moving_territory_moves_its_orders_days(settled):
    west = Customer.objects.get(territory="WEST")
    west.territory = "NORTH"
    west.save()  # history row, as admin and the master-data connector write

    assert rollups.refresh() == {date(2026, 11, 4), date(2026, 11, 6)}  # its two orders
    north = kpis.KpiFilters(start=settled.start, end=settled.end, territory="NORTH")
    assert kpis.hold_rates(north)[0]["reason__code"] == "PRICE_BELOW_CONTRACT"
    gone = kpis.KpiFilters(start=settled.start, end=settled.end, territory="WEST")
    assert kpis.hold_rates(gone) == [] and kpis.touchless(gone)["total"] == 0


def test_a_credit_memo_lowers_first_pass_accuracy_on_its_invoice_day(settled):
    invoice = Invoice.objects.get(number="INV-T1")
    CreditMemo.objects.create(
        number="CM-T2", invoice=invoice, reason="short", created_at=at(9), total=Decimal("1")
    )
    assert rollups.refresh() == {date(2026, 11, 7)}  # the invoice's day, not the memo's
    assert kpis.first_pass(settled) == {"released": 4, "clean": 2, "rate": Decimal("0.5000")}


def test_the_first_refresh_builds_every_day(dataset):
    RollupState.objects.all().delete()
    DailyFigure.objects.all().delete()
    assert kpis.touchless(dataset)["total"] == 0

    assert rollups.refresh() is None
    assert kpis.touchless(dataset) == {"total": 4, "touchless": 1, "rate": Decimal("0.2500")}
    assert RollupState.objects.get().rebuilt_at is not None


def test_a_change_outside_any_refresh_window_is_caught_by_the_rebuild(settled):
    # A write that bypasses history (a raw UPDATE) is invisible to the minute refresh…
    Order.objects.filter(received_at__date="2026-11-06").update(total=Decimal("1"))
    Order.objects.filter(received_at__date="2026-11-06").update(state="on_hold")
    assert rollups.refresh() == set()
    assert kpis.value_on_hold(settled) == Decimal("500.00")
    # …and the nightly rebuild (here the command an operator runs after a bulk fix) catches it.
    call_command("refresh_kpis", "--rebuild")
    assert kpis.value_on_hold(settled) == Decimal("501.00")


def test_beat_refreshes_every_minute_and_rebuilds_nightly(settled, manager_user):
    schedules = {t.task: t for t in PeriodicTask.objects.filter(task__startswith="insights.")}
    refresh = schedules["insights.tasks.kpis_refresh"]
    assert (refresh.interval.every, refresh.interval.period) == (1, "minutes") and refresh.enabled
    assert schedules["insights.tasks.kpis_rebuild"].crontab.hour == "2"

    hold_release(
        hold_id=Hold.objects.get(reason__code="PRICE_BELOW_CONTRACT").pk,
        actor=manager_user,
        reason="contract price confirmed",
    )
    assert tasks.kpis_refresh.apply().get() == 1  # one day recomputed
    assert kpis.value_on_hold(settled) == Decimal("0.00")


def test_durations_are_read_at_the_documented_resolution(dataset):
    """Exact below an hour, to the minute below a day, to ten minutes below 30 days, to the hour
    beyond: an order released 2 d 3 h 7 min 59 s after it arrived is read as 2 d 3 h 0 min."""
    order = Order.objects.get(received_at=at(2))
    Order.objects.filter(pk=order.pk).update(
        released_at=at(2) + timedelta(days=2, hours=3, minutes=7, seconds=59)
    )
    rollups.refresh_days([date(2026, 11, 2)])
    cycle = kpis.release_cycle(dataset)
    # 4 h, 24 h and now 2 d 3 h: the p90 is the longest
    assert cycle["p90"] == timedelta(days=2, hours=3)
