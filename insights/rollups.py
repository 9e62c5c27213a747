"""Keeps the dashboard's summary tables (``insights.models``) current.

``refresh()`` finds the days whose records changed since the last refresh, from the history
tables (every change to an order, hold, customer, invoice, credit memo, payment, application of
cash or unapplied cash writes a history row, indexed by its date), and recomputes those days'
slices from the source tables: a handful of GROUP BY queries per run, in SQL, never a Python loop
over source rows. Beat runs it every minute;
``rebuild()`` recomputes everything (nightly, after a bulk load, or after TIME_ZONE changes, since
days are local days).

A history row is dated when it is written, not when its transaction commits, so each refresh
looks back ``LOOKBACK`` before the previous refresh: a change committed late is still seen, at
the cost of recomputing a day twice. The nightly rebuild catches anything slower than that.
"""

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, TruncDate, TruncHour
from django.utils import timezone

from billing.models import FINAL_STATES, CreditMemo, Invoice, InvoiceState
from exceptions.models import ACTIVE_STATES, Hold
from orders.models import Customer, Order, OrderState
from receivables.models import Application, Payment, UnappliedCash

from . import cash_slices
from .durations import BUCKET_SQL, Seconds, bucketed
from .models import (
    ActiveHoldSlice,
    DailyFigure,
    Figure,
    FlowStep,
    FlowVariant,
    RollupState,
    UnappliedCashSlice,
)

SLICES = (DailyFigure, ActiveHoldSlice, FlowStep, FlowVariant, UnappliedCashSlice)

logger = logging.getLogger(__name__)

LOOKBACK = timedelta(minutes=5)
BATCH = 5000
REBUILD_DAYS = 31


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
        | _cash_days(since, customers)
    )


