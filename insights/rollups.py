"""Keeps the dashboard's summary tables (``insights.models``) current.

``refresh()`` finds the days whose records changed since the last refresh, from the history
tables (every change to an order, hold, customer, invoice or credit memo writes a history row,
indexed by its date), and recomputes those days' slices from the source tables: a handful of
GROUP BY queries per run, in SQL, never a Python loop over source rows. Beat runs it every minute;
``rebuild()`` recomputes everything (nightly, after a bulk load, or after TIME_ZONE changes, since
days are local days).

A history row is dated when it is written, not when its transaction commits, so each refresh
looks back ``LOOKBACK`` before the previous watermark: a change committed late is still seen, at
the cost of recomputing a day twice. The nightly rebuild catches anything slower than that.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Mod, TruncDate, TruncHour
from django.utils import timezone

from billing.models import FINAL_STATES, CreditMemo, Invoice, InvoiceState
from exceptions.models import ACTIVE_STATES, Hold
from orders.models import Customer, Order, OrderState

from .models import ActiveHoldSlice, DailyFigure, Figure, RollupState

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=5)
BATCH = 5000


class Seconds(Func):
    """Whole seconds from ``start`` to ``end``, never negative (a clock skewed upstream counts
    as zero). SQLite has no interval type: it subtracts Julian days, rounded back to the second."""

    output_field = BigIntegerField()

    def __init__(self, end, start):
        super().__init__(end, start)

    def as_sql(self, compiler, connection, **extra):
        end, end_params = compiler.compile(self.source_expressions[0])
        start, start_params = compiler.compile(self.source_expressions[1])
        if connection.vendor == "postgresql":
            sql = f"GREATEST(ROUND(EXTRACT(EPOCH FROM ({end} - {start}))), 0)::bigint"
        else:
            sql = f"MAX(CAST(ROUND((julianday({end}) - julianday({start})) * 86400) AS INTEGER), 0)"
        return sql, [*end_params, *start_params]


def _bucketed(queryset, seconds):
    """Annotates ``bucket``, the histogram bucket of the duration ``seconds``: exact below an
    hour, to the minute below a day, to ten minutes below 30 days, to the hour beyond (each read
    as its start). Finer than the dashboard shows (tenths of an hour), and bounded: a slice holds
    a few thousand buckets at most, however many records it counts."""
    return queryset.annotate(_s=seconds).annotate(
        bucket=Case(
            When(Q(_s__lt=3600), then=F("_s")),
            When(Q(_s__lt=86400), then=F("_s") - Mod("_s", 60)),
            When(Q(_s__lt=30 * 86400), then=F("_s") - Mod("_s", 600)),
            default=F("_s") - Mod("_s", 3600),
            output_field=BigIntegerField(),
        )
    )


# --- Which days changed ----------------------------------------------------------------------


def _local_days(queryset, field: str) -> set[date]:
    return set(
        queryset.annotate(_day=TruncDate(field))
        .values_list("_day", flat=True)
        .distinct()
        .order_by()
    )


def changed_days(since: datetime) -> set[date]:
    """Local days whose slices may differ from what was computed before ``since``."""
    orders = Order.history.filter(history_date__gte=since)
    holds = Hold.history.filter(history_date__gte=since).values("order_id")
    customers = Customer.history.filter(history_date__gte=since).values("id")
    invoices = Invoice.history.filter(history_date__gte=since)
    memos = CreditMemo.history.filter(history_date__gte=since).values("invoice_id")
    return (
        _local_days(orders, "received_at")
        | _local_days(Order.objects.filter(pk__in=holds), "received_at")
        | _local_days(Order.objects.filter(customer__in=customers), "received_at")
        | _local_days(invoices, "created_at")
        | _local_days(Invoice.objects.filter(customer__in=customers), "created_at")
        | _local_days(Invoice.objects.filter(pk__in=memos), "created_at")
    )


def _spans(days: Iterable[date]) -> list[tuple[datetime, datetime]]:
    """Contiguous runs of days as [since, until) instants, so each source query is a few range
    conditions its date index can serve."""
    spans: list[list[date]] = []
    for day in sorted(days):
        if spans and day == spans[-1][1] + timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    aware = timezone.make_aware
    return [
        (aware(datetime.combine(a, time.min)), aware(datetime.combine(b + timedelta(1), time.min)))
        for a, b in spans
    ]


def _within(field: str, spans) -> Q:
    scope = Q(pk__in=[])
    for since, until in spans:
        scope |= Q(**{f"{field}__gte": since, f"{field}__lt": until})
    return scope


# --- Computing slices ------------------------------------------------------------------------


def _slice(prefix: str = "", *, day: str, channel: str, customer: str) -> dict:
    """The grouping columns of a slice, as ORM expressions from the row's point of view."""
    return {
        "day": TruncDate(day),
        "s_channel": Coalesce(F(f"{prefix}{channel}"), Value("")),
        "s_segment": F(f"{customer}__segment"),
        "s_territory": F(f"{customer}__territory"),
    }


