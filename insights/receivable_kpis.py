"""Receivables KPIs, per currency (two currencies are never one figure), read from the ledger
itself with a few grouped queries each, never a loop over invoices:

- DSO by the count-back method: receivables at the end of the range, counted back against each
  month's sales (the range's own month first, to its last day), whole months while receivables
  cover them, then the fraction of the month they reach into;
- the collection effectiveness index over the range: (receivables at the start + sales − all
  receivables at the end) / (receivables at the start + sales − current receivables at the end),
  as a percentage; current means not yet due at the end;
- deduction days outstanding: open deductions now against the deductions taken in the range,
  times the range's days; and the aging of open deductions and disputes by reason;
- the recovery rate of invalid deductions resolved in the range: of their amount, the share the
  customer has paid since (cash applied to the invoice after the decision, up to the case's
  amount);
- the returns rate: return credits issued in the range against sales in the range;
- the top root causes of cases closed in the range.

Receivables at a moment are what was issued before it, less the cash and discounts applied
before it (and not reversed by then), the credit memos and the applied write-offs made before
it. Segment and territory narrow every figure to the customers they name; channel does not
(receivables have none)."""

from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, F, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from billing.models import CreditMemo, CreditReason, Invoice
from billing.models.invoice import RECEIVABLE_STATES
from cases.models import ACTIVE_STATES, CLOSED_STATES, Case, CaseState
from core.money import CENT, ZERO
from receivables.models import Application, WriteOff

from .kpis import KpiFilters

#: Open deductions and disputes by days since they were opened: (label, from, to or None).
CASE_AGE_BUCKETS = [
    ("0–30 d", 0, 31),
    ("31–60 d", 31, 61),
    ("61–90 d", 61, 91),
    ("> 90 d", 91, None),
]
#: How many months DSO counts back at most (receivables older than this are all "more").
COUNT_BACK_MONTHS = 24


def _scoped(queryset, filters: KpiFilters, customer: str):
    for dimension in ("segment", "territory"):
        if value := getattr(filters, dimension):
            queryset = queryset.filter(**{f"{customer}__{dimension}": value})
    return queryset


def _by_currency(queryset, currency: str, amount) -> dict[str, Decimal]:
    rows = queryset.values(c=F(currency)).annotate(total=Sum(amount)).order_by()
    return {row["c"]: row["total"] or ZERO for row in rows}


def _local_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, datetime.min.time()))


def receivables_at(
    filters: KpiFilters, day: date, *, due_after: date | None = None
) -> dict[str, Decimal]:
    """What customers owed at the start of ``day``, per currency; with ``due_after``, only on
    invoices due after that date (current receivables)."""
    moment = _local_start(day)
    invoices = _scoped(
        Invoice.objects.filter(state__in=RECEIVABLE_STATES, issued_on__lt=day), filters, "customer"
    )
    on = Q()
    if due_after is not None:
        invoices = invoices.filter(due_date__gt=due_after)
        on = Q(invoice__due_date__gt=due_after)
    related = {"invoice__state__in": RECEIVABLE_STATES, "invoice__issued_on__lt": day}
    issued = _by_currency(invoices, "currency", "total")
    cash = _by_currency(
        _scoped(Application.objects.filter(on, **related), filters, "invoice__customer")
        .filter(applied_at__lt=moment)
        .filter(Q(reversed_at__isnull=True) | Q(reversed_at__gte=moment)),
        "invoice__currency",
        F("amount") + F("discount"),
    )
    credited = _by_currency(
        _scoped(CreditMemo.objects.filter(on, **related), filters, "invoice__customer").filter(
            created_at__lt=moment
        ),
        "invoice__currency",
        "total",
    )
    written = _by_currency(
        _scoped(WriteOff.objects.filter(on, **related), filters, "invoice__customer").filter(
            state=WriteOff.State.APPLIED, decided_at__lt=moment
        ),
        "invoice__currency",
        "amount",
    )
    return {
        currency: total
        - cash.get(currency, ZERO)
        - credited.get(currency, ZERO)
        - written.get(currency, ZERO)
        for currency, total in issued.items()
    }


def _sales(filters: KpiFilters, first: date, last: date) -> dict[str, Decimal]:
    invoices = Invoice.objects.filter(
        state__in=RECEIVABLE_STATES, issued_on__gte=first, issued_on__lte=last
    )
    return _by_currency(_scoped(invoices, filters, "customer"), "currency", "total")


