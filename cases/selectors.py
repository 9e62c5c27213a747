"""Reads of cases, scoped to the user's queues and territories: the queue page, one case with its
evidence (a constant number of queries), and the reason a customer's remittance code means."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from django.db.models import F, Prefetch, Q, QuerySet
from django.db.models.functions import Upper
from django.utils import timezone

from billing.models import InvoiceLine, Shipment, ShipmentLine
from core.errors import PermissionDenied
from core.pagination import Page, keyset_page
from core.roles import Role, UserLike, is_system_user, user_roles
from exceptions.selectors import DUE_SOON
from orders.models import PriceAgreement
from orders.selectors import territories_for

from .models import (
    ACTIVE_STATES,
    Case,
    CasePolicy,
    CaseQueue,
    CaseReason,
    CaseState,
    Category,
    ReasonCodeMapping,
)

#: The role that works each queue; managers work every queue.
QUEUE_OF_ROLE = {
    Role.PRICING: CaseQueue.PRICING,
    Role.WAREHOUSE: CaseQueue.WAREHOUSE,
    Role.CUSTOMER_SERVICE: CaseQueue.CUSTOMER_SERVICE,
    Role.FINANCE: CaseQueue.FINANCE,
    Role.CASH_APPLICATION: CaseQueue.CASH_APPLICATION,
}
#: Everyone who works some case queue (the pages' role gate).
CASE_ROLES = (*QUEUE_OF_ROLE, Role.MANAGER)
#: Who approves a credit above the policy's limit (a second person, never the one who agreed it).
CREDIT_APPROVER_ROLES = (Role.FINANCE, Role.MANAGER)
#: Who opens a dispute from a customer's complaint.
DISPUTE_ROLES = (Role.CUSTOMER_SERVICE, Role.MANAGER)


def customer_of_login(user: UserLike):
    """The customer a customer login speaks for, or None for everyone else."""
    from .models import CustomerLogin

    if not getattr(user, "is_authenticated", False):
        return None
    login = CustomerLogin.objects.filter(user_id=user.pk).select_related("customer").first()
    return login.customer if login else None


def disputes_for_user(user: UserLike) -> QuerySet[Case]:
    """Disputes the user may follow: a customer login its customer's; the desk its queues'."""
    customer = customer_of_login(user)
    if customer is not None:
        queryset = Case.objects.filter(customer=customer)
    else:
        queryset = cases_for_user(user)
    return queryset.filter(kind=Case.Kind.DISPUTE).select_related(
        "invoice", "reason", "credit_memo"
    )


def case_queues_for_user(user: UserLike) -> list[str]:
    if is_system_user(user) or Role.MANAGER in user_roles(user):
        return list(CaseQueue.values)
    roles = user_roles(user)
    return [queue for role, queue in QUEUE_OF_ROLE.items() if role in roles]


def cases_for_user(user: UserLike) -> QuerySet[Case]:
    """Every case the user may open: their queues' cases, within their territories."""
    queues = case_queues_for_user(user)
    if not queues:
        return Case.objects.none()
    visible = Q(queue__in=queues)
    if user_roles(user) & set(CREDIT_APPROVER_ROLES):
        visible |= Q(state=CaseState.AWAITING)  # finance approves credits of every queue
    queryset = Case.objects.filter(visible)
    territories = territories_for(user)
    if territories is not None:
        queryset = queryset.filter(customer__territory__in=territories)
    return queryset


def case_get(*, user: UserLike, case_id: int) -> Case:
    case = (
        cases_for_user(user)
        # what every case shows; its payment, resolver and memo (a closed or paid case's) are
        # read when shown: seven joins took longer to plan than the case page to render
        .select_related("customer", "invoice", "reason", "claimed_by")
        .filter(pk=case_id)
        .first()
    )
    if case is None:
        raise PermissionDenied("No such case in your queues.", {"case_id": case_id})
    return case


@dataclass(frozen=True)
class CaseFilters:
    queue: str = ""
    state: str = ""  # "" means every open state
    mine: bool = False
    overdue: bool = False  # past its due date
    due_soon: bool = False  # due within DUE_SOON, not yet overdue
    since: datetime | None = None  # opened after this moment ("new since my last visit")


@dataclass(frozen=True)
class CaseRow:
    """One row of the case queue, read as plain values (model instances, with their state
    machine's set-up, were most of the page's time)."""

    id: int
    kind: str
    customer_name: str
    customer_number: str
    invoice_number: str
    amount: Decimal
    currency: str
    reason_name: str
    remittance_code: str
    queue: str
    due_at: datetime
    escalation_level: int
    state: str
    suggestion: dict
    claimed_by: str

    kind_label: str
    queue_label: str
    state_label: str

    @property
    def pk(self) -> int:
        return self.id


#: Labels by value, looked up once (an enum built per row and label was a tenth of the page).
_KINDS, _QUEUES, _STATES = (
    dict(Case.Kind.choices),
    dict(CaseQueue.choices),
    dict(CaseState.choices),
)


_ROW_FIELDS = {
    "customer_name": F("customer__name"),
    "customer_number": F("customer__number"),
    "invoice_number": F("invoice__number"),
    "reason_name": F("reason__name"),
    "claimed_by_name": F("claimed_by__username"),
}
_ROW_COLUMNS = (
    "id", "kind", "amount", "currency", "remittance_code", "queue", "due_at",
    "escalation_level", "state", "suggestion",
)  # fmt: skip


def _case_rows(rows) -> list[CaseRow]:
    return [
        CaseRow(
            **{name: row[name] for name in _ROW_COLUMNS},
            customer_name=row["customer_name"],
            customer_number=row["customer_number"],
            invoice_number=row["invoice_number"],
            reason_name=row["reason_name"],
            claimed_by=row["claimed_by_name"] or "",
            kind_label=_KINDS.get(row["kind"], row["kind"]),
            queue_label=_QUEUES.get(row["queue"], row["queue"]),
            state_label=_STATES.get(row["state"], row["state"]),
        )
        for row in rows
    ]


