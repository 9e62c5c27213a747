"""The daily AR reconciliation: o2c's own receivables beside the ERP's AR snapshot, per customer.

For each customer the ERP reports AR for:
- ``erp_open``: the snapshot's open amount, taken at its ``erp_as_of``;
- ``own_open``: o2c's open receivables, total − settled − credited of the invoices it issued;
- ``erp_counted``: what the snapshot should hold of those invoices: total − credited of the
  ones the ERP had posted by its as-of, less the cash o2c had posted to the ERP by then (as
  credit exposure reads it: ``billing.selectors.own_receivables`` and
  ``receivables.selectors.cash_known_to_erp``);
- ``difference`` = erp_open − erp_counted: what neither side explains (invoices the ERP holds
  that o2c did not issue, cash or credits the ERP applied that o2c does not know, an invoice the
  ERP lost). erp_counted − own_open is timing: o2c's cash the snapshot has not seen, less its
  invoices not posted by then.
A customer is flagged when |difference| exceeds the tolerance. Amounts in two currencies are
never summed: a customer whose o2c invoices span currencies is flagged to compare by hand.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone

from billing.models import Invoice
from billing.models.invoice import RECEIVABLE_STATES
from core.errors import PermissionDenied
from core.money import ZERO, round_money
from core.pagination import Page, keyset_page
from core.roles import Role, has_role, is_system_user
from orders.models import ARBalance, Order
from orders.selectors import customers_for_user

from .models import Application, ArReconciliation, ArReconciliationLine

#: An unexplained difference up to this (in the customer's currency) is rounding, not a finding.
TOLERANCE = Decimal("1.00")
#: A snapshot older than this at the comparison is noted on its line.
STALE_AFTER = timedelta(days=2)
#: Runs kept (one a day): a month to look back on; older ones are deleted by the next run.
KEEP_RUNS = 31
#: The page's order: differences first, the largest first; its keyset pages and CSV follow it.
LINE_ORDERING = ("-flagged", "-gap", "id")
#: Who may read the reconciliation, and who may run it now.
READER_ROLES = (Role.CASH_APPLICATION, Role.FINANCE, Role.MANAGER)
RUNNER_ROLES = (Role.MANAGER,)
BATCH = 2000


@dataclass(frozen=True)
class ReconciliationRow:
    customer_id: int
    currency: str
    erp_open: Decimal
    erp_as_of: datetime
    own_open: Decimal | None
    erp_counted: Decimal | None
    difference: Decimal | None
    flagged: bool
    note: str = ""

    @property
    def gap(self) -> Decimal:
        return abs(self.difference) if self.difference is not None else ZERO


def _by_customer(rows) -> dict[int, dict[str, Decimal]]:
    found: dict[int, dict[str, Decimal]] = defaultdict(dict)
    for customer_id, currency, amount in rows:
        found[customer_id][currency] = amount or ZERO
    return found


def _fallback_currencies(customer_ids: list[int]) -> dict[int, str]:
    """The currency of each customer's latest order, for customers o2c never invoiced."""
    if not customer_ids:
        return {}
    latest = Order.objects.filter(customer_id=OuterRef("customer_id")).order_by("-received_at")
    return dict(
        ARBalance.objects.filter(customer_id__in=customer_ids)
        .annotate(currency=Subquery(latest.values("currency")[:1]))
        .values_list("customer_id", "currency")
    )


def ar_reconciliation(
    as_of: datetime | None = None, *, tolerance: Decimal = TOLERANCE
) -> list[ReconciliationRow]:
    """Every customer with an ERP snapshot, differences first, the largest first. ``as_of`` is
    the moment of comparison (now by default): o2c's figures are its current ones, each
    snapshot is compared at its own as-of, and a snapshot older than ``STALE_AFTER`` by then
    is noted, since its age alone can explain a difference. Five queries whatever the number
    of customers."""
    as_of = as_of or timezone.now()
    receivable = Invoice.objects.filter(state__in=RECEIVABLE_STATES)
    own = _by_customer(
        receivable.values("customer_id", "currency")
        .annotate(open=Sum(F("total") - F("settled_amount") - F("credited_amount")))
        .values_list("customer_id", "currency", "open")
        .order_by()
    )
    snapshot_as_of = ARBalance.objects.filter(customer_id=OuterRef("customer_id")).values("as_of")
    counted = _by_customer(
        receivable.filter(posted_at__lte=Subquery(snapshot_as_of[:1]))
        .values("customer_id", "currency")
        .annotate(known=Sum(F("total") - F("credited_amount")))
        .values_list("customer_id", "currency", "known")
        .order_by()
    )
    # cash o2c posted to the ERP before a snapshot, on invoices it knew by then, is already off
    # that snapshot
    for customer_id, currency, cash in (
        Application.objects.filter(
            reversed_at__isnull=True,
            payment__posted_at__lte=Subquery(
                ARBalance.objects.filter(customer_id=OuterRef("invoice__customer_id")).values(
                    "as_of"
                )[:1]
            ),
            invoice__posted_at__lte=Subquery(
                ARBalance.objects.filter(customer_id=OuterRef("invoice__customer_id")).values(
                    "as_of"
                )[:1]
            ),
        )
        .values("invoice__customer_id", "invoice__currency")
        .annotate(cash=Sum(F("amount") + F("discount")))
        .values_list("invoice__customer_id", "invoice__currency", "cash")
        .order_by()
    ):
        per = counted.setdefault(customer_id, {})
        per[currency] = per.get(currency, Decimal(0)) - cash
    snapshots = list(ARBalance.objects.values_list("customer_id", "open_amount", "as_of"))
    fallback = _fallback_currencies([cid for cid, _open, _at in snapshots if cid not in own])
    rows = [
        _row(
            customer_id,
            erp_open,
            erp_as_of,
            own.get(customer_id, {}),
            counted.get(customer_id, {}),
            fallback.get(customer_id) or "",
            as_of=as_of,
            tolerance=tolerance,
        )
        for customer_id, erp_open, erp_as_of in snapshots
    ]
    rows.sort(key=lambda row: (not row.flagged, -row.gap, row.customer_id))
    return rows


