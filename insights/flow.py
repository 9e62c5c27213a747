"""Process mining over the order history: the directly-follows graph of order states (how often
one state follows another, and the median time between) and the most common variants (whole
paths through the lifecycle).

Both read the flow slices ``insights.rollups`` computes from the history with window functions
(a step is a history row whose state differs from the order's previous row; edits that leave the
state alone are not steps): a few SQL aggregates over slices per request, whatever the number of
history rows. Orders in scope are those received in the range, with the filters.
"""

from dataclasses import dataclass

from django.db.models import Sum

from .kpis import KpiFilters, percentiles, slices
from .models import FlowStep, FlowVariant


@dataclass(frozen=True)
class Edge:
    source: str  # "" for the start of an order's story
    target: str
    count: int
    median_seconds: int | None  # at the histogram's resolution: exact below an hour


def directly_follows(filters: KpiFilters) -> list[Edge]:
    found = percentiles(slices(FlowStep, filters), ("source", "target"))
    edges = [
        Edge(source, target, spread["n"], spread["median"])
        for (source, target), spread in found.items()
    ]
    return sorted(edges, key=lambda e: (-e.count, e.source, e.target))


@dataclass(frozen=True)
class Variant:
    path: list[str]
    count: int

    @property
    def rework(self) -> bool:
        """The order went on hold more than once: a hold raised again after a release."""
        return self.path.count("on_hold") > 1


def variants(filters: KpiFilters, *, top: int = 10) -> list[Variant]:
    rows = (
        slices(FlowVariant, filters)
        .values("path")
        .annotate(n=Sum("count"))
        .order_by("-n", "path")[:top]
    )
    return [Variant(row["path"].split(">"), int(row["n"])) for row in rows]