def _months_back(end: date) -> list[tuple[date, date, int]]:
    """(first day, last day, days) of the months DSO counts back over: the end's own month to
    the end, then whole months before it."""
    months = [(end.replace(day=1), end, end.day)]
    for _ in range(COUNT_BACK_MONTHS - 1):
        last = months[-1][0] - timedelta(days=1)
        months.append((last.replace(day=1), last, monthrange(last.year, last.month)[1]))
    return months


def dso_count_back(filters: KpiFilters, *, owed: dict | None = None) -> dict[str, Decimal | None]:
    """Days of sales outstanding at the end of the range, per currency, by count-back
    (``owed``: the receivables at the range's end, when the caller has them already)."""
    end = filters.end
    if owed is None:
        owed = receivables_at(filters, end + timedelta(days=1))
    months = _months_back(end)
    rows = (
        _scoped(
            Invoice.objects.filter(
                state__in=RECEIVABLE_STATES, issued_on__gte=months[-1][0], issued_on__lte=end
            ),
            filters,
            "customer",
        )
        .values("currency", month=TruncMonth("issued_on"))
        .annotate(total=Sum("total"))
        .order_by()
    )
    sales: dict[tuple[str, date], Decimal] = {}
    for row in rows:
        month = row["month"].date() if isinstance(row["month"], datetime) else row["month"]
        sales[(row["currency"], month)] = row["total"] or ZERO
    result: dict[str, Decimal | None] = {}
    for currency, left in sorted(owed.items()):
        if left <= 0:
            result[currency] = Decimal("0.0")
            continue
        days = Decimal(0)
        for first, _last, length in months:
            month_sales = sales.get((currency, first), ZERO)
            if month_sales <= 0:
                days += length
                continue
            if left >= month_sales:
                days, left = days + length, left - month_sales
                if left == 0:
                    break
            else:
                days += left / month_sales * length
                left = ZERO
                break
        result[currency] = days.quantize(Decimal("0.1")) if left == 0 else None
    return result


def collection_effectiveness(
    filters: KpiFilters, *, closing: dict | None = None
) -> dict[str, Decimal | None]:
    """CEI over the range, per currency, in percent (None when nothing was collectable)."""
    opening = receivables_at(filters, filters.start)
    sales = _sales(filters, filters.start, filters.end)
    after = filters.end + timedelta(days=1)
    if closing is None:
        closing = receivables_at(filters, after)
    current = receivables_at(filters, after, due_after=filters.end)
    result = {}
    for currency in sorted(set(opening) | set(sales) | set(closing)):
        base = opening.get(currency, ZERO) + sales.get(currency, ZERO)
        collectable = base - current.get(currency, ZERO)
        collected = base - closing.get(currency, ZERO)
        result[currency] = (
            (collected / collectable * 100).quantize(Decimal("0.1")) if collectable > 0 else None
        )
    return result


def _cases(filters: KpiFilters):
    return _scoped(Case.objects.all(), filters, "customer")


def deduction_days_outstanding(filters: KpiFilters) -> dict[str, dict]:
    """Open deductions now against those taken in the range, times its days, per currency."""
    days = (filters.end - filters.start).days + 1
    deductions = _cases(filters).filter(kind=Case.Kind.DEDUCTION)
    open_now = _by_currency(deductions.filter(state__in=ACTIVE_STATES), "currency", "amount")
    taken = _by_currency(
        deductions.filter(opened_at__gte=filters.since, opened_at__lt=filters.until),
        "currency",
        "amount",
    )
    return {
        currency: {
            "open": open_now.get(currency, ZERO).quantize(CENT),
            "taken": taken.get(currency, ZERO).quantize(CENT),
            "days": (open_now.get(currency, ZERO) / taken[currency] * days).quantize(Decimal("0.1"))
            if taken.get(currency)
            else None,
        }
        for currency in sorted(set(open_now) | set(taken))
    }


def case_aging(filters: KpiFilters, *, now: datetime | None = None) -> list[dict]:
    """Open deductions and disputes now, by reason and currency, counted by age bucket."""
    now = now or timezone.now()
    buckets = {
        f"b{i}": Count(
            "pk",
            filter=Q(opened_at__lte=now - timedelta(days=low))
            & (Q(opened_at__gt=now - timedelta(days=high)) if high is not None else Q()),
        )
        for i, (_label, low, high) in enumerate(CASE_AGE_BUCKETS)
    }
    rows = (
        _cases(filters)
        .filter(state__in=ACTIVE_STATES)
        .values("currency", reason_name=F("reason__name"))
        .annotate(count=Count("pk"), amount=Sum("amount"), **buckets)
        .order_by("reason_name", "currency")
    )
    return [
        {
            "reason": row["reason_name"],
            "currency": row["currency"],
            "count": row["count"],
            "amount": row["amount"].quantize(CENT),
            "buckets": [row[f"b{i}"] or 0 for i in range(len(CASE_AGE_BUCKETS))],
        }
        for row in rows
    ]


