"""Reads of the cash application desk, scoped to the acting user: the queue of waiting payments
(filtered, searched, keyset-paged in a fixed number of queries), a payment's page with its
history, pending write-offs, and the invoice as cash application sees it."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import chain
from typing import NamedTuple

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet

from billing.models import Invoice
from billing.selectors import invoices_for_user
from core.errors import PermissionDenied
from core.pagination import Page, keyset_page
from core.roles import Role, UserLike, has_role
from orders.models import Customer
from orders.selectors import customers_for_user, territories_for

from .models import (
    OPEN_STATES,
    Application,
    Payment,
    RemittanceAdvice,
    RemittanceLine,
    UnappliedCash,
    WriteOff,
)
from .selectors import INVOICE_DIGITS, INVOICE_PREFIX

#: Who works payments; finance also approves write-offs (the services enforce the same).
CASH_ROLES = (Role.CASH_APPLICATION, Role.MANAGER)
APPROVER_ROLES = (Role.CASH_APPLICATION, Role.FINANCE, Role.MANAGER)

#: sort name -> keyset ordering (the last field unique); indexed as payment_queue_*.
SORTS = {
    "newest": ("-received_at", "-id"),
    "oldest": ("received_at", "id"),
    "largest": ("-amount", "-id"),
}


@dataclass(frozen=True)
class PaymentFilters:
    state: str = ""  # one of OPEN_STATES; empty for every waiting payment
    q: str = ""  # payer, amount, bank reference or invoice number
    sort: str = "newest"


def works_payments(user: UserLike) -> bool:
    return has_role(user, *CASH_ROLES)


def approves_write_offs(user: UserLike) -> bool:
    return has_role(user, *APPROVER_ROLES)


def _require(user: UserLike, roles=CASH_ROLES) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied("Payments are cash application's.")


def _amount(text: str) -> Decimal | None:
    """A search term read as an amount ("1,250.00", "1250"), or None."""
    try:
        value = Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None
    return value if value.is_finite() and value > 0 else None


def _searched(queryset: QuerySet[Payment], text: str) -> QuerySet[Payment]:
    text = text.strip()
    if not text:
        return queryset
    condition = (
        Q(payer_name__icontains=text)
        | Q(customer__name__icontains=text)
        | Q(bank_reference__icontains=text)
        | Q(entry_reference__iexact=text)
        # an invoice number: in matching's candidates, or as the customer wrote it
        | Q(candidates__icontains=text)
        | Q(
            Exists(
                RemittanceLine.objects.filter(
                    advice__payment=OuterRef("pk"), reference__icontains=text
                )
            )
        )
    )
    amount = _amount(text)
    if amount is not None:
        condition |= Q(amount=amount)
    return queryset.filter(condition)


def _in_territories(
    queryset: QuerySet, user: UserLike, customer: str, *, unplaced: bool = False
) -> QuerySet:
    """``queryset`` within the user's territories, its customer reached through ``customer``;
    with ``unplaced``, rows of no known customer too (a stranger's money, or an 820 nobody has
    placed, belongs to no territory until someone places it)."""
    territories = territories_for(user)
    if territories is None:
        return queryset
    within = Q(**{f"{customer}__territory__in": territories})
    return queryset.filter(within | Q(**{f"{customer}__isnull": True}) if unplaced else within)


def _payments_seen(user: UserLike) -> QuerySet[Payment]:
    """The payments the user may see: of customers in their territories, or of none yet."""
    return _in_territories(Payment.objects.all(), user, "customer", unplaced=True)


def _waiting(user: UserLike, filters: PaymentFilters) -> QuerySet[Payment]:
    _require(user)
    states = [filters.state] if filters.state in OPEN_STATES else list(OPEN_STATES)
    return _searched(_payments_seen(user).filter(state__in=states), filters.q)


def _with_remittances(queryset: QuerySet[Payment]) -> QuerySet[Payment]:
    """Payments with their customer, statement and remittance advices and lines (the payment
    page, the CSV export): four queries whatever their number."""
    return queryset.select_related("customer", "statement").prefetch_related(
        Prefetch(
            "remittances",
            queryset=RemittanceAdvice.objects.order_by("pk").prefetch_related(
                Prefetch("lines", queryset=RemittanceLine.objects.order_by("pk"))
            ),
        )
    )


class ShownLine(NamedTuple):
    """A remittance line as a queue row shows it."""

    reference: str
    paid: Decimal | None
    discount: Decimal
    adjustment: Decimal
    reason_code: str


def _remittance_lines(payment_ids: list[int]) -> dict[int, list[ShownLine]]:
    """The payments' remittance lines, in the order they came, by payment: one flat query. (A
    nested prefetch builds a queryset per advice and per payment to cache them in: two-thirds of
    a fifty-row page's reading time.)"""
    lines: dict[int, list[ShownLine]] = {}
    rows = (
        RemittanceLine.objects.filter(advice__payment_id__in=payment_ids)
        .order_by("advice_id", "pk")
        .values_list(
            "advice__payment_id", "reference", "paid", "discount", "adjustment", "reason_code"
        )
    )
    for payment_id, *fields in rows:
        lines.setdefault(payment_id, []).append(ShownLine(*fields))
    return lines