SLICE = ("day", "s_channel", "s_segment", "s_territory")


def _figure(row: dict, figure: str, count: int, *, amount=0, **keys) -> DailyFigure:
    return DailyFigure(
        day=row["day"],
        channel=row["s_channel"],
        segment=row["s_segment"],
        territory=row["s_territory"],
        figure=figure,
        count=count,
        amount=amount or 0,
        **keys,
    )


def _order_figures(scope: Q) -> Iterable[DailyFigure]:
    orders = Order.objects.filter(scope)
    of_order = Hold.objects.filter(order=OuterRef("pk"))
    resolved_before = Hold.objects.filter(
        order=OuterRef("order"), resolved_at__isnull=False, resolved_at__lte=OuterRef("raised_at")
    ).exclude(pk=OuterRef("pk"))
    reheld = Hold.objects.filter(order=OuterRef("pk")).filter(Exists(resolved_before))
    decided = ~Q(state=OrderState.RECEIVED)
    on_hold = Q(state=OrderState.ON_HOLD)
    rows = (
        orders.values(**_slice(day="received_at", channel="channel", customer="customer"))
        .annotate(
            orders=Count("pk"),
            decided=Count("pk", filter=decided),
            touchless=Count("pk", filter=decided & ~Q(Exists(of_order))),
            held=Count("pk", filter=Q(Exists(of_order))),
            reheld=Count("pk", filter=Q(Exists(reheld))),
            on_hold=Count("pk", filter=on_hold),
            on_hold_value=Sum("total", filter=on_hold),
        )
        .order_by()
    )
    for row in rows:
        for figure in (Figure.ORDERS, Figure.DECIDED, Figure.TOUCHLESS, Figure.HELD, Figure.REHELD):
            if row[figure]:
                yield _figure(row, figure, row[figure])
        if row["on_hold"]:
            yield _figure(row, Figure.ON_HOLD, row["on_hold"], amount=row["on_hold_value"])
    released = _bucketed(
        orders.filter(released_at__isnull=False), Seconds(F("released_at"), F("received_at"))
    )
    for row in (
        released.values(
            **_slice(day="received_at", channel="channel", customer="customer"), b=F("bucket")
        )
        .annotate(n=Count("pk"))
        .order_by()
    ):
        yield _figure(row, Figure.RELEASE_CYCLE, row["n"], bucket=row["b"])


def _hold_figures(scope: Q) -> Iterable[DailyFigure]:
    holds = Hold.objects.filter(order__in=Order.objects.filter(scope).values("pk"))
    shape = _slice(
        "order__", day="order__received_at", channel="channel", customer="order__customer"
    )
    for row in (
        holds.values(
            **shape, r_category=F("category"), r_reason=F("reason__code"), r_queue=F("queue")
        )
        .annotate(holds=Count("pk"), orders=Count("order", distinct=True))
        .order_by()
    ):
        keys = {"category": row["r_category"], "reason": row["r_reason"], "queue": row["r_queue"]}
        yield _figure(row, Figure.HOLDS, row["holds"], **keys)
        yield _figure(row, Figure.HELD_BY_REASON, row["orders"], **keys)
    resolved = _bucketed(
        holds.filter(resolved_at__isnull=False), Seconds(F("resolved_at"), F("raised_at"))
    )
    for row in (
        resolved.values(**shape, r_category=F("category"), b=F("bucket"))
        .annotate(n=Count("pk"))
        .order_by()
    ):
        yield _figure(row, Figure.RESOLUTION, row["n"], category=row["r_category"], bucket=row["b"])


