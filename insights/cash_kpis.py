"""Cash application KPIs over the slices ``cash_slices`` keeps: the auto-match rate, the accuracy
of applications (not reversed later), the time from bank receipt to application, and unapplied
cash by currency and age. Payments carry no channel, so a channel filter does not narrow these;
segment and territory do (a payment from a payer nobody knows yet is in neither)."""

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Q, Sum
from django.utils import timezone

from core.money import CENT, ZERO

from .kpis import KpiFilters, percentiles, slices
from .models import DailyFigure, Figure, UnappliedCashSlice

#: Unapplied cash by whole days on account: (label, lower bound, upper bound or None).
UNAPPLIED_BUCKETS = [
    ("< 1 d", timedelta(0), timedelta(days=1)),
    ("1–7 d", timedelta(days=1), timedelta(days=8)),
    ("8–30 d", timedelta(days=8), timedelta(days=31)),
    ("> 30 d", timedelta(days=31), None),
]


def _scope(filters: KpiFilters) -> KpiFilters:
    return replace(filters, channel="")


def _ratio(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001")) if whole else None


def _figures(filters: KpiFilters, *figures: str):
    return slices(DailyFigure, _scope(filters)).filter(figure__in=figures)


def auto_match(filters: KpiFilters) -> dict:
    """Payments received in the range, and those matching applied with no person involved;
    the money received per currency."""
    rows = (
        _figures(filters, Figure.PAYMENTS, Figure.PAYMENTS_AUTO)
        .values("figure", "currency")
        .annotate(n=Sum("count"), total=Sum("amount"))
        .order_by("currency")
    )
    received = automatic = 0
    by_currency: dict[str, Decimal] = {}
    for row in rows:
        if row["figure"] == Figure.PAYMENTS:
            received += int(row["n"])
            by_currency[row["currency"]] = (row["total"] or ZERO).quantize(CENT)
        else:
            automatic += int(row["n"])
    return {
        "received": received,
        "automatic": automatic,
        "rate": _ratio(automatic, received),
        "received_by_currency": by_currency,
    }


def accuracy(filters: KpiFilters) -> dict:
    """Applications made in the range that were not reversed later, in all and for those
    matching made alone ("automatic")."""
    rows = (
        _figures(filters, Figure.APPLICATIONS, Figure.APPLICATIONS_KEPT)
        .values("category")
        .annotate(
            n=Sum("count", filter=Q(figure=Figure.APPLICATIONS)),
            kept=Sum("count", filter=Q(figure=Figure.APPLICATIONS_KEPT)),
        )
        .order_by()
    )
    counts = {row["category"]: (int(row["n"] or 0), int(row["kept"] or 0)) for row in rows}
    made = sum(n for n, _kept in counts.values())
    kept = sum(k for _n, k in counts.values())
    auto_made, auto_kept = counts.get("auto", (0, 0))
    return {
        "applications": made,
        "kept": kept,
        "reversed": made - kept,
        "rate": _ratio(kept, made),
        "automatic": {
            "applications": auto_made,
            "kept": auto_kept,
            "rate": _ratio(auto_kept, auto_made),
        },
    }


def receipt_to_application(filters: KpiFilters) -> dict:
    """Seconds from the bank file's arrival to the payment's money being applied (to invoices
    or on account), median and p90, for payments received in the range and applied."""
    found = percentiles(_figures(filters, Figure.RECEIPT_TO_APPLIED), ("figure",))
    spread = next(iter(found.values()), {})
    return {
        "applied": spread.get("n", 0),
        "median": spread.get("median"),
        "p90": spread.get("p90"),
    }


def unapplied_cash(filters: KpiFilters, *, now: datetime | None = None) -> list[dict]:
    """Unapplied cash on customers' accounts now, whenever it was put there (a balance, not a
    flow: the date range does not narrow it), per currency with its age buckets (amounts).
    Ages are read to the hour, each hour at its middle (see UnappliedCashSlice)."""
    clock = (now or timezone.now()) - timedelta(minutes=30)
    buckets = {
        f"b{i}": Sum(
            "amount",
            # the newest bucket takes what was put there within the last half hour too
            filter=(Q(created_hour__lte=clock - low) if low else Q())
            & (Q(created_hour__gt=clock - high) if high is not None else Q()),
        )
        for i, (_label, low, high) in enumerate(UNAPPLIED_BUCKETS)
    }
    queryset = UnappliedCashSlice.objects.all()
    for dimension in ("segment", "territory"):
        if value := getattr(filters, dimension):
            queryset = queryset.filter(**{dimension: value})
    rows = (
        queryset.values("currency")
        .annotate(total=Sum("amount"), n=Sum("count"), **buckets)
        .order_by("currency")
    )
    return [
        {
            "currency": row["currency"],
            "amount": (row["total"] or ZERO).quantize(CENT),
            "items": int(row["n"]),
            "buckets": [
                (row[f"b{i}"] or ZERO).quantize(CENT) for i in range(len(UNAPPLIED_BUCKETS))
            ],
        }
        for row in rows
    ]


@dataclass
class CashFigures:
    auto_match: dict = field(default_factory=dict)
    accuracy: dict = field(default_factory=dict)
    receipt_to_application: dict = field(default_factory=dict)
    unapplied: list = field(default_factory=list)

    @property
    def unapplied_by_currency(self) -> dict[str, Decimal]:
        return {row["currency"]: row["amount"] for row in self.unapplied}


def cash(filters: KpiFilters, *, now: datetime | None = None) -> CashFigures:
    return CashFigures(
        auto_match=auto_match(filters),
        accuracy=accuracy(filters),
        receipt_to_application=receipt_to_application(filters),
        unapplied=unapplied_cash(filters, now=now),
    )