@dataclass(frozen=True)
class ShownAllocation:
    invoice_id: int
    invoice: str  # its number
    amount: Decimal
    discount: Decimal
    short: Decimal
    reason_code: str


@dataclass(frozen=True)
class ShownCandidate:
    """One of matching's candidates as the queue shows it; ``index`` is what accepting it posts."""

    index: int
    customer_id: int | None
    customer: str
    confidence: Decimal
    explanation: str
    unapplied: Decimal
    allocations: list[ShownAllocation]


def _decimal(value) -> Decimal:
    try:
        return Decimal(str(value)) if value not in (None, "") else Decimal("0")
    except InvalidOperation:
        return Decimal("0")


def shown_candidates(payment: Payment, limit: int = 3) -> list[ShownCandidate]:
    """The payment's best ``limit`` candidates, read from the JSON matching stored."""
    return [
        ShownCandidate(
            index=index,
            customer_id=candidate.get("customer_id"),
            customer=candidate.get("customer") or "",
            confidence=_decimal(candidate.get("confidence")),
            explanation=candidate.get("explanation") or "",
            unapplied=_decimal(candidate.get("unapplied")),
            allocations=[
                ShownAllocation(
                    invoice_id=a.get("invoice_id"),
                    invoice=a.get("invoice") or str(a.get("invoice_id")),
                    amount=_decimal(a.get("amount")),
                    discount=_decimal(a.get("discount")),
                    short=_decimal(a.get("short")),
                    reason_code=a.get("reason_code") or "",
                )
                for a in candidate.get("allocations") or []
            ],
        )
        for index, candidate in enumerate(payment.candidates[:limit])
    ]


def _decorated(payments: list[Payment]) -> list[Payment]:
    """Each row's candidates and remittance lines, read once here rather than per template
    lookup."""
    lines = _remittance_lines([payment.pk for payment in payments])
    for payment in payments:
        payment.shown_candidates = shown_candidates(payment)
        payment.remittance_lines = lines.get(payment.pk, [])
    return payments


def payment_queue(
    *, user: UserLike, filters: PaymentFilters, cursor: str | None, size: int
) -> Page:
    """One page of payments waiting for a person, each with its best candidates."""
    return keyset_page(
        _waiting(user, filters).select_related("customer"),
        ordering=SORTS.get(filters.sort, SORTS["newest"]),
        cursor=cursor,
        size=size,
        build=_decorated,
    )


def payments_waiting(*, user: UserLike, filters: PaymentFilters) -> QuerySet[Payment]:
    """Every waiting payment the filters select, for the CSV export."""
    ordering = SORTS.get(filters.sort, SORTS["newest"])
    return _with_remittances(_waiting(user, filters)).order_by(*ordering)


def payment_counts(*, user: UserLike, q: str = "") -> dict[str, int]:
    """Waiting payments per state (the queue's tabs), under the same search; one query."""
    rows = (
        _waiting(user, PaymentFilters(q=q)).order_by().values_list("state").annotate(n=Count("pk"))
    )
    counts = {state: 0 for state in OPEN_STATES}
    counts.update(dict(rows))
    return counts


def payment_row(*, user: UserLike, payment_id: int) -> Payment:
    """One payment as its queue row shows it, in whatever state it is now."""
    _require(user)
    payment = _payments_seen(user).select_related("customer").filter(pk=payment_id).first()
    if payment is None:
        raise PermissionDenied("No such payment in your territories.", {"payment_id": payment_id})
    return _decorated([payment])[0]


def payment_get(*, user: UserLike, payment_id: int) -> Payment:
    """The payment page: its statement, remittances, applications, unapplied cash, write-offs."""
    _require(user)
    payment = (
        _with_remittances(_payments_seen(user).filter(pk=payment_id))
        .select_related("applied_by")
        .prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.select_related(
                    "invoice", "applied_by", "reversed_by"
                ).order_by("applied_at", "pk"),
            ),
            Prefetch(
                "unapplied",
                queryset=UnappliedCash.objects.select_related("customer", "created_by").order_by(
                    "created_at", "pk"
                ),
            ),
            Prefetch(
                "write_offs",
                queryset=WriteOff.objects.select_related(
                    "invoice", "requested_by", "decided_by"
                ).order_by("requested_at", "pk"),
            ),
        )
        .first()
    )
    if payment is None:
        raise PermissionDenied("No such payment.", {"payment_id": payment_id})
    payment.shown_candidates = shown_candidates(payment, limit=len(payment.candidates))
    return payment