def _invoice_figures(scope: Q) -> Iterable[DailyFigure]:
    invoices = Invoice.objects.filter(scope).exclude(
        state__in=[InvoiceState.VOID, InvoiceState.DRAFT]
    )
    shape = _slice("order__", day="created_at", channel="channel", customer="customer")
    final = Q(state__in=FINAL_STATES)
    corrected = Exists(CreditMemo.objects.filter(invoice=OuterRef("pk")))
    for row in (
        invoices.values(**shape)
        .annotate(
            released=Count("pk", filter=final), clean=Count("pk", filter=final & ~Q(corrected))
        )
        .order_by()
    ):
        if row["released"]:
            yield _figure(row, Figure.INVOICES_RELEASED, row["released"])
        if row["clean"]:
            yield _figure(row, Figure.INVOICES_CLEAN, row["clean"])
    latency = _bucketed(
        invoices.filter(shipment_to_invoice_seconds__isnull=False),
        ExpressionWrapper(F("shipment_to_invoice_seconds"), output_field=BigIntegerField()),
    )
    for row in latency.values(**shape, b=F("bucket")).annotate(n=Count("pk")).order_by():
        yield _figure(row, Figure.INVOICE_LATENCY, row["n"], bucket=row["b"])


def _active_slices(scope: Q) -> Iterable[ActiveHoldSlice]:
    holds = Hold.objects.filter(
        state__in=ACTIVE_STATES, order__in=Order.objects.filter(scope).values("pk")
    )
    shape = _slice(
        "order__", day="order__received_at", channel="channel", customer="order__customer"
    )
    rows = (
        holds.values(
            **shape,
            r_queue=F("queue"),
            r_raised=TruncHour("raised_at", tzinfo=UTC),
            r_due=TruncHour("due_at", tzinfo=UTC),
        )
        .annotate(holds=Count("pk"), value=Sum("value_at_risk"))
        .order_by()
    )
    for row in rows:
        yield ActiveHoldSlice(
            day=row["day"],
            channel=row["s_channel"],
            segment=row["s_segment"],
            territory=row["s_territory"],
            queue=row["r_queue"],
            raised_hour=row["r_raised"],
            due_hour=row["r_due"],
            holds=row["holds"],
            value=row["value"] or 0,
        )


def _save(model, rows: Iterable) -> int:
    batch, written = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            written += len(model.objects.bulk_create(batch))
            batch = []
    return written + len(model.objects.bulk_create(batch))


def _recompute(days: set[date] | None) -> int:
    """Replace the slices of ``days`` (every day when None) with freshly computed ones."""
    if days is None:
        orders = invoices = Q()
        DailyFigure.objects.all().delete()
        ActiveHoldSlice.objects.all().delete()
    else:
        spans = _spans(days)
        orders, invoices = _within("received_at", spans), _within("created_at", spans)
        DailyFigure.objects.filter(day__in=days).delete()
        ActiveHoldSlice.objects.filter(day__in=days).delete()
    return (
        _save(DailyFigure, _order_figures(orders))
        + _save(DailyFigure, _hold_figures(orders))
        + _save(DailyFigure, _invoice_figures(invoices))
        + _save(ActiveHoldSlice, _active_slices(orders))
    )


def _locked_state() -> RollupState:
    state, _ = RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=state.pk)


def rebuild() -> int:
    """Recompute every slice. Returns the number of rows written."""
    started = timezone.now()
    with transaction.atomic():
        state = _locked_state()
        written = _recompute(None)
        state.refreshed_at = state.rebuilt_at = state.watermark = started
        state.days_refreshed = 0
        state.save()
    if connection.vendor == "postgresql":
        # Fresh statistics, so the dashboard's first queries plan for the new row counts.
        with connection.cursor() as cursor:
            cursor.execute(
                f"ANALYZE {DailyFigure._meta.db_table}, {ActiveHoldSlice._meta.db_table}"
            )
    logger.info("KPI slices rebuilt: %d rows", written)
    return written


def refresh() -> set[date] | None:
    """Recompute the days changed since the last refresh: returns them, or None when there was
    no earlier refresh and everything was computed."""
    started = timezone.now()
    with transaction.atomic():
        state = _locked_state()
        days = None if state.watermark is None else changed_days(state.watermark - LOOKBACK)
        if days is None or days:
            _recompute(days)
        if days is None:
            state.rebuilt_at = started
        state.refreshed_at = state.watermark = started
        state.days_refreshed = len(days) if days is not None else 0
        state.save()
    if days:
        logger.info("KPI slices refreshed for %d days", len(days))
    return days


def refresh_days(days: Iterable[date]) -> None:
    """Recompute the given days now (tests, and after a targeted data fix)."""
    with transaction.atomic():
        _locked_state()
        _recompute(set(days))


def as_of() -> datetime | None:
    return RollupState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
