"""The process dashboard (managers): KPI cards, trend and breakdown charts as server-rendered SVG,
every figure a link to the orders or holds behind it, and CSV export of every table."""

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from core.exports import csv_response, zoned
from core.http import role_required
from core.pagination import render_paged_list
from core.roles import Role
from orders.models import OrderState

from . import cash_kpis, kpis, receivable_kpis, selectors
from .forms import DashboardForm

CHART_HEIGHT = 120
#: The value-at-risk charts: bar length for the largest queue, and each bar's thickness.
VALUE_CHART_WIDTH = 360
BAR_HEIGHT = 14

#: The gate of every insights page.
manager_required = role_required(Role.MANAGER, message="The dashboard is for managers.")


def _form(request: HttpRequest) -> DashboardForm:
    form = DashboardForm(request.GET)
    form.is_valid()
    return form


def _hours(value) -> str:
    return f"{value.total_seconds() / 3600:.1f} h" if value is not None else "—"


def _minutes_or_hours(seconds: int | None) -> str:
    """Cash applied by matching takes seconds, by an analyst hours: minutes below an hour."""
    if seconds is None:
        return "—"
    return f"{seconds / 60:.0f} min" if seconds < 3600 else f"{seconds / 3600:.1f} h"


def order_link(filters: kpis.KpiFilters, **extra) -> str:
    """The order list showing the orders behind a figure."""
    query = {
        "received_from": filters.start.isoformat(),
        "received_to": filters.end.isoformat(),
        "channel": filters.channel,
        "segment": filters.segment,
        "territory": filters.territory,
        **extra,
    }
    return f"{reverse('orders:list')}?{urlencode({k: v for k, v in query.items() if v})}"


def hold_link(filters: kpis.KpiFilters, **extra) -> str:
    """The hold list (drill-down) showing the holds behind a figure."""
    query = {
        "start": filters.start.isoformat(),
        "end": filters.end.isoformat(),
        "channel": filters.channel,
        "segment": filters.segment,
        "territory": filters.territory,
        **extra,
    }
    return f"{reverse('insights:holds')}?{urlencode({k: v for k, v in query.items() if v})}"


def _trend_chart(filters: kpis.KpiFilters, rows: list[dict], by: str) -> dict:
    """Stacked bars (touchless under held) per day or week, each a link to its orders."""
    peak = max((row["orders"] for row in rows), default=0) or 1
    width = 24
    bars = []
    for index, row in enumerate(rows):
        day = row["day"]
        last = day + timedelta(days=6 if by == "week" else 0)
        held_h = round(CHART_HEIGHT * row["held"] / peak)
        clean_h = round(CHART_HEIGHT * row["touchless"] / peak)
        bars.append(
            {
                "x": index * (width + 4),
                "width": width,
                "held_y": CHART_HEIGHT - held_h - clean_h,
                "held_h": held_h,
                "clean_y": CHART_HEIGHT - clean_h,
                "clean_h": clean_h,
                "label": f"{day:%m-%d}",
                "title": f"{day:%Y-%m-%d}: {row['orders']} orders, {row['touchless']} touchless, "
                f"{row['held']} held",
                "url": order_link(
                    kpis.KpiFilters(
                        start=day,
                        end=last,
                        channel=filters.channel,
                        segment=filters.segment,
                        territory=filters.territory,
                    )
                ),
                **row,
            }
        )
    # the chart's y axis: the peak at the top, half of it at the middle, zero at the baseline
    ticks = [{"y": CHART_HEIGHT - round(CHART_HEIGHT * f), "value": round(peak * f)}
             for f in (0, 0.5, 1)]  # fmt: skip
    return {"bars": bars, "width": max(len(bars) * (width + 4), width), "height": CHART_HEIGHT,
            "ticks": ticks, "peak": peak}  # fmt: skip


def _value_charts(aging: list[dict]) -> list[dict]:
    """Value at risk by queue, one horizontal bar chart per currency (amounts are never summed
    across currencies). Each chart's axis runs from zero to its largest queue, with ticks in
    money of that currency; its bars link to the queue's open holds."""
    by_currency: dict[str, list[dict]] = {}
    for row in aging:
        for currency, value in row["value_by_currency"].items():
            if value:
                by_currency.setdefault(currency, []).append(
                    {"queue": row["queue"], "value": value, "url": row["url"]}
                )
    charts = []
    for currency, bars in sorted(by_currency.items()):
        bars.sort(key=lambda bar: (-bar["value"], bar["queue"]))
        peak = bars[0]["value"]
        for index, bar in enumerate(bars):
            bar["y"] = index * (BAR_HEIGHT + 6)
            bar["width"] = round(VALUE_CHART_WIDTH * bar["value"] / peak)
        ticks = [{"x": round(VALUE_CHART_WIDTH * f), "value": peak * Decimal(str(f))}
                 for f in (0, 0.5, 1)]  # fmt: skip
        height = len(bars) * (BAR_HEIGHT + 6)
        charts.append({"currency": currency, "bars": bars, "ticks": ticks, "height": height,
                       "width": VALUE_CHART_WIDTH})  # fmt: skip
    return charts