@dataclass(frozen=True)
class HistoryEntry:
    when: object
    who: str
    what: str
    why: str


def _entries(rows, label) -> list[HistoryEntry]:
    kinds = {"+": "created", "~": "changed", "-": "deleted"}
    return [
        HistoryEntry(
            when=row.history_date,
            who=row.history_user.get_username() if row.history_user else "system",
            what=f"{label(row)} {kinds.get(row.history_type, '')}".strip(),
            why=row.history_change_reason or "",
        )
        for row in rows
    ]


def payment_history(*, payment: Payment, limit: int = 100) -> list[HistoryEntry]:
    """The payment's story, newest first: its own history rows and those of its applications,
    unapplied cash and write-offs, each with who and why."""
    newest = ("-history_date", "-history_id")
    own = payment.history.select_related("history_user").order_by(*newest)[:limit]
    applications = (
        Application.history.filter(payment_id=payment.pk)
        .select_related("history_user", "invoice")
        .order_by(*newest)[:limit]
    )
    unapplied = (
        UnappliedCash.history.filter(payment_id=payment.pk)
        .select_related("history_user")
        .order_by(*newest)[:limit]
    )
    write_offs = (
        WriteOff.history.filter(payment_id=payment.pk)
        .select_related("history_user", "invoice")
        .order_by(*newest)[:limit]
    )
    currency = payment.currency
    entries = chain(
        _entries(own, lambda r: f"Payment ({r.get_state_display().lower()})"),
        _entries(
            applications,
            lambda r: (
                f"Application of {r.amount:,.2f} {currency} to "
                f"{r.invoice.number if r.invoice else r.invoice_id}"
            ),
        ),
        _entries(unapplied, lambda r: f"{r.amount:,.2f} {currency} on account"),
        _entries(
            write_offs,
            lambda r: (
                f"Write-off of {r.amount:,.2f} on {r.invoice.number if r.invoice else r.invoice_id}"
            ),
        ),
    )
    return sorted(entries, key=lambda e: e.when, reverse=True)[:limit]


# -- money on account -----------------------------------------------------------------------------


def on_account_list(*, user: UserLike, q: str, cursor: str | None, size: int) -> Page:
    """Money held on customers' accounts and not yet applied, the oldest first (it has waited
    longest), searched by customer name or number; within the user's territories."""
    _require(user)
    queryset = _in_territories(
        UnappliedCash.objects.filter(released_at__isnull=True, amount__gt=0), user, "customer"
    ).select_related("customer", "payment", "created_by")
    text = q.strip()
    if text:
        queryset = queryset.filter(
            Q(customer__name__icontains=text) | Q(customer__number__iexact=text)
        )
    return keyset_page(queryset, ordering=("created_at", "id"), cursor=cursor, size=size)


def on_account_get(*, user: UserLike, unapplied_id: int) -> UnappliedCash:
    _require(user)
    held = (
        _in_territories(UnappliedCash.objects.all(), user, "customer")
        .select_related("customer", "payment")
        .filter(pk=unapplied_id)
        .first()
    )
    if held is None:
        raise PermissionDenied(
            "No such money on account in your territories.", {"unapplied_id": unapplied_id}
        )
    return held


# -- 820s waiting for their payment ------------------------------------------------------------


def remittances_scoped(user: UserLike) -> QuerySet[RemittanceAdvice]:
    """The 820s the user may see: of customers in their territories, or of no known customer."""
    _require(user)
    return _in_territories(
        RemittanceAdvice.objects.filter(source=RemittanceAdvice.EDI_820),
        user,
        "customer",
        unplaced=True,
    )


def remittances_waiting_page(*, user: UserLike, q: str, cursor: str | None, size: int) -> Page:
    """820s no payment could be tied to yet, the oldest first, searched by reference, payer or
    amount."""
    queryset = remittances_scoped(user).filter(payment__isnull=True).select_related("customer")
    text = q.strip()
    if text:
        match = Q(reference__iexact=text) | Q(payer_name__icontains=text)
        match |= Q(customer__name__icontains=text) | Q(customer__number__iexact=text)
        amount = _amount(text)
        if amount is not None:
            match |= Q(amount=amount)
        queryset = queryset.filter(match)
    return keyset_page(queryset, ordering=("received_at", "id"), cursor=cursor, size=size)


