"""Reads for billing, scoped to the territories of the acting user: the finance queue, invoices,
and what the order page shows of shipments, invoices and credit memos."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db.models import (
    Case,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    When,
    prefetch_related_objects,
)

from core.errors import PermissionDenied
from core.pagination import Page, keyset_page
from core.roles import Role, UserLike, has_role, is_system_user
from orders.selectors import customers_for_user

from .models import CreditMemo, Invoice, InvoiceLine, InvoiceState, Shipment


def invoice_lines_with_orders(invoice: Invoice) -> list[InvoiceLine]:
    """The invoice's lines with their order line, order and item, read once per invoice object:
    its release (the orders' invoiced quantities) and its ERP posting (the outbox row, in the
    same transaction) both read them."""
    prefetch_related_objects(
        [invoice],
        Prefetch(
            "lines",
            InvoiceLine.objects.select_related("order_line__order", "order_line__item"),
        ),
    )
    return list(invoice.lines.all())


def is_finance(user: UserLike) -> bool:
    return is_system_user(user) or has_role(user, Role.FINANCE, Role.MANAGER)


def invoices_for_user(user: UserLike) -> QuerySet[Invoice]:
    """Invoices of the customers the user may see (their territories, if limited)."""
    return Invoice.objects.filter(customer__in=customers_for_user(user))


@dataclass(frozen=True)
class InvoiceFilters:
    customer: str = ""
    state: str = ""
    tier: int | None = None
    awaiting_second: bool = False
    min_total: Decimal | None = None
    max_total: Decimal | None = None
    created_from: date | None = None
    created_to: date | None = None
    sort: str = "age"


SORTS = {
    "age": ("created_at", "id"),
    "amount": ("-total", "-id"),
    "newest": ("-created_at", "-id"),
}


def _filtered(queryset: QuerySet[Invoice], filters: InvoiceFilters) -> QuerySet[Invoice]:
    if filters.customer:
        queryset = queryset.filter(
            Q(customer__name__icontains=filters.customer)
            | Q(customer__number__iexact=filters.customer)
            | Q(number__iexact=filters.customer)
        )
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.tier is not None:
        queryset = queryset.filter(approval_tier=filters.tier)
    if filters.awaiting_second:
        queryset = queryset.filter(first_approver__isnull=False)
    if filters.min_total is not None:
        queryset = queryset.filter(total__gte=filters.min_total)
    if filters.max_total is not None:
        queryset = queryset.filter(total__lte=filters.max_total)
    if filters.created_from:
        queryset = queryset.filter(created_at__date__gte=filters.created_from)
    if filters.created_to:
        queryset = queryset.filter(created_at__date__lte=filters.created_to)
    return queryset


def finance_queue(
    *, user: UserLike, filters: InvoiceFilters, cursor: str | None, size: int
) -> Page:
    """One page of invoices waiting for finance approval."""
    queryset = awaiting_approval(user=user, filters=filters).select_related(
        "customer", "order", "first_approver", "created_by"
    )
    return keyset_page(
        queryset, ordering=SORTS.get(filters.sort, SORTS["age"]), cursor=cursor, size=size
    )


def awaiting_approval(*, user: UserLike, filters: InvoiceFilters) -> QuerySet[Invoice]:
    """Invoices waiting for finance's approval that the filters keep (the queue, its saved views
    and the bulk approval's preview)."""
    if not is_finance(user):
        raise PermissionDenied("The finance queue belongs to finance.")
    return _filtered(invoices_for_user(user).filter(state=InvoiceState.PENDING_APPROVAL), filters)


def invoices_filtered(*, user: UserLike, filters: InvoiceFilters) -> QuerySet[Invoice]:
    return _filtered(invoices_for_user(user), filters).select_related("customer", "order")


def invoice_list(*, user: UserLike, filters: InvoiceFilters, cursor: str | None, size: int) -> Page:
    queryset = invoices_filtered(user=user, filters=filters)
    return keyset_page(
        queryset, ordering=SORTS.get(filters.sort, SORTS["newest"]), cursor=cursor, size=size
    )


def pending_count(*, user: UserLike) -> int:
    if not is_finance(user):
        return 0
    return invoices_for_user(user).filter(state=InvoiceState.PENDING_APPROVAL).count()