def _hold_bars(filters: kpis.KpiFilters, rows: list[dict]) -> list[dict]:
    peak = max((row["holds"] for row in rows), default=0) or 1
    return [
        {
            **row,
            "pct": round(100 * row["holds"] / peak),
            "url": hold_link(filters, reason=row["reason__code"]),
        }
        for row in rows
    ]


@login_required
@require_GET
@manager_required
def dashboard(request: HttpRequest) -> HttpResponse:
    form = _form(request)
    if not form.is_valid():
        return render(request, "insights/dashboard.html", {"form": form}, status=400)
    filters = form.filters()
    board = selectors.dashboard(filters=filters, by=form.cleaned_data["by"])
    aging_links = [
        {**row, "url": hold_link(filters, queue=row["queue"], active="1")}
        for row in board.queue_aging
    ]
    context = {
        "form": form,
        "board": board,
        "filters": filters,
        "query": request.GET.urlencode(),
        "trend": _trend_chart(filters, board.trend, form.cleaned_data["by"]),
        "hold_bars": _hold_bars(filters, board.hold_rates),
        "aging": aging_links,
        "value_charts": _value_charts(aging_links),
        "buckets": [label for label, _low, _high in kpis.AGING_BUCKETS],
        "days_zone": settings.TIME_ZONE,
        "links": {
            "decided": order_link(filters),
            "touchless": order_link(filters, held="no"),
            "held": order_link(filters, held="yes"),
            "on_hold": order_link(filters, state="on_hold"),
            "holds": hold_link(filters),
            "invoices": f"{reverse('billing:invoices')}?"
            + urlencode(
                {"created_from": filters.start.isoformat(), "created_to": filters.end.isoformat()}
            ),
        },
        "release_cycle": {k: _hours(v) for k, v in board.release_cycle.items() if k != "released"},
        "invoice_latency": {
            k: _hours(timedelta(seconds=v)) if v is not None else "—"
            for k, v in board.shipment_to_invoice.items()
            if k != "invoices"
        },
        "resolution": [
            {**row, "median_h": _hours(row["median"]), "p90_h": _hours(row["p90"])}
            for row in board.resolution_times
        ],
        "cash_time": {
            k: _minutes_or_hours(v)
            for k, v in board.cash.receipt_to_application.items()
            if k != "applied"
        },
        "unapplied_buckets": [label for label, _low, _high in cash_kpis.UNAPPLIED_BUCKETS],
    }
    return render(request, "insights/dashboard.html", context)


# --- CSV -------------------------------------------------------------------------------------


def _currencies(board: kpis.Dashboard) -> list[str]:
    return sorted({c for row in board.queue_aging for c in row["value_by_currency"]})


def _seconds_as_hours(seconds: int | None) -> str:
    return f"{seconds / 3600:.2f}" if seconds is not None else ""


def _cash_rows(cash: cash_kpis.CashFigures) -> list[list]:
    """One row per cash KPI (the csv writer leaves a rate with nothing to count blank)."""
    match, accuracy, timing = cash.auto_match, cash.accuracy, cash.receipt_to_application
    automatic = accuracy["automatic"]
    return [
        ["payments applied automatically", match["automatic"], match["received"], match["rate"]],
        ["applications not reversed", accuracy["kept"], accuracy["applications"], accuracy["rate"]],
        [
            "automatic applications not reversed",
            automatic["kept"],
            automatic["applications"],
            automatic["rate"],
        ],
        [
            "receipt to application",
            timing["applied"],
            None,
            None,
            _seconds_as_hours(timing["median"]),
            _seconds_as_hours(timing["p90"]),
        ],
    ]


def _percent(rate: Decimal | None) -> Decimal | None:
    return None if rate is None else (rate * 100).quantize(Decimal("0.1"))


def _receivable_rows(figures: receivable_kpis.ReceivableFigures) -> list[list]:
    """One row per currency: DSO, CEI, deduction days, invalid recovery and returns rates."""
    return [
        [
            currency,
            figures.dso.get(currency),
            figures.cei.get(currency),
            figures.deduction_days.get(currency, {}).get("days"),
            figures.recovery.get(currency, {}).get("rate"),
            figures.returns.get(currency, {}).get("rate"),
        ]
        for currency in figures.currencies
    ]