def invalid_recovery(filters: KpiFilters) -> dict[str, dict]:
    """Invalid deductions decided in the range: their amount, what the customer paid on the
    invoice since the decision (up to each case's amount), and the rate, per currency."""
    cases = list(
        _cases(filters)
        .filter(
            kind=Case.Kind.DEDUCTION,
            state=CaseState.INVALID,
            resolved_at__gte=filters.since,
            resolved_at__lt=filters.until,
        )
        .values("invoice_id", "amount", "currency", "resolved_at")
    )
    paid: dict[int, list] = defaultdict(list)
    for row in Application.objects.filter(
        invoice_id__in={c["invoice_id"] for c in cases}, reversed_at__isnull=True
    ).values("invoice_id", "amount", "applied_at"):
        paid[row["invoice_id"]].append(row)
    totals: dict[str, dict] = {}
    for case in cases:
        since = sum(
            (
                p["amount"]
                for p in paid[case["invoice_id"]]
                if p["applied_at"] > case["resolved_at"]
            ),
            ZERO,
        )
        figure = totals.setdefault(case["currency"], {"invalid": ZERO, "recovered": ZERO})
        figure["invalid"] += case["amount"]
        figure["recovered"] += min(since, case["amount"])
    return {
        currency: {
            **figure,
            "rate": (figure["recovered"] / figure["invalid"]).quantize(Decimal("0.0001")),
        }
        for currency, figure in sorted(totals.items())
    }


def returns_rate(filters: KpiFilters) -> dict[str, dict]:
    """Return credits issued in the range against sales in the range, per currency."""
    sales = _sales(filters, filters.start, filters.end)
    returned = _by_currency(
        _scoped(
            CreditMemo.objects.filter(
                reason_code=CreditReason.RETURN,
                created_at__gte=filters.since,
                created_at__lt=filters.until,
            ),
            filters,
            "invoice__customer",
        ),
        "invoice__currency",
        "total",
    )
    return {
        currency: {
            "sales": sales.get(currency, ZERO),
            "returned": returned.get(currency, ZERO),
            "rate": (returned.get(currency, ZERO) / sales[currency]).quantize(Decimal("0.0001"))
            if sales.get(currency)
            else None,
        }
        for currency in sorted(set(sales) | set(returned))
    }


def top_root_causes(filters: KpiFilters, *, limit: int = 10) -> list[dict]:
    """Cases closed in the range by what caused them, the most frequent first."""
    rows = (
        _cases(filters)
        .filter(
            state__in=CLOSED_STATES,
            resolved_at__gte=filters.since,
            resolved_at__lt=filters.until,
        )
        .exclude(root_cause="")
        .values("root_cause", "currency")
        .annotate(count=Count("pk"), amount=Sum("amount"))
        .order_by("-count", "root_cause", "currency")[:limit]
    )
    labels = dict(Case._meta.get_field("root_cause").choices)
    return [
        {
            "root_cause": row["root_cause"],
            "label": labels.get(row["root_cause"], row["root_cause"]),
            "currency": row["currency"],
            "count": row["count"],
            "amount": row["amount"].quantize(CENT),
        }
        for row in rows
    ]


@dataclass
class ReceivableFigures:
    dso: dict = field(default_factory=dict)
    cei: dict = field(default_factory=dict)
    deduction_days: dict = field(default_factory=dict)
    case_aging: list = field(default_factory=list)
    recovery: dict = field(default_factory=dict)
    returns: dict = field(default_factory=dict)
    root_causes: list = field(default_factory=list)

    @property
    def currencies(self) -> list[str]:
        return sorted(
            set(self.dso)
            | set(self.cei)
            | set(self.deduction_days)
            | set(self.recovery)
            | set(self.returns)
        )


def receivables(filters: KpiFilters, *, now: datetime | None = None) -> ReceivableFigures:
    closing = receivables_at(filters, filters.end + timedelta(days=1))  # DSO's and CEI's
    return ReceivableFigures(
        dso=dso_count_back(filters, owed=closing),
        cei=collection_effectiveness(filters, closing=closing),
        deduction_days=deduction_days_outstanding(filters),
        case_aging=case_aging(filters, now=now),
        recovery=invalid_recovery(filters),
        returns=returns_rate(filters),
        root_causes=top_root_causes(filters),
    )