def _cash_days(since: datetime, customers) -> set[date]:
    """Days of payments (received), applications (made) and unapplied cash (put on account)
    that changed, or whose customer did (a payer identified later moves its payment's slice)."""
    return (
        _local_days(Payment.history.filter(history_date__gte=since), "received_at")
        | _local_days(Payment.objects.filter(customer__in=customers), "received_at")
        | _local_days(Application.history.filter(history_date__gte=since), "applied_at")
        | _local_days(Application.objects.filter(invoice__customer__in=customers), "applied_at")
        | _local_days(UnappliedCash.history.filter(history_date__gte=since), "created_at")
        | _local_days(UnappliedCash.objects.filter(customer__in=customers), "created_at")
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


def _slice(*, day: str, channel: str, customer: str) -> dict:
    """The grouping columns of a slice, as ORM expressions from the row's point of view (a
    consolidated invoice has no order, so no channel: "")."""
    return {
        "day": TruncDate(day),
        "s_channel": Coalesce(F(channel), Value("")),
        "s_segment": F(f"{customer}__segment"),
        "s_territory": F(f"{customer}__territory"),
    }


def _figure(row: dict, figure: str, count: int, *, amount=0, **keys) -> DailyFigure:
    return DailyFigure(
        day=row["day"],
        channel=row["s_channel"],
        segment=row["s_segment"],
        territory=row["s_territory"],
        figure=figure,
        count=count,
        amount=amount or 0,
        currency=row.get("s_currency", ""),
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
    # Per currency too, so the value on hold is never a sum of two currencies; the counts still
    # add up across the currencies of a day.
    rows = (
        orders.values(
            **_slice(day="received_at", channel="channel", customer="customer"),
            s_currency=F("currency"),
        )
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
    released = bucketed(
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
    shape = _slice(day="order__received_at", channel="order__channel", customer="order__customer")
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
    resolved = bucketed(
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
    shape = _slice(day="created_at", channel="order__channel", customer="customer")
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
    latency = bucketed(
        invoices.filter(shipment_to_invoice_seconds__isnull=False),
        ExpressionWrapper(F("shipment_to_invoice_seconds"), output_field=BigIntegerField()),
    )
    for row in latency.values(**shape, b=F("bucket")).annotate(n=Count("pk")).order_by():
        yield _figure(row, Figure.INVOICE_LATENCY, row["n"], bucket=row["b"])


def _active_slices(scope: Q) -> Iterable[ActiveHoldSlice]:
    holds = Hold.objects.filter(
        state__in=ACTIVE_STATES, order__in=Order.objects.filter(scope).values("pk")
    )
    shape = _slice(day="order__received_at", channel="order__channel", customer="order__customer")
    rows = (
        holds.values(
            **shape,
            r_queue=F("queue"),
            r_currency=F("order__currency"),
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
            currency=row["r_currency"],
        )


# --- The process flow: steps between states, from the order history --------------------------


def _steps_cte(scope: Q) -> tuple[str, list]:
    """A step is a history row whose state differs from the order's previous row (edits that
    leave the state alone are not steps), with whole seconds since the previous row."""
    history = Order.history.model._meta.db_table
    orders, params = Order.objects.filter(scope).values("pk").query.sql_with_params()
    if connection.vendor == "postgresql":
        seconds = "ROUND(EXTRACT(EPOCH FROM (history_date - prev_date)))::bigint"
    else:
        seconds = "CAST(ROUND((julianday(history_date) - julianday(prev_date)) * 86400) AS INTEGER)"
    # Interpolated: table names, vendor constants and the ORM's own compiled scope query. Every
    # value (dates, filters) stays a bound parameter.
    sql = f"""
        WITH ordered AS (
            SELECT id, state, history_date, history_id,
                   LAG(state) OVER w AS prev_state,
                   LAG(history_date) OVER w AS prev_date
            FROM {history}
            WHERE id IN ({orders})
            WINDOW w AS (PARTITION BY id ORDER BY history_date, history_id)
        ),
        steps AS (
            SELECT id, prev_state, state, history_date, history_id,
                   CASE WHEN prev_date IS NULL THEN NULL ELSE {seconds} END AS seconds
            FROM ordered
            WHERE prev_state IS NULL OR prev_state <> state
        )
    """  # noqa: S608
    return sql, list(params)


def _flow_grouped(select: str, source: str, keys: int) -> tuple[str, list]:
    """``SELECT <slice columns>, <select> FROM <source> x`` joined to its order and customer,
    grouped by the slice and the first ``keys`` columns of ``select``; the day is the order's
    local day, as TruncDate makes it."""
    tzname = timezone.get_current_timezone_name() if settings.USE_TZ else None
    day, params = connection.ops.datetime_cast_date_sql("o.received_at", [], tzname)
    orders, customers = Order._meta.db_table, Customer._meta.db_table
    positions = ", ".join(str(n) for n in range(1, 5 + keys))
    sql = f"""
        SELECT {day} AS day, o.channel, c.segment, c.territory, {select}
        FROM {source} x
        JOIN {orders} o ON o.id = x.id
        JOIN {customers} c ON c.id = o.customer_id
        GROUP BY {positions}
    """  # noqa: S608 - table names and the backend's own date expression
    return sql, list(params)


def _flow_slices(scope: Q) -> tuple[Iterable[FlowStep], Iterable[FlowVariant]]:
    cte, params = _steps_cte(scope)
    bucket = BUCKET_SQL.format(s="x.seconds")
    steps_sql, steps_params = _flow_grouped(
        f"COALESCE(x.prev_state, '') AS source, x.state AS target, {bucket} AS bucket, COUNT(*)",
        "steps",
        3,
    )
    if connection.vendor == "postgresql":
        paths = "(SELECT id, STRING_AGG(state, '>' ORDER BY history_date, history_id) AS path FROM steps GROUP BY id)"
    else:
        # SQLite's GROUP_CONCAT keeps the order of an ordered subquery.
        paths = (
            "(SELECT id, GROUP_CONCAT(state, '>') AS path FROM "
            "(SELECT * FROM steps ORDER BY id, history_date, history_id) GROUP BY id)"
        )
    paths_sql, paths_params = _flow_grouped("x.path, COUNT(*)", paths, 1)
    with connection.cursor() as cursor:
        cursor.execute(cte + steps_sql, [*params, *steps_params])
        steps = [
            FlowStep(
                day=day,
                channel=channel,
                segment=segment,
                territory=territory,
                source=source,
                target=target,
                bucket=bucket,
                count=n,
            )
            for day, channel, segment, territory, source, target, bucket, n in cursor.fetchall()
        ]
        cursor.execute(cte + paths_sql, [*params, *paths_params])
        variants = [
            FlowVariant(
                day=day, channel=channel, segment=segment, territory=territory, path=path, count=n
            )
            for day, channel, segment, territory, path, n in cursor.fetchall()
        ]
    return steps, variants


def _save(model, rows: Iterable) -> int:
    batch, written = [], 0
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            written += len(model.objects.bulk_create(batch))
            batch = []
    return written + len(model.objects.bulk_create(batch))


def _compute(days: set[date]) -> int:
    """Write the slices of ``days`` (their old slices already deleted)."""
    spans = _spans(days)
    # Orders and payments by the day received; invoices and unapplied cash by the day created.
    received, created = _within("received_at", spans), _within("created_at", spans)
    steps, variants = _flow_slices(received)
    return (
        _save(FlowStep, steps)
        + _save(FlowVariant, variants)
        + _save(DailyFigure, _order_figures(received))
        + _save(DailyFigure, _hold_figures(received))
        + _save(DailyFigure, _invoice_figures(created))
        + _save(ActiveHoldSlice, _active_slices(received))
        + _save(DailyFigure, cash_slices.payment_figures(received))
        + _save(DailyFigure, cash_slices.application_figures(_within("applied_at", spans)))
        + _save(UnappliedCashSlice, cash_slices.unapplied_slices(created))
    )


def _all_days() -> Iterable[set[date]]:
    """Every day with an order, an invoice or cash, a month at a time, so a rebuild holds one
    month of slices in memory, never the whole history."""
    dated = (
        (Order, "received_at"),
        (Invoice, "created_at"),
        (Payment, "received_at"),
        (Application, "applied_at"),
        (UnappliedCash, "created_at"),
    )
    bounds = [model.objects.aggregate(first=Min(field), last=Max(field)) for model, field in dated]
    found = [b for b in bounds if b["first"] is not None]
    if not found:
        return
    day = min(timezone.localdate(b["first"]) for b in found)
    last = max(timezone.localdate(b["last"]) for b in found)
    while day <= last:
        yield {day + timedelta(days=n) for n in range(REBUILD_DAYS) if day + timedelta(n) <= last}
        day += timedelta(days=REBUILD_DAYS)


def _recompute(days: set[date] | None) -> int:
    """Replace the slices of ``days`` (every day when None) with freshly computed ones."""
    for model in SLICES:
        (model.objects.all() if days is None else model.objects.filter(day__in=days)).delete()
    if days is not None:
        return _compute(days)
    return sum(_compute(month) for month in _all_days())


def _locked_state() -> RollupState:
    state, _ = RollupState.objects.get_or_create(pk=1)
    return RollupState.objects.select_for_update().get(pk=state.pk)


def rebuild() -> int:
    """Recompute every slice. Returns the number of rows written."""
    started = timezone.now()
    with transaction.atomic():
        state = _locked_state()
        written = _recompute(None)
        state.refreshed_at = state.rebuilt_at = started
        state.save()
    if connection.vendor == "postgresql":
        # Fresh statistics, so the dashboard's first queries plan for the new row counts.
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(m._meta.db_table for m in SLICES)}")
    logger.info("KPI slices rebuilt: %d rows", written)
    return written


def refresh() -> set[date] | None:
    """Recompute the days changed since the last refresh: returns them, or None when there was
    no earlier refresh and everything was computed."""
    started = timezone.now()
    with transaction.atomic():
        state = _locked_state()
        days = None if state.refreshed_at is None else changed_days(state.refreshed_at - LOOKBACK)
        if days is None or days:
            _recompute(days)
        if days is None:
            state.rebuilt_at = started
        state.refreshed_at = started
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