TABLES = {
    "hold-rates": (
        ["category", "reason", "description", "queue", "holds", "orders held", "rate"],
        lambda b: [
            [
                r["category"],
                r["reason__code"],
                r["reason__description"],
                r["queue"],
                r["holds"],
                r["orders"],
                r["rate"],
            ]
            for r in b.hold_rates
        ],
    ),
    "resolution": (
        ["category", "resolved", "median hours", "p90 hours"],
        lambda b: [
            [
                r["category"],
                r["resolved"],
                _hours(r["median"]).removesuffix(" h"),
                _hours(r["p90"]).removesuffix(" h"),
            ]
            for r in b.resolution_times
        ],
    ),
    # A value column per currency: amounts in two currencies are never one figure.
    "aging": (
        lambda b: [
            "queue",
            "active",
            "SLA breached",
            *[f"value at risk ({c})" if c else "value at risk" for c in _currencies(b)],
            *[label for label, _l, _h in kpis.AGING_BUCKETS],
        ],
        lambda b: [
            [
                r["queue"],
                r["active"],
                r["breached"],
                *[r["value_by_currency"].get(c, "") for c in _currencies(b)],
                *r["buckets"],
            ]
            for r in b.queue_aging
        ],
    ),
    "trend": (
        ["period", "orders", "touchless", "held"],
        lambda b: [[r["day"], r["orders"], r["touchless"], r["held"]] for r in b.trend],
    ),
    "dead-letters": (
        ["connector", "stream", "dead letters"],
        lambda b: [[r["connector__name"], r["stream"], r["n"]] for r in b.dead_letters],
    ),
    "cash": (
        ["figure", "count", "of", "rate", "median hours", "p90 hours"],
        lambda b: _cash_rows(b.cash),
    ),
    "receivables": (
        ["currency", "DSO days", "CEI %", "deduction days", "invalid recovery", "returns rate"],
        lambda b: _receivable_rows(b.receivables),
    ),
    "case-aging": (
        [
            "reason",
            "currency",
            "open",
            "amount",
            *[label for label, _f, _t in receivable_kpis.CASE_AGE_BUCKETS],
        ],
        lambda b: [
            [r["reason"], r["currency"], r["count"], r["amount"], *r["buckets"]]
            for r in b.receivables.case_aging
        ],
    ),
    "root-causes": (
        ["root cause", "currency", "cases", "amount"],
        lambda b: [
            [r["label"], r["currency"], r["count"], r["amount"]] for r in b.receivables.root_causes
        ],
    ),
    # A row per currency: unapplied cash in two currencies is never one figure.
    "unapplied-cash": (
        ["currency", "amount", "items", *[label for label, _l, _h in cash_kpis.UNAPPLIED_BUCKETS]],
        lambda b: [
            [r["currency"], r["amount"], r["items"], *r["buckets"]] for r in b.cash.unapplied
        ],
    ),
}


#: The tables read from ``selectors.receivables`` (the others need only the dashboard).
RECEIVABLE_TABLES = {"receivables", "case-aging", "root-causes"}


@login_required
@require_GET
@manager_required
def export_table(request: HttpRequest, table: str) -> HttpResponse:
    if table not in TABLES:
        return HttpResponse("No such table.", status=404)
    form = _form(request)
    if not form.is_valid():
        return HttpResponse("; ".join(form.non_field_errors()) or "Bad filters.", status=400)
    header, rows_of = TABLES[table]
    board = selectors.dashboard(filters=form.filters(), by=form.cleaned_data["by"])
    if table in RECEIVABLE_TABLES:
        board.receivables = selectors.receivables(filters=form.filters())
    header = header(board) if callable(header) else header
    return csv_response(f"{table}.csv", header, rows_of(board))


@login_required
@require_GET
@vary_on_headers("HX-Request")
@manager_required
def receivables_panel(request: HttpRequest) -> HttpResponse:
    """The dashboard's receivables section, loaded after the page: its figures are read from
    the ledger, not from slices, and take seconds on a ledger of a million invoices."""
    form = _form(request)
    if not form.is_valid():
        return HttpResponse("; ".join(form.non_field_errors()) or "Bad filters.", status=400)
    figures = selectors.receivables(filters=form.filters())
    context = {
        "figures": figures,
        "query": request.GET.urlencode(),
        "case_buckets": [label for label, _low, _high in receivable_kpis.CASE_AGE_BUCKETS],
        "rows": [
            [*row[:4], *(_percent(rate) for rate in row[4:])] for row in _receivable_rows(figures)
        ],
    }
    # swapped into the dashboard; opened on its own (no JavaScript), a page of its own
    template = "insights/receivables_panel.html" if request.htmx else "insights/receivables.html"
    return render(request, template, context)


# --- Hold drill-down -------------------------------------------------------------------------


