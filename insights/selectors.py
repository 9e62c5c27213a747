"""Every read of the insights pages and the KPI API: the dashboard's figures, the process flow,
and the holds behind a figure (the drill-down). The figures are computed in ``kpis``,
``cash_kpis`` and ``flow`` from the slices ``rollups`` keeps; the pages are for managers, who
see every territory."""

from dataclasses import dataclass

from django.db.models import QuerySet

from core.pagination import Page, keyset_page
from exceptions.models import ACTIVE_STATES, Hold

from . import cash_kpis, flow, kpis, receivable_kpis
from .kpis import KpiFilters

#: The drill-down's order, newest hold first; its keyset pages and CSV follow it.
HOLD_ORDERING = ("-raised_at", "-id")


def dashboard(*, filters: KpiFilters, by: str = "day") -> kpis.Dashboard:
    """Every figure of the dashboard (and the KPI API) for a range and filters, cash
    application's included (the receivables figures are ``receivables``)."""
    board = kpis.dashboard(filters, by=by)
    board.cash = cash_kpis.cash(filters)
    return board


def receivables(*, filters: KpiFilters) -> receivable_kpis.ReceivableFigures:
    """The receivables figures, read from the ledger: apart from the dashboard's slices, so the
    dashboard is never as slow as they are on a large ledger (they load after it)."""
    return receivable_kpis.receivables(filters)


@dataclass(frozen=True)
class ProcessFlow:
    edges: list[flow.Edge]  # the directly-follows graph, most frequent first
    variants: list[flow.Variant]  # the most common paths


def process_flow(*, filters: KpiFilters) -> ProcessFlow:
    return ProcessFlow(edges=flow.directly_follows(filters), variants=flow.variants(filters))


def rehold(*, filters: KpiFilters) -> dict:
    """Orders held again after a release, of those released."""
    return kpis.rehold(filters)


@dataclass(frozen=True)
class HoldDrill:
    """Which holds behind a figure: one reason, queue or category, or the active ones only."""

    reason: str = ""
    queue: str = ""
    category: str = ""
    active: bool = False


def holds_behind(*, filters: KpiFilters, drill: HoldDrill) -> QuerySet[Hold]:
    """The holds of the orders in scope that a dashboard figure counts, newest first."""
    holds = kpis.holds_in_scope(filters).select_related("order", "order__customer", "reason")
    if drill.reason:
        holds = holds.filter(reason__code=drill.reason)
    if drill.queue:
        holds = holds.filter(queue=drill.queue)
    if drill.category:
        holds = holds.filter(category=drill.category)
    if drill.active:
        holds = holds.filter(state__in=ACTIVE_STATES)
    return holds.order_by(*HOLD_ORDERING)


def holds_behind_page(
    *, filters: KpiFilters, drill: HoldDrill, cursor: str | None, size: int
) -> Page:
    return keyset_page(
        holds_behind(filters=filters, drill=drill),
        ordering=HOLD_ORDERING,
        cursor=cursor,
        size=size,
    )