def cases_filtered(*, user: UserLike, filters: CaseFilters) -> QuerySet[Case]:
    """The open cases of the user's queues that the filters keep (the queue and its saved views)."""
    queryset = cases_for_user(user)
    if filters.queue:
        queryset = queryset.filter(queue=filters.queue)
    states = [filters.state] if filters.state in ACTIVE_STATES else list(ACTIVE_STATES)
    queryset = queryset.filter(state__in=states)
    if filters.mine:
        queryset = queryset.filter(claimed_by=user)
    if filters.overdue or filters.due_soon:
        now = timezone.now()
        if filters.overdue:
            queryset = queryset.filter(due_at__lt=now)
        if filters.due_soon:
            queryset = queryset.filter(due_at__gte=now, due_at__lt=now + DUE_SOON)
    if filters.since is not None:
        queryset = queryset.filter(opened_at__gt=filters.since)
    return queryset


def case_queue(*, user: UserLike, filters: CaseFilters, cursor: str | None, size: int) -> Page:
    """Open cases of the user's queues, the soonest due first (keyset on due date and id)."""
    return keyset_page(
        cases_filtered(user=user, filters=filters).values(*_ROW_COLUMNS, **_ROW_FIELDS),
        ordering=("due_at", "id"),
        cursor=cursor,
        size=size,
        build=_case_rows,
    )


def case_row(*, user: UserLike, case_id: int) -> CaseRow:
    """One case as the queue shows it (a claim re-renders its row)."""
    rows = _case_rows(cases_for_user(user).filter(pk=case_id).values(*_ROW_COLUMNS, **_ROW_FIELDS))
    if not rows:
        raise PermissionDenied("No such case in your queues.", {"case_id": case_id})
    return rows[0]


def case_policy() -> CasePolicy:
    return CasePolicy.objects.order_by("pk").first() or CasePolicy.objects.create()


def reasons_for_codes(wanted: set[tuple[int, str]]) -> dict[tuple[int, str], CaseReason]:
    """``reason_for_code`` for many (customer, code) pairs in one query: the pairs somebody
    mapped, each to its reason (the customer's own mapping first, then one for everyone)."""
    codes = {code.strip().upper() for _, code in wanted} - {""}
    if not codes:
        return {}
    customers = sorted({customer_id for customer_id, _ in wanted})
    mapped: dict[tuple[int | None, str], CaseReason] = {}
    for mapping in (
        ReasonCodeMapping.objects.annotate(key=Upper("code"))
        .filter(key__in=sorted(codes))
        .filter(Q(customer_id__any=customers) | Q(customer__isnull=True))
        .select_related("reason")
        .order_by("pk")
    ):
        mapped.setdefault((mapping.customer_id, mapping.key), mapping.reason)
    found = {}
    for customer_id, code in wanted:
        key = code.strip().upper()
        reason = mapped.get((customer_id, key)) or mapped.get((None, key))
        if key and reason is not None:
            found[(customer_id, code)] = reason
    return found


def other_reason() -> CaseReason:
    """The reason of a deduction whose code nobody mapped; made again if admin removed it, so an
    unmapped code never stops cash from being applied."""
    reason = CaseReason.objects.filter(category=Category.OTHER).order_by("pk").first()
    if reason is None:
        reason, _ = CaseReason.objects.get_or_create(
            code="OTHER",
            defaults={
                "name": "Other",
                "category": Category.OTHER,
                "queue": CaseQueue.CASH_APPLICATION,
            },
        )
    return reason


@dataclass
class Evidence:
    invoice_lines: list = field(default_factory=list)
    shipments: list = field(default_factory=list)
    #: item id -> the price agreement in force on the invoice date (None: list price)
    prices: dict = field(default_factory=dict)
    earlier_cases: list = field(default_factory=list)


def case_evidence(case: Case) -> Evidence:
    """What a case is judged on, gathered in a constant number of queries (five): the invoice's
    lines, the shipments behind them with their lines and proof of delivery, the price agreement
    in force for each line's item on the invoice date, and earlier cases of the same customer
    and reason."""
    lines = list(
        InvoiceLine.objects.filter(invoice_id=case.invoice_id)
        .select_related("order_line__item", "shipment_line")
        .order_by("line_number")
    )
    shipment_ids = {line.shipment_line.shipment_id for line in lines}
    shipments = list(
        Shipment.objects.filter(pk__in=shipment_ids)
        .prefetch_related(
            Prefetch("lines", ShipmentLine.objects.select_related("order_line__item"))
        )
        .order_by("shipped_at", "pk")
    )
    on = case.invoice.issued_on
    item_ids = {line.order_line.item_id for line in lines}
    prices: dict = dict.fromkeys(item_ids)
    for agreement in (
        PriceAgreement.objects.filter(
            customer_id=case.customer_id, item_id__in=item_ids, valid_from__lte=on
        )
        .filter(Q(valid_to__isnull=True) | Q(valid_to__gte=on))
        .order_by("valid_from", "pk")
    ):
        prices[agreement.item_id] = agreement  # the latest start wins
    for line in lines:
        line.agreement = prices[line.order_line.item_id]
    earlier = list(
        Case.objects.filter(customer_id=case.customer_id, reason_id=case.reason_id)
        .exclude(pk=case.pk)
        .select_related("invoice")
        .order_by("-opened_at", "-id")[:10]
    )
    return Evidence(invoice_lines=lines, shipments=shipments, prices=prices, earlier_cases=earlier)