# -- write-offs ---------------------------------------------------------------------------------

WRITE_OFF_STATES = tuple(WriteOff.State.values)


def write_off_list(*, user: UserLike, state: str, cursor: str | None, size: int) -> Page:
    """Write-offs in ``state`` (pending: those waiting for a second person), newest first."""
    _require(user, APPROVER_ROLES)
    state = state if state in WRITE_OFF_STATES else WriteOff.State.PENDING
    queryset = _in_territories(
        WriteOff.objects.filter(state=state), user, "invoice__customer"
    ).select_related("invoice__customer", "payment", "requested_by", "decided_by")
    return keyset_page(queryset, ordering=("-requested_at", "-id"), cursor=cursor, size=size)


def write_off_get(*, user: UserLike, write_off_id: int) -> WriteOff:
    _require(user, APPROVER_ROLES)
    write_off = (
        _in_territories(WriteOff.objects.all(), user, "invoice__customer")
        .select_related("invoice__customer", "payment", "requested_by", "decided_by")
        .filter(pk=write_off_id)
        .first()
    )
    if write_off is None:
        raise PermissionDenied(
            "No such write-off in your territories.", {"write_off_id": write_off_id}
        )
    return write_off


def pending_write_offs(*, user: UserLike) -> int:
    if not approves_write_offs(user):
        return 0
    return _in_territories(
        WriteOff.objects.filter(state=WriteOff.State.PENDING), user, "invoice__customer"
    ).count()


# -- invoices and customers as cash application names them -------------------------------------


def invoice_number(text: str) -> str:
    """An invoice number as people type it ("1234", "inv-1234") in billing's form."""
    text = text.strip().upper()
    digits = text.removeprefix(INVOICE_PREFIX)
    if digits.isdigit():
        return INVOICE_PREFIX + digits.zfill(INVOICE_DIGITS)
    return text


def invoices_by_number(*, user: UserLike, numbers: list[str]) -> dict[str, Invoice]:
    """The invoices the user may see among ``numbers`` (normalised), by number; one query."""
    return {
        invoice.number: invoice
        for invoice in invoices_for_user(user).filter(
            number__in={invoice_number(n) for n in numbers}
        )
    }


def customer_by_number(*, user: UserLike, number: str) -> Customer | None:
    return customers_for_user(user).filter(number__iexact=number.strip()).first()


def invoice_for_cash(*, user: UserLike, invoice_id: int) -> Invoice:
    """An invoice with the cash on it: applications, write-offs (its territory rules apply)."""
    _require(user, APPROVER_ROLES)
    invoice = (
        invoices_for_user(user)
        .select_related("customer", "order")
        .prefetch_related(
            Prefetch(
                "applications",
                queryset=Application.objects.select_related(
                    "payment", "applied_by", "reversed_by"
                ).order_by("applied_at", "pk"),
            ),
            Prefetch(
                "write_offs",
                queryset=WriteOff.objects.select_related("requested_by", "decided_by").order_by(
                    "requested_at", "pk"
                ),
            ),
        )
        .filter(pk=invoice_id)
        .first()
    )
    if invoice is None:
        raise PermissionDenied(
            "Invoice not found or not in your territories.", {"invoice_id": invoice_id}
        )
    return invoice


def application_get(*, user: UserLike, application_id: int) -> Application:
    _require(user)
    application = (
        _in_territories(Application.objects.all(), user, "invoice__customer")
        .select_related("invoice", "payment")
        .filter(pk=application_id)
        .first()
    )
    if application is None:
        raise PermissionDenied(
            "No such application in your territories.", {"application_id": application_id}
        )
    return application


def applications_by(*, user: UserLike, since) -> int:
    """Applications of cash to invoices the user made since ``since`` and that still stand (the
    home page's "what I did today"). One query."""
    return _applied_by(user, since).count()


def _applied_by(user: UserLike, since):
    return Application.objects.filter(
        applied_by=user, applied_at__gte=since, reversed_at__isnull=True
    )


def applications_list(*, user: UserLike, since, limit: int) -> list[dict]:
    """The applications behind ``applications_by``, the latest first, at most ``limit``: which
    payment went to which invoice, for how much. One query."""
    return list(
        _applied_by(user, since)
        .order_by("-applied_at", "-id")
        .values("id", "amount", "applied_at", "payment_id", "invoice_id",
                invoice_number=F("invoice__number"), currency=F("invoice__currency"),
                customer_name=F("invoice__customer__name"))[:limit]
    )  # fmt: skip