def invoice_get(*, user: UserLike, invoice_id: int) -> Invoice:
    invoice = (
        invoices_for_user(user)
        .select_related(
            "customer", "order", "created_by", "last_edited_by", "first_approver", "second_approver"
        )
        .prefetch_related(
            Prefetch(
                "lines",
                queryset=InvoiceLine.objects.select_related(
                    "order_line__order",
                    "order_line__price_overridden_by",
                    "shipment_line__shipment",
                ).annotate(credited_qty=Sum("credit_lines__quantity")),
            ),
            Prefetch("credit_memos", queryset=CreditMemo.objects.select_related("created_by")),
        )
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise PermissionDenied(
            "Invoice not found or not in your territories.", {"invoice_id": invoice_id}
        )
    return invoice


def shipments_of_order(*, order_id: int) -> QuerySet[Shipment]:
    return (
        Shipment.objects.filter(order_id=order_id)
        .select_related("warehouse")
        .annotate(line_count=Count("lines"), quantity=Sum("lines__quantity"))
        .order_by("shipped_at", "id")
    )


def invoices_of_order(*, order_id: int) -> QuerySet[Invoice]:
    """Invoices billing any line of the order (consolidated ones included)."""
    return (
        Invoice.objects.filter(lines__order_line__order_id=order_id)
        .distinct()
        .order_by("created_at", "id")
    )


def credit_memos_of_order(*, order_id: int) -> QuerySet[CreditMemo]:
    return (
        CreditMemo.objects.filter(invoice__lines__order_line__order_id=order_id)
        .select_related("invoice")
        .distinct()
        .order_by("created_at", "id")
    )


def shipments_for_user(user: UserLike) -> QuerySet[Shipment]:
    """Shipments of the orders the user may see."""
    from orders.selectors import orders_for_user

    return Shipment.objects.filter(order__in=orders_for_user(user))


def shipment_list(*, user: UserLike, order_id: int | None, cursor: str | None, size: int) -> Page:
    queryset = (
        shipments_for_user(user)
        .select_related("order", "warehouse")
        .prefetch_related("lines__order_line")
    )
    if order_id:
        queryset = queryset.filter(order_id=order_id)
    return keyset_page(queryset, ordering=("-shipped_at", "-id"), cursor=cursor, size=size)


def own_receivables(balances: dict) -> dict[int, Decimal]:
    """Credit exposure counts o2c's own receivables for the invoices it issued: their open
    amount now (cash applied this morning lowers it at once), in place of what the ERP's AR
    snapshot said of them. The snapshot counts an invoice posted to the ERP before its as-of
    time at its total less credits, so that much comes off it; receivables'
    ``cash_known_to_erp`` adds back the cash o2c had posted to the ERP by then, which the
    snapshot already took off. Two queries for any number of customers."""
    from django.db.models import F, OuterRef, Subquery

    from orders.models import ARBalance

    from .models.invoice import RECEIVABLE_STATES

    if not balances:
        return {}
    owed = dict(
        Invoice.objects.filter(customer_id__in=list(balances), state__in=RECEIVABLE_STATES)
        .values("customer_id")
        .annotate(open=Sum(F("total") - F("settled_amount") - F("credited_amount")))
        .values_list("customer_id", "open")
        .order_by()
    )
    as_of = ARBalance.objects.filter(customer_id=OuterRef("customer_id")).values("as_of")[:1]
    known = dict(
        Invoice.objects.filter(
            customer_id__in=[cid for cid, ar in balances.items() if ar is not None],
            state__in=RECEIVABLE_STATES,
            posted_at__lte=Subquery(as_of),
        )
        .values("customer_id")
        .annotate(known=Sum(F("total") - F("credited_amount")))
        .values_list("customer_id", "known")
        .order_by()
    )
    adjustments = {}
    for customer_id, ar in balances.items():
        erp_counted = (known.get(customer_id) or Decimal(0)) if ar else Decimal(0)
        change = (owed.get(customer_id) or Decimal(0)) - erp_counted
        if change:
            adjustments[customer_id] = change
    return adjustments


def invoices_approved_by(*, user: UserLike, since) -> int:
    """Invoices the user approved (as first or second approver) since ``since``: the home page's
    "what I did today". One query."""
    return _approved_by(user, since).values("pk").count()


def _approved_by(user: UserLike, since) -> QuerySet[Invoice]:
    return Invoice.objects.filter(
        Q(first_approver=user, first_approved_at__gte=since)
        | Q(second_approver=user, second_approved_at__gte=since)
    )


def invoices_approved_list(*, user: UserLike, since, limit: int) -> list[dict]:
    """The invoices behind ``invoices_approved_by``, the latest approval first, at most
    ``limit``; ``approved_at`` is this person's own approval (first or second). One query."""
    mine = Case(
        When(second_approver=user, second_approved_at__gte=since, then=F("second_approved_at")),
        default=F("first_approved_at"),
    )
    return list(
        _approved_by(user, since)
        .annotate(approved_at=mine)
        .order_by("-approved_at", "-id")
        .values("id", "number", "state", "total", "currency", "approved_at",
                customer_name=F("customer__name"))[:limit]
    )  # fmt: skip
