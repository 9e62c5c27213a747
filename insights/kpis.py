"""Process KPIs, computed in SQL: every figure is an aggregate query (no Python loop over rows),
so it stays fast on a million orders. Percentiles use the nearest-rank method with window
functions, which PostgreSQL and SQLite both run.

Scope: orders received in the date range (and the chosen channel, segment, territory); their
holds; invoices created in the range for customers in scope; dead letters received in the range.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import Ceil, RowNumber, TruncDate, TruncWeek
from django.utils import timezone

from billing.models import CreditMemo, Invoice, InvoiceState
from exceptions.models import ACTIVE_STATES, Hold
from integrations.models import InboundMessage, InboundState
from orders.models import Order, OrderState

CENT = Decimal("0.01")
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

    @property
    def since(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.start, time.min))

    @property
    def until(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))


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


def invoices_in_scope(filters: KpiFilters) -> QuerySet[Invoice]:
    queryset = Invoice.objects.filter(
        created_at__gte=filters.since, created_at__lt=filters.until
    ).exclude(state__in=[InvoiceState.VOID, InvoiceState.DRAFT])
    if filters.segment:
        queryset = queryset.filter(customer__segment=filters.segment)
    if filters.territory:
        queryset = queryset.filter(customer__territory=filters.territory)
    if filters.channel:
        queryset = queryset.filter(order__channel=filters.channel)
    return queryset


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def percentiles(
    queryset: QuerySet, value, *, group: str | None = None, ps=(Decimal("0.5"), Decimal("0.9"))
) -> dict:
    """Nearest-rank percentiles of ``value`` per ``group`` (or overall under None), one SQL query
    per percentile: {group: {p: value}}."""
    rows = queryset.annotate(_v=value).filter(_v__isnull=False)
    partition = [F(group)] if group else []
    rows = rows.annotate(
        _rn=Window(RowNumber(), partition_by=partition, order_by=[F("_v").asc(), F("pk").asc()]),
        _n=Window(Count("pk"), partition_by=partition),
    )
    result: dict = {}
    for p in ps:
        picked = rows.filter(_rn=Ceil(F("_n") * p)).values(*([group] if group else []), "_v")
        for row in picked:
            result.setdefault(row[group] if group else None, {})[p] = row["_v"]
    return result


def _spread(values: dict | None) -> dict:
    values = values or {}
    return {"median": values.get(Decimal("0.5")), "p90": values.get(Decimal("0.9"))}


# --- The figures -----------------------------------------------------------------------------


def touchless(filters: KpiFilters) -> dict:
    """Orders that never had a hold, of the orders that reached a decision (not still received)."""
    counts = (
        orders_in_scope(filters)
        .exclude(state=OrderState.RECEIVED)
        .aggregate(
            total=Count("pk"),
            touchless=Count("pk", filter=~Q(Exists(Hold.objects.filter(order=OuterRef("pk"))))),
        )
    )
    return {**counts, "rate": _ratio(counts["touchless"], counts["total"])}


def hold_rates(filters: KpiFilters) -> list[dict]:
    """Per category and reason: holds raised, orders held, and the share of orders in scope."""
    orders = orders_in_scope(filters).count()
    rows = (
        holds_in_scope(filters)
        .values("category", "reason__code", "reason__description", "queue")
        .annotate(holds=Count("pk"), orders=Count("order", distinct=True))
        .order_by("-holds", "reason__code")
    )
    return [{**row, "rate": _ratio(row["orders"], orders)} for row in rows]


def resolution_times(filters: KpiFilters) -> list[dict]:
    """Median and p90 hours from raised to resolved, per category, for resolved holds."""
    resolved = holds_in_scope(filters).filter(resolved_at__isnull=False)
    duration = ExpressionWrapper(F("resolved_at") - F("raised_at"), output_field=DurationField())
    spreads = percentiles(resolved, duration, group="category")
    counts = dict(resolved.values_list("category").annotate(n=Count("pk")).order_by())
    return [
        {
            "category": category,
            "resolved": counts.get(category, 0),
            **_spread(spreads.get(category)),
        }
        for category in sorted(counts)
    ]


def release_cycle(filters: KpiFilters) -> dict:
    """Received to released: median and p90, for orders released."""
    released = orders_in_scope(filters).filter(released_at__isnull=False)
    duration = ExpressionWrapper(F("released_at") - F("received_at"), output_field=DurationField())
    return {"released": released.count(), **_spread(percentiles(released, duration).get(None))}


def queue_aging(filters: KpiFilters, *, now: datetime | None = None) -> list[dict]:
    """Active holds per queue by age bucket, with SLA breaches and value on hold."""
    now = now or timezone.now()
    buckets = {
        f"b{i}": Count(
            "pk",
            filter=Q(raised_at__lte=now - low)
            & (Q(raised_at__gt=now - high) if high is not None else Q()),
        )
        for i, (_label, low, high) in enumerate(AGING_BUCKETS)
    }
    rows = (
        holds_in_scope(filters)
        .filter(state__in=ACTIVE_STATES)
        .values("queue")
        .annotate(
            active=Count("pk"),
            breached=Count("pk", filter=Q(due_at__lt=now)),
            value=Sum("value_at_risk"),
            **buckets,
        )
        .order_by("queue")
    )
    return [
        {
            "queue": row["queue"],
            "active": row["active"],
            "breached": row["breached"],
            "value": (row["value"] or Decimal("0")).quantize(CENT),
            "buckets": [row[f"b{i}"] for i in range(len(AGING_BUCKETS))],
        }
        for row in rows
    ]


def value_on_hold(filters: KpiFilters) -> Decimal:
    """The total of orders in scope that are on hold now."""
    total = orders_in_scope(filters).filter(state=OrderState.ON_HOLD).aggregate(v=Sum("total"))["v"]
    return (total or Decimal("0")).quantize(CENT)


def rehold(filters: KpiFilters) -> dict:
    """Orders held again after an earlier hold of theirs was resolved: rework."""
    held = holds_in_scope(filters)
    earlier = Hold.objects.filter(
        order=OuterRef("order"), resolved_at__isnull=False, resolved_at__lte=OuterRef("raised_at")
    ).exclude(pk=OuterRef("pk"))
    counts = held.aggregate(
        held_orders=Count("order", distinct=True),
        reheld_orders=Count("order", distinct=True, filter=Q(Exists(earlier))),
    )
    return {**counts, "rate": _ratio(counts["reheld_orders"], counts["held_orders"])}


def shipment_to_invoice(filters: KpiFilters) -> dict:
    invoices = invoices_in_scope(filters).filter(shipment_to_invoice_seconds__isnull=False)
    spread = _spread(percentiles(invoices, F("shipment_to_invoice_seconds")).get(None))
    return {"invoices": invoices.count(), **spread}


def first_pass(filters: KpiFilters) -> dict:
    """Released invoices never corrected by a credit memo."""
    released = invoices_in_scope(filters).filter(
        state__in=[InvoiceState.RELEASED, InvoiceState.POSTED, InvoiceState.PAID]
    )
    counts = released.aggregate(
        released=Count("pk"),
        clean=Count("pk", filter=~Q(Exists(CreditMemo.objects.filter(invoice=OuterRef("pk"))))),
    )
    return {**counts, "rate": _ratio(counts["clean"], counts["released"])}


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
    has_hold = Exists(Hold.objects.filter(order=OuterRef("pk")))
    bucket = TruncWeek("received_at") if by == "week" else TruncDate("received_at")
    rows = (
        orders_in_scope(filters)
        .annotate(day=bucket)
        .values("day")
        .annotate(orders=Count("pk"), held=Count("pk", filter=Q(has_hold)))
        .order_by("day")
    )
    return [{**row, "touchless": row["orders"] - row["held"]} for row in rows]


@dataclass
class Dashboard:
    filters: KpiFilters
    touchless: dict = field(default_factory=dict)
    hold_rates: list = field(default_factory=list)
    resolution_times: list = field(default_factory=list)
    release_cycle: dict = field(default_factory=dict)
    queue_aging: list = field(default_factory=list)
    value_on_hold: Decimal = Decimal("0")
    rehold: dict = field(default_factory=dict)
    shipment_to_invoice: dict = field(default_factory=dict)
    first_pass: dict = field(default_factory=dict)
    dead_letters: list = field(default_factory=list)
    trend: list = field(default_factory=list)


def dashboard(filters: KpiFilters, *, by: str = "day") -> Dashboard:
    return Dashboard(
        filters=filters,
        touchless=touchless(filters),
        hold_rates=hold_rates(filters),
        resolution_times=resolution_times(filters),
        release_cycle=release_cycle(filters),
        queue_aging=queue_aging(filters),
        value_on_hold=value_on_hold(filters),
        rehold=rehold(filters),
        shipment_to_invoice=shipment_to_invoice(filters),
        first_pass=first_pass(filters),
        dead_letters=dead_letters(filters),
        trend=daily_trend(filters, by=by),
    )