def _drill(request: HttpRequest) -> selectors.HoldDrill:
    """Which holds the figure's link asked for (``hold_link``)."""
    return selectors.HoldDrill(
        reason=request.GET.get("reason", ""),
        queue=request.GET.get("queue", ""),
        category=request.GET.get("category", ""),
        active=bool(request.GET.get("active")),
    )


@login_required
@require_GET
@manager_required
def hold_list(request: HttpRequest) -> HttpResponse:
    """The holds behind a dashboard figure, keyset-paged, with CSV export."""
    form = _form(request)
    if not form.is_valid():
        return render(request, "insights/holds.html", {"form": form, "page": None}, status=400)
    filters, drill = form.filters(), _drill(request)
    if request.GET.get("format") == "csv":
        holds = selectors.holds_behind(filters=filters, drill=drill)
        return csv_response(
            "holds.csv",
            [
                "hold",
                "order",
                "customer",
                "reason",
                "queue",
                "state",
                "value at risk",
                "currency",
                zoned("raised"),
                zoned("resolved"),
            ],
            (
                [
                    h.pk,
                    h.order.number,
                    h.order.customer.name,
                    h.reason.code,
                    h.queue,
                    h.state,
                    h.value_at_risk,
                    h.order.currency,
                    h.raised_at,
                    h.resolved_at,
                ]
                for h in holds.iterator(chunk_size=2000)
            ),
        )
    page = selectors.holds_behind_page(
        filters=filters, drill=drill, cursor=request.GET.get("after"), size=settings.O2C_PAGE_SIZE
    )
    return render_paged_list(request, "insights/holds.html", {"form": form, "page": page})


@login_required
@require_GET
@manager_required
def process_flow(request: HttpRequest) -> HttpResponse:
    """The directly-follows graph of order states and the top variants, from history."""
    form = _form(request)
    if not form.is_valid():
        return render(request, "insights/flow.html", {"form": form}, status=400)
    filters = form.filters()
    mined = selectors.process_flow(filters=filters)
    edges, found = mined.edges, mined.variants
    if request.GET.get("format") == "csv":
        if request.GET.get("table") == "variants":
            return csv_response(
                "variants.csv",
                ["path", "orders", "rework"],
                ([" > ".join(v.path), v.count, "yes" if v.rework else ""] for v in found),
            )
        return csv_response(
            "flow.csv",
            ["from", "to", "transitions", "median hours"],
            (
                [
                    e.source or "(start)",
                    e.target,
                    e.count,
                    f"{e.median_seconds / 3600:.2f}" if e.median_seconds is not None else "",
                ]
                for e in edges
            ),
        )
    peak = max((e.count for e in edges), default=0) or 1
    total = sum(v.count for v in found) or 1
    graph = _flow_graph(edges, peak)
    return render(
        request,
        "insights/flow.html",
        {
            "form": form,
            "query": request.GET.urlencode(),
            "edges": [
                {
                    "edge": e,
                    "pct": round(100 * e.count / peak),
                    "median": _hours(timedelta(seconds=e.median_seconds))
                    if e.median_seconds is not None
                    else "—",
                    "url": order_link(filters, state=e.target) if e.target else "",
                }
                for e in edges
            ],
            "variants": [{"variant": v, "share": round(100 * v.count / total)} for v in found],
            "graph": graph,
            "rehold": selectors.rehold(filters=filters),
        },
    )


#: Node order of the drawn graph: the lifecycle, left to right.
LIFECYCLE = [state for state, _label in OrderState.choices]
NODE_GAP, BASELINE = 110, 150


def _flow_graph(edges: list, peak: int) -> dict:
    """Nodes on a line in lifecycle order; forward transitions arc above, rework loops below, the
    stroke as wide as the share of transitions."""
    used = {e.target for e in edges} | {e.source for e in edges if e.source}
    nodes = [state for state in LIFECYCLE if state in used]
    x_of = {state: 50 + i * NODE_GAP for i, state in enumerate(nodes)}
    arcs = []
    for e in edges:
        if not e.source or e.source not in x_of:
            continue
        x1, x2 = x_of[e.source], x_of[e.target]
        lift = min(130, 25 + abs(x2 - x1) / 4) * (-1 if x2 > x1 else 1)
        arcs.append(
            {
                "d": f"M {x1} {BASELINE} Q {(x1 + x2) / 2} {BASELINE + 2 * lift} {x2} {BASELINE}",
                "width": 1 + round(9 * e.count / peak),
                "label_x": (x1 + x2) / 2,
                "label_y": BASELINE + lift,
                "back": x2 < x1,
                "edge": e,
            }
        )
    return {
        "nodes": [{"state": state, "x": x} for state, x in x_of.items()],
        "arcs": arcs,
        "width": 100 + NODE_GAP * max(len(nodes) - 1, 0),
        "height": 2 * BASELINE,
        "baseline": BASELINE,
    }
