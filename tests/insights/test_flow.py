"""The process flow on a known history: transition counts, median durations, variants and the
rework loop (an order held again after its release)."""

from datetime import date, timedelta

import pytest

from insights import flow, rollups
from insights.kpis import KpiFilters
from orders.models import Order
from tests.fixtures.factories import OrderFactory
from tests.fixtures.insights import at

pytestmark = pytest.mark.django_db
H = timedelta(hours=1)
SCOPE = KpiFilters(start=date(2026, 11, 1), end=date(2026, 11, 10))


def story(start, *steps):
    """An order received at ``start`` whose history then moves through ``steps`` of
    (hours later, state); a step may repeat the state (an edit), which is not a transition."""
    order = OrderFactory(received_at=start)
    first = order.history.get()
    first.history_date = start
    first.save()
    model = Order.history.model
    values = {f.attname: getattr(first, f.attname) for f in model._meta.concrete_fields}
    for hours, state in steps:
        values |= {"history_id": None, "history_type": "~", "state": state}
        model.objects.create(**values | {"history_date": start + hours * H})
    return order


@pytest.fixture
def history(db):
    story(at(2), (1, "released"), (3, "released"))  # the second row is an edit, not a step
    story(at(3), (2, "on_hold"), (6, "released"))
    story(at(4), (4, "on_hold"), (10, "released"), (12, "on_hold"), (20, "released"))
    story(at(5), (2, "released"))
    OrderFactory(received_at=at(1) - timedelta(days=5))  # outside the range
    rollups.rebuild()
    return Order.objects.count()


def test_directly_follows_graph_counts_and_medians(history):
    edges = {(e.source, e.target): e for e in flow.directly_follows(SCOPE)}
    assert edges[("", "received")].count == 4 and edges[("", "received")].median_seconds is None
    # received → released: 1 h and 2 h; nearest-rank median of two is the first: 1 h
    assert (
        edges[("received", "released")].count,
        edges[("received", "released")].median_seconds,
    ) == (2, 3600)
    # received → on_hold: 2 h, 4 h
    assert edges[("received", "on_hold")].count == 2
    assert edges[("received", "on_hold")].median_seconds == 7200.0
    # on_hold → released: 4 h, 6 h, 8 h → 6 h
    assert (
        edges[("on_hold", "released")].count,
        edges[("on_hold", "released")].median_seconds,
    ) == (3, 21600)
    # the rework loop: released → on_hold once, after 2 h
    assert (
        edges[("released", "on_hold")].count,
        edges[("released", "on_hold")].median_seconds,
    ) == (1, 7200)
    assert ("released", "released") not in edges


def test_variants_with_the_rework_loop_visible(history):
    found = flow.variants(SCOPE)
    assert [(v.path, v.count, v.rework) for v in found] == [
        (["received", "released"], 2, False),
        (["received", "on_hold", "released"], 1, False),
        (["received", "on_hold", "released", "on_hold", "released"], 1, True),
    ]


def test_flow_page_and_its_csv(client, history, manager_user, cs_user):
    import csv
    import io

    from django.urls import reverse

    url = reverse("insights:flow")
    query = {"start": "2026-11-01", "end": "2026-11-10"}
    client.force_login(cs_user)
    assert client.get(url, query).status_code == 403
    client.force_login(manager_user)
    body = client.get(url, query).content.decode()
    assert "received → on_hold → released → on_hold → released" in body and "rework" in body
    assert 'aria-label="Directly-follows graph of order states"' in body
    assert "released → on_hold: 1" in body  # the rework loop, drawn below the line
    rows = list(
        csv.reader(
            io.StringIO(
                b"".join(client.get(url, {**query, "format": "csv"}).streaming_content).decode()
            )
        )
    )
    assert ["on_hold", "released", "3", "6.00"] in rows
