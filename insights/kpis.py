"""Process KPIs over a date range and filters. Every figure is one aggregate SQL query over the
daily slices of ``insights.models`` (kept current by ``insights.rollups``), so a month costs a
few thousand rows whatever the order count; queue aging and dead letters read live data.
Percentiles are nearest-rank over duration histograms, at the resolution ``rollups`` documents.

Scope: orders received in the date range (and the chosen channel, segment, territory); their
holds; invoices created in the range for customers in scope; dead letters received in the range.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Count, DateField, F, Q, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils import timezone

from core.money import CENT, ZERO
from exceptions.models import Hold, HoldReason
from integrations.models import InboundMessage, InboundState
from orders.models import Order

from . import rollups
from .models import ActiveHoldSlice, DailyFigure, Figure

#: Active-hold age buckets: (label, lower bound, upper bound or None).
AGING_BUCKETS = [
    ("0–4 h", timedelta(0), timedelta(hours=4)),
    ("4–24 h", timedelta(hours=4), timedelta(hours=24)),
    ("1–3 d", timedelta(days=1), timedelta(days=3)),
    ("> 3 d", timedelta(days=3), None),
]


@dataclass(frozen=True)
class KpiFilters:
    start: date
    end: date
    channel: str = ""
    segment: str = ""
    territory: str = ""

    # Days are TIME_ZONE's, as the slices' are, whoever is reading (not the reader's zone).
    @property
    def since(self) -> datetime:
        return timezone.make_aware(
            datetime.combine(self.start, time.min), timezone.get_default_timezone()
        )

    @property
    def until(self) -> datetime:
        return timezone.make_aware(
            datetime.combine(self.end + timedelta(days=1), time.min),
            timezone.get_default_timezone(),
        )


def orders_in_scope(filters: KpiFilters) -> QuerySet[Order]:
    queryset = Order.objects.filter(received_at__gte=filters.since, received_at__lt=filters.until)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.segment:
        queryset = queryset.filter(customer__segment=filters.segment)
    if filters.territory:
        queryset = queryset.filter(customer__territory=filters.territory)
    return queryset


def holds_in_scope(filters: KpiFilters) -> QuerySet[Hold]:
    return Hold.objects.filter(order__in=orders_in_scope(filters).values("pk"))


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


# --- Reading the slices ----------------------------------------------------------------------


def slices(model, filters: KpiFilters) -> QuerySet:
    queryset = model.objects.filter(day__gte=filters.start, day__lte=filters.end)
    for dimension in ("channel", "segment", "territory"):
        if value := getattr(filters, dimension):
            queryset = queryset.filter(**{dimension: value})
    return queryset


def _figures(filters: KpiFilters, *figures: str) -> QuerySet[DailyFigure]:
    return slices(DailyFigure, filters).filter(figure__in=figures)


def _totals(filters: KpiFilters, *figures: str) -> dict[str, int]:
    rows = _figures(filters, *figures).values("figure").annotate(n=Sum("count")).order_by()
    totals = {row["figure"]: int(row["n"]) for row in rows}
    return {figure: totals.get(figure, 0) for figure in figures}


#: Nearest-rank percentiles as fractions, so SQL compares integers: (numerator, denominator).
MEDIAN, P90 = (1, 2), (9, 10)


def percentiles(rows: QuerySet, keys: tuple[str, ...]) -> dict[tuple, dict]:
    """Median and p90 of histogram rows (``bucket``, ``count``) per ``keys``, in one SQL
    statement: the smallest bucket whose running count reaches p × n (nearest rank).
    {key values: {"n", "median", "p90"}}, values in seconds; rows without a bucket are counted
    in n, and a group with no bucket at all has no percentiles."""
    buckets, params = (
        rows.values(*keys, "bucket").annotate(n=Sum("count")).order_by().query.sql_with_params()
    )
    part = ", ".join(keys)
    picks = ", ".join(
        f"MIN(CASE WHEN cum * {den} >= timed * {num} THEN bucket END)" for num, den in (MEDIAN, P90)
    )
    # Interpolated: the ORM's own compiled query, its column aliases and integer constants;
    # values stay parameters. Rows without a bucket count in SUM(n) but not in the ranks.
    sql = f"""
        WITH h AS ({buckets}),
        c AS (
            SELECT {part}, bucket, n,
                   SUM(CASE WHEN bucket IS NULL THEN 0 ELSE n END) OVER (
                       PARTITION BY {part} ORDER BY bucket ROWS UNBOUNDED PRECEDING
                   ) AS cum,
                   SUM(CASE WHEN bucket IS NULL THEN 0 ELSE n END) OVER (PARTITION BY {part}) AS timed
            FROM h
        )
        SELECT {part}, SUM(n), {picks} FROM c GROUP BY {part} ORDER BY {part}
    """  # noqa: S608
    width = len(keys)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            tuple(row[:width]): {
                "n": int(row[width]),
                "median": None if row[width + 1] is None else int(row[width + 1]),
                "p90": None if row[width + 2] is None else int(row[width + 2]),
            }
            for row in cursor.fetchall()
        }


def _histogram(filters: KpiFilters, figure: str) -> dict[str, dict]:
    """Percentiles of one histogram figure per hold category ("" when it has none)."""
    found = percentiles(_figures(filters, figure), ("category",))
    return {key[0]: spread for key, spread in found.items()}


def _span(seconds: int | None) -> timedelta | None:
    return timedelta(seconds=seconds) if seconds is not None else None


# --- The figures -----------------------------------------------------------------------------


def touchless(filters: KpiFilters) -> dict:
    """Orders that never had a hold, of the orders that reached a decision (not still received)."""
    totals = _totals(filters, Figure.DECIDED, Figure.TOUCHLESS)
    total, clean = totals[Figure.DECIDED], totals[Figure.TOUCHLESS]
    return {"total": total, "touchless": clean, "rate": _ratio(clean, total)}


def hold_rates(filters: KpiFilters) -> list[dict]:
    """Per category and reason: holds raised, orders held, and the share of orders in scope."""
    orders = _totals(filters, Figure.ORDERS)[Figure.ORDERS]
    rows = (
        _figures(filters, Figure.HOLDS, Figure.HELD_BY_REASON)
        .values("category", "reason", "queue")
        .annotate(
            holds=Sum("count", filter=Q(figure=Figure.HOLDS)),
            orders=Sum("count", filter=Q(figure=Figure.HELD_BY_REASON)),
        )
        .order_by("-holds", "reason")
    )
    # A second small query rather than a join: the join would repeat for every slice row.
    described = dict(
        HoldReason.objects.filter(code__in={row["reason"] for row in rows}).values_list(
            "code", "description"
        )
    )
    return [
        {
            "category": row["category"],
            "reason__code": row["reason"],
            "reason__description": described.get(row["reason"], ""),
            "queue": row["queue"],
            "holds": int(row["holds"] or 0),
            "orders": int(row["orders"] or 0),
            "rate": _ratio(int(row["orders"] or 0), orders),
        }
        for row in rows
    ]


def resolution_times(filters: KpiFilters) -> list[dict]:
    """Median and p90 from raised to resolved, per category, for resolved holds."""
    return [
        {
            "category": category,
            "resolved": spread["n"],
            "median": _span(spread["median"]),
            "p90": _span(spread["p90"]),
        }
        for category, spread in _histogram(filters, Figure.RESOLUTION).items()
    ]


def release_cycle(filters: KpiFilters) -> dict:
    """Received to released: median and p90, for orders released."""
    spread = _histogram(filters, Figure.RELEASE_CYCLE).get("", {})
    return {
        "released": spread.get("n", 0),
        "median": _span(spread.get("median")),
        "p90": _span(spread.get("p90")),
    }


def queue_aging(filters: KpiFilters, *, now: datetime | None = None) -> list[dict]:
    """Active holds per queue by age bucket, with SLA breaches and the value at risk per
    currency, against the clock now; ages and due times are read to the hour (see
    ActiveHoldSlice). ``value`` is the amount in the queue's one currency (None across
    several)."""
    # Slices hold hour starts: comparing them with the clock half an hour back reads each hour
    # at its middle.
    clock = (now or timezone.now()) - timedelta(minutes=30)
    buckets = {
        f"b{i}": Sum(
            "holds",
            filter=Q(raised_hour__lte=clock - low)
            & (Q(raised_hour__gt=clock - high) if high is not None else Q()),
        )
        for i, (_label, low, high) in enumerate(AGING_BUCKETS)
    }
    rows = (
        slices(ActiveHoldSlice, filters)
        .values("queue", "currency")
        .annotate(
            active=Sum("holds"),
            breached=Sum("holds", filter=Q(due_hour__lt=clock)),
            value=Sum("value"),
            **buckets,
        )
        .order_by("queue", "currency")
    )
    queues: dict[str, dict] = {}
    for row in rows:
        queue = queues.setdefault(
            row["queue"],
            {
                "queue": row["queue"],
                "active": 0,
                "breached": 0,
                "value_by_currency": {},
                "buckets": [0] * len(AGING_BUCKETS),
            },
        )
        value = (row["value"] or ZERO).quantize(CENT)
        queue["active"] += int(row["active"])
        queue["breached"] += int(row["breached"] or 0)
        queue["value_by_currency"][row["currency"]] = value
        for i in range(len(AGING_BUCKETS)):
            queue["buckets"][i] += int(row[f"b{i}"] or 0)
    return [
        {**queue, "value": one_currency(queue["value_by_currency"])} for queue in queues.values()
    ]


def value_on_hold_by_currency(filters: KpiFilters) -> dict[str, Decimal]:
    """The total of orders in scope that are on hold now, per currency: {"USD": 500.00}."""
    rows = (
        _figures(filters, Figure.ON_HOLD)
        .values("currency")
        .annotate(v=Sum("amount"))
        .order_by("currency")
    )
    return {row["currency"]: (row["v"] or ZERO).quantize(CENT) for row in rows}


def one_currency(by_currency: dict[str, Decimal]) -> Decimal | None:
    """The amount when there is one currency (zero when none); None when there are several,
    which are never summed."""
    if len(by_currency) > 1:
        return None
    return next(iter(by_currency.values()), ZERO.quantize(CENT))


def value_on_hold(filters: KpiFilters) -> Decimal | None:
    """The value on hold in its one currency (None across several: see the per-currency one)."""
    return one_currency(value_on_hold_by_currency(filters))


def rehold(filters: KpiFilters) -> dict:
    """Orders held again after an earlier hold of theirs was resolved: rework."""
    totals = _totals(filters, Figure.HELD, Figure.REHELD)
    held, reheld = totals[Figure.HELD], totals[Figure.REHELD]
    return {"held_orders": held, "reheld_orders": reheld, "rate": _ratio(reheld, held)}


def shipment_to_invoice(filters: KpiFilters) -> dict:
    """Seconds from shipment to invoice, median and p90, for invoices created in the range."""
    spread = _histogram(filters, Figure.INVOICE_LATENCY).get("", {})
    return {
        "invoices": spread.get("n", 0),
        "median": spread.get("median"),
        "p90": spread.get("p90"),
    }


def first_pass(filters: KpiFilters) -> dict:
    """Released invoices never corrected by a credit memo."""
    totals = _totals(filters, Figure.INVOICES_RELEASED, Figure.INVOICES_CLEAN)
    released, clean = totals[Figure.INVOICES_RELEASED], totals[Figure.INVOICES_CLEAN]
    return {"released": released, "clean": clean, "rate": _ratio(clean, released)}


def dead_letters(filters: KpiFilters) -> list[dict]:
    return list(
        InboundMessage.objects.filter(
            state=InboundState.DEAD,
            received_at__gte=filters.since,
            received_at__lt=filters.until,
        )
        .values("connector__name", "stream")
        .annotate(n=Count("pk"))
        .order_by("-n", "connector__name", "stream")
    )


def daily_trend(filters: KpiFilters, *, by: str = "day") -> list[dict]:
    """Per day (or week, starting Monday): orders received, touchless, held."""
    period = TruncWeek("day", output_field=DateField()) if by == "week" else F("day")
    rows = (
        _figures(filters, Figure.ORDERS, Figure.HELD)
        .values(period=period)
        .annotate(
            orders=Sum("count", filter=Q(figure=Figure.ORDERS)),
            held=Sum("count", filter=Q(figure=Figure.HELD)),
        )
        .order_by("period")
    )
    return [
        {
            "day": row["period"],
            "orders": int(row["orders"] or 0),
            "held": int(row["held"] or 0),
            "touchless": int(row["orders"] or 0) - int(row["held"] or 0),
        }
        for row in rows
    ]


@dataclass
class Dashboard:
    filters: KpiFilters
    as_of: datetime | None = None  # when the slices were last refreshed
    touchless: dict = field(default_factory=dict)
    hold_rates: list = field(default_factory=list)
    resolution_times: list = field(default_factory=list)
    release_cycle: dict = field(default_factory=dict)
    queue_aging: list = field(default_factory=list)
    value_on_hold_by_currency: dict = field(default_factory=dict)
    rehold: dict = field(default_factory=dict)
    shipment_to_invoice: dict = field(default_factory=dict)
    first_pass: dict = field(default_factory=dict)
    dead_letters: list = field(default_factory=list)
    trend: list = field(default_factory=list)
    #: ``cash_kpis.CashFigures``, which ``selectors.dashboard`` adds (cash_kpis reads this
    #: module's helpers, so this module does not import it).
    cash: object | None = None
    #: ``receivable_kpis.ReceivableFigures``, added only where asked for (CSV of its tables).
    receivables: object | None = None

    @property
    def value_on_hold(self) -> Decimal | None:
        return one_currency(self.value_on_hold_by_currency)


def dashboard(filters: KpiFilters, *, by: str = "day") -> Dashboard:
    return Dashboard(
        filters=filters,
        as_of=rollups.as_of(),
        touchless=touchless(filters),
        hold_rates=hold_rates(filters),
        resolution_times=resolution_times(filters),
        release_cycle=release_cycle(filters),
        queue_aging=queue_aging(filters),
        value_on_hold_by_currency=value_on_hold_by_currency(filters),
        rehold=rehold(filters),
        shipment_to_invoice=shipment_to_invoice(filters),
        first_pass=first_pass(filters),
        dead_letters=dead_letters(filters),
        trend=daily_trend(filters, by=by),
    )
