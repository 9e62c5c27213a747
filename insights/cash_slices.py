"""The cash application slices: payments by the day they were received (how many, how many
matching applied alone, and how long until their money was applied), applications by the day
they were made (and whether they stood), and unapplied cash still on account. ``rollups`` calls
these for the days it recomputes; each is a few GROUP BY queries, never a loop over payments."""

from collections.abc import Iterable
from datetime import UTC

from django.db.models import Count, Exists, F, OuterRef, Q, Sum, Value
from django.db.models.functions import Coalesce, TruncDate, TruncHour

from receivables.models import Application, Payment, UnappliedCash

from .durations import Seconds, bucketed
from .models import DailyFigure, Figure, UnappliedCashSlice


def _shape(*, day: str, customer: str) -> dict:
    """The slice columns of a cash record: its local day and its customer's segment and
    territory ("" while the payer is unknown). Payments have no channel."""
    return {
        "day": TruncDate(day),
        "s_segment": Coalesce(F(f"{customer}__segment"), Value("")),
        "s_territory": Coalesce(F(f"{customer}__territory"), Value("")),
    }


def _figure(row: dict, figure: str, count: int, **keys) -> DailyFigure:
    return DailyFigure(
        day=row["day"],
        channel="",
        segment=row["s_segment"],
        territory=row["s_territory"],
        figure=figure,
        count=count,
        **keys,
    )


def payment_figures(scope: Q) -> Iterable[DailyFigure]:
    """Payments received, per currency with their sum; those matching applied with no person
    (an automatic application, even one reversed later: accuracy counts that); and the time
    from receipt to application of those applied."""
    payments = Payment.objects.filter(scope)
    shape = _shape(day="received_at", customer="customer")
    automatic = Exists(Application.objects.filter(payment=OuterRef("pk"), automatic=True))
    for row in (
        payments.values(**shape, s_currency=F("currency"))
        .annotate(n=Count("pk"), total=Sum("amount"), auto=Count("pk", filter=Q(automatic)))
        .order_by()
    ):
        currency = row["s_currency"]
        yield _figure(row, Figure.PAYMENTS, row["n"], amount=row["total"], currency=currency)
        if row["auto"]:
            yield _figure(row, Figure.PAYMENTS_AUTO, row["auto"], currency=currency)
    applied = bucketed(
        payments.filter(applied_at__isnull=False), Seconds(F("applied_at"), F("received_at"))
    )
    for row in applied.values(**shape, b=F("bucket")).annotate(n=Count("pk")).order_by():
        yield _figure(row, Figure.RECEIPT_TO_APPLIED, row["n"], bucket=row["b"])


def application_figures(scope: Q) -> Iterable[DailyFigure]:
    """Applications made, and those never reversed, per category: "auto" (matching) or
    "manual" (an analyst)."""
    rows = (
        Application.objects.filter(scope)
        .values(**_shape(day="applied_at", customer="invoice__customer"), r_auto=F("automatic"))
        .annotate(n=Count("pk"), kept=Count("pk", filter=Q(reversed_at__isnull=True)))
        .order_by()
    )
    for row in rows:
        category = "auto" if row["r_auto"] else "manual"
        yield _figure(row, Figure.APPLICATIONS, row["n"], category=category)
        if row["kept"]:
            yield _figure(row, Figure.APPLICATIONS_KEPT, row["kept"], category=category)


def unapplied_slices(scope: Q) -> Iterable[UnappliedCashSlice]:
    """Unapplied cash not released, by the UTC hour it was put on account and its currency."""
    rows = (
        UnappliedCash.objects.filter(scope, released_at__isnull=True)
        .values(
            **_shape(day="created_at", customer="customer"),
            r_currency=F("payment__currency"),
            r_hour=TruncHour("created_at", tzinfo=UTC),
        )
        .annotate(n=Count("pk"), total=Sum("amount"))
        .order_by()
    )
    for row in rows:
        yield UnappliedCashSlice(
            day=row["day"],
            channel="",
            segment=row["s_segment"],
            territory=row["s_territory"],
            created_hour=row["r_hour"],
            currency=row["r_currency"],
            count=row["n"],
            amount=row["total"] or 0,
        )