def _row(
    customer_id: int,
    erp_open: Decimal,
    erp_as_of: datetime,
    own: dict[str, Decimal],
    counted: dict[str, Decimal],
    fallback_currency: str,
    *,
    as_of: datetime,
    tolerance: Decimal,
) -> ReconciliationRow:
    age = as_of - erp_as_of
    stale = f"The ERP's snapshot is {age.days} days old." if age > STALE_AFTER else ""
    currencies = sorted(set(own) | set(counted))
    if len(currencies) > 1:
        return ReconciliationRow(
            customer_id=customer_id,
            currency="",
            erp_open=erp_open,
            erp_as_of=erp_as_of,
            own_open=None,
            erp_counted=None,
            difference=None,
            flagged=True,
            note=f"o2c's invoices are in {', '.join(currencies)}; the ERP's snapshot is one "
            f"amount: compare by hand. {stale}".strip(),
        )
    currency = currencies[0] if currencies else fallback_currency
    difference = round_money(erp_open - round_money(counted.get(currency, ZERO)))
    return ReconciliationRow(
        customer_id=customer_id,
        currency=currency,
        erp_open=erp_open,
        erp_as_of=erp_as_of,
        own_open=round_money(own.get(currency, ZERO)),
        erp_counted=round_money(counted.get(currency, ZERO)),
        difference=difference,
        flagged=abs(difference) > tolerance,
        note=stale,
    )


def customers_without_snapshot() -> int:
    """Customers o2c has invoices receivable for but the ERP reports no AR for."""
    return (
        Invoice.objects.filter(state__in=RECEIVABLE_STATES, customer__ar__isnull=True)
        .values("customer_id")
        .distinct()
        .count()
    )


def _require_runner(actor) -> None:
    if not (is_system_user(actor) or has_role(actor, *RUNNER_ROLES)):
        raise PermissionDenied("Only managers may run the AR reconciliation.")


@transaction.atomic
def ar_reconciliation_run(
    *, actor, as_of: datetime | None = None, tolerance: Decimal = TOLERANCE
) -> ArReconciliation:
    """Compare now and keep the result as the latest run (the daily task, or a manager's "Run
    now"); runs beyond the last ``KEEP_RUNS`` are deleted."""
    _require_runner(actor)
    as_of = as_of or timezone.now()
    rows = ar_reconciliation(as_of, tolerance=tolerance)
    run = ArReconciliation.objects.create(
        as_of=as_of,
        tolerance=tolerance,
        customers=len(rows),
        flagged=sum(1 for row in rows if row.flagged),
        without_snapshot=customers_without_snapshot(),
        run_by=None if is_system_user(actor) else actor,
    )
    ArReconciliationLine.objects.bulk_create(
        (
            ArReconciliationLine(
                run=run,
                customer_id=row.customer_id,
                currency=row.currency,
                erp_open=row.erp_open,
                erp_as_of=row.erp_as_of,
                own_open=row.own_open,
                erp_counted=row.erp_counted,
                difference=row.difference,
                gap=row.gap,
                flagged=row.flagged,
                note=row.note,
            )
            for row in rows
        ),
        batch_size=BATCH,
    )
    old = list(
        ArReconciliation.objects.order_by("-as_of", "-id").values_list("pk", flat=True)[KEEP_RUNS:]
    )
    if old:
        ArReconciliationLine.objects.filter(run_id__in=old).delete()
        ArReconciliation.objects.filter(pk__in=old).delete()
    return run


# --- Reads for the page ----------------------------------------------------------------------


def may_read(user) -> bool:
    return has_role(user, *READER_ROLES)


def may_run(user) -> bool:
    return has_role(user, *RUNNER_ROLES)


def latest_run() -> ArReconciliation | None:
    return ArReconciliation.objects.select_related("run_by").order_by("-as_of", "-id").first()


def lines_for_user(*, user, run: ArReconciliation) -> QuerySet[ArReconciliationLine]:
    """The run's lines of the customers the user may see (their territories, if limited)."""
    return (
        ArReconciliationLine.objects.filter(run=run, customer__in=customers_for_user(user))
        .select_related("customer")
        .order_by(*LINE_ORDERING)
    )


def lines_page(*, user, run: ArReconciliation, cursor: str | None, size: int) -> Page:
    return keyset_page(
        lines_for_user(user=user, run=run), ordering=LINE_ORDERING, cursor=cursor, size=size
    )


def line_counts(*, user, run: ArReconciliation) -> dict[str, int]:
    """How many of the user's customers the run compared, and how many it flagged."""
    return ArReconciliationLine.objects.filter(
        run=run, customer__in=customers_for_user(user)
    ).aggregate(customers=Count("pk"), flagged=Count("pk", filter=Q(flagged=True)))
