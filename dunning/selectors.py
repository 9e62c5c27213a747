"""Reads of collections, scoped to the user's role and territories: the worklist (one page of
accounts in a fixed number of queries), a customer's account with its invoices by age, cases,
promises, contacts and tasks, and the standings the credit rule reads."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery
from django.utils import timezone

from billing.models import Invoice
from billing.models.invoice import RECEIVABLE_STATES
from cases.models import ACTIVE_STATES as CASE_ACTIVE_STATES
from cases.models import Case
from core.errors import PermissionDenied
from core.pagination import Page, keyset_page
from core.roles import Role, UserLike, has_role
from orders.models import Customer
from orders.selectors import territories_for

from .models import (
    CollectionAccount,
    CollectionContact,
    CollectionTask,
    ContactLog,
    CustomerStanding,
    PromiseState,
    PromiseToPay,
    Standing,
    TaskState,
)

#: Who sees the worklist and accounts; finance sees them too but does not act.
COLLECTIONS_VIEWERS = (Role.COLLECTIONS, Role.FINANCE, Role.MANAGER)
#: Who logs promises and contacts and does the tasks.
COLLECTORS = (Role.COLLECTIONS, Role.MANAGER)


def sees_collections(user: UserLike) -> bool:
    return has_role(user, *COLLECTIONS_VIEWERS)


def collects(user: UserLike) -> bool:
    return has_role(user, *COLLECTORS)


def standings_of(customer_ids) -> dict[int, str]:
    """Customers on watch or blocked by collections (the credit rule's extension); one query."""
    return dict(
        CustomerStanding.objects.filter(customer_id__in=list(customer_ids))
        .exclude(status=Standing.OK)
        .values_list("customer_id", "status")
    )


def _require(user: UserLike, roles=COLLECTIONS_VIEWERS) -> None:
    if not has_role(user, *roles):
        raise PermissionDenied("Collections are the collectors' (finance and managers see them).")


def _scoped(queryset: QuerySet, user: UserLike, field: str = "customer__territory") -> QuerySet:
    territories = territories_for(user)
    return queryset if territories is None else queryset.filter(**{f"{field}__in": territories})


@dataclass(frozen=True)
class WorklistFilters:
    q: str = ""  # customer name or number
    standing: str = ""  # one of Standing, or empty for all
    mine_tasks: bool = False  # only customers with an open task


def _count(model, **filters) -> Subquery:
    """The number of ``model`` rows of the row's customer matching ``filters``, as a subquery
    evaluated for the page's rows only."""
    return Subquery(
        model.objects.filter(customer_id=OuterRef("customer_id"), **filters)
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")[:1]
    )


def _with_counts(queryset: QuerySet) -> QuerySet:
    """Each row's open cases, open tasks and newest contact log entry, read in the page's own
    query (PostgreSQL evaluates them for the rows it returns only)."""
    return queryset.annotate(
        open_cases=_count(Case, state__in=CASE_ACTIVE_STATES),
        open_tasks=_count(CollectionTask, state=TaskState.OPEN),
        last_contact_id=Subquery(
            ContactLog.objects.filter(customer_id=OuterRef("customer_id"))
            .order_by("-pk")
            .values("pk")[:1]
        ),
    )


@dataclass
class AccountRow:
    """One row of the worklist, read as plain values (model instances were most of its time)."""

    id: int
    customer_id: int
    customer_name: str
    customer_number: str
    currency: str
    open_amount: Decimal
    past_due: Decimal
    days_1_30: Decimal
    days_31_60: Decimal
    days_61_90: Decimal
    days_over_90: Decimal
    days_past_due: int
    score: Decimal
    late_risk: Decimal
    standing_status: str
    open_cases: int
    open_tasks: int
    last_contact_id: int | None
    open_promise: dict | None = None
    last_contact: dict | None = None

    @property
    def standing_label(self) -> str:
        return Standing(self.standing_status).label if self.standing_status else ""


_ACCOUNT_COLUMNS = (
    "id", "customer_id", "currency", "open_amount", "past_due", "days_1_30", "days_31_60",
    "days_61_90", "days_over_90", "days_past_due", "score", "late_risk", "open_cases", "open_tasks",
    "last_contact_id",
)  # fmt: skip
_ACCOUNT_FIELDS = {
    "customer_name": F("customer__name"),
    "customer_number": F("customer__number"),
    "standing_status": F("customer__standing__status"),
}
_CHANNELS = dict(ContactLog.Channel.choices)


def _decorate(rows: list[dict]) -> list[AccountRow]:
    """Each row's open promise and last contact: two queries for the page, whatever its length
    (the counts came with the rows, ``_with_counts``)."""
    accounts = [
        AccountRow(
            **{
                **row,
                "standing_status": row["standing_status"] or "",
                "open_cases": row["open_cases"] or 0,
                "open_tasks": row["open_tasks"] or 0,
            }
        )
        for row in rows
    ]
    ids = {a.customer_id for a in accounts}
    promises = {}
    for promise in (
        PromiseToPay.objects.filter(customer_id__in=ids, state=PromiseState.OPEN)
        .order_by("customer_id", "promised_for")
        .values("customer_id", "amount", "currency", "promised_for")
    ):
        promises.setdefault(promise["customer_id"], promise)
    contacts = {
        entry["customer_id"]: {**entry, "channel_label": _CHANNELS.get(entry["channel"], "")}
        for entry in ContactLog.objects.filter(
            pk__in=[a.last_contact_id for a in accounts if a.last_contact_id]
        ).values("customer_id", "at", "channel")
    }
    for account in accounts:
        account.open_promise = promises.get(account.customer_id)
        account.last_contact = contacts.get(account.customer_id)
    return accounts


def accounts_filtered(*, user: UserLike, filters: WorklistFilters) -> QuerySet:
    """Accounts with money past due that the filters keep (the worklist and its saved views)."""
    _require(user)
    queryset = CollectionAccount.objects.filter(past_due__gt=0)
    queryset = _scoped(queryset, user)
    if filters.q.strip():
        text = filters.q.strip()
        queryset = queryset.filter(customer__name__icontains=text) | queryset.filter(
            customer__number__iexact=text
        )
    if filters.standing in Standing.values:
        if filters.standing == Standing.OK:
            queryset = queryset.exclude(
                customer__standing__status__in=[Standing.WATCH, Standing.BLOCKED]
            )
        else:
            queryset = queryset.filter(customer__standing__status=filters.standing)
    if filters.mine_tasks:
        queryset = queryset.filter(
            customer_id__in=CollectionTask.objects.filter(state=TaskState.OPEN).values(
                "customer_id"
            )
        )
    return queryset


def worklist(*, user: UserLike, filters: WorklistFilters, cursor: str | None, size: int) -> Page:
    """Accounts with money past due, the largest past due × days × risk first."""
    return keyset_page(
        _with_counts(accounts_filtered(user=user, filters=filters)).values(
            *_ACCOUNT_COLUMNS, **_ACCOUNT_FIELDS
        ),
        ordering=("-score", "-id"),
        cursor=cursor,
        size=size,
        build=_decorate,
    )


def customer_for_collections(*, user: UserLike, customer_id: int) -> Customer:
    _require(user)
    customer = _scoped(Customer.objects.filter(pk=customer_id), user, "territory").first()
    if customer is None:
        raise PermissionDenied(
            "Customer not found or not in your territories.", {"customer_id": customer_id}
        )
    return customer


@dataclass
class AccountView:
    customer: Customer
    standing: CustomerStanding | None
    contact: CollectionContact | None
    accounts: list[CollectionAccount]
    invoices: list[Invoice]
    more_invoices: bool
    cases: list[Case]
    promises: list[PromiseToPay]
    contacts: list[ContactLog]
    tasks: list[CollectionTask]


#: Rows of each list on the account page (the oldest invoices first; the newest of the rest).
SHOWN = 50


def account_get(*, user: UserLike, customer_id: int) -> AccountView:
    """A customer as a collector sees them; a fixed number of queries."""
    customer = customer_for_collections(user=user, customer_id=customer_id)
    today = timezone.localdate()
    invoices = list(
        Invoice.objects.filter(customer=customer, state__in=RECEIVABLE_STATES)
        .annotate(open=F("total") - F("settled_amount") - F("credited_amount"))
        .filter(open__gt=0)
        .order_by("due_date", "pk")[: SHOWN + 1]
    )
    for invoice in invoices:
        invoice.days_past_due = max(0, (today - invoice.due_date).days)
    return AccountView(
        customer=customer,
        standing=CustomerStanding.objects.filter(customer=customer).first(),
        contact=CollectionContact.objects.filter(customer=customer).first(),
        accounts=list(CollectionAccount.objects.filter(customer=customer).order_by("currency")),
        invoices=invoices[:SHOWN],
        more_invoices=len(invoices) > SHOWN,
        cases=list(
            Case.objects.filter(customer=customer, state__in=CASE_ACTIVE_STATES)
            .select_related("invoice", "reason")
            .order_by("due_at")[:SHOWN]
        ),
        promises=list(
            PromiseToPay.objects.filter(customer=customer)
            .select_related("created_by")
            .order_by("-created_at")[:SHOWN]
        ),
        contacts=list(
            ContactLog.objects.filter(customer=customer)
            .select_related("by")
            .order_by("-at")[:SHOWN]
        ),
        tasks=list(
            CollectionTask.objects.filter(customer=customer)
            .select_related("done_by")
            .order_by("state", "due_on", "pk")[:SHOWN]
        ),
    )


def task_get(*, user: UserLike, task_id: int) -> CollectionTask:
    _require(user, COLLECTORS)
    task = _scoped(CollectionTask.objects.filter(pk=task_id), user).first()
    if task is None:
        raise PermissionDenied("No such task in your territories.", {"task_id": task_id})
    return task


def worklist_counts(*, user: UserLike) -> dict[str, int]:
    """The worklist's size for the home page: accounts past due in the user's territories, and
    those of them with an open task (the worklist's two filters). One query."""
    _require(user)
    with_task = CollectionTask.objects.filter(
        customer_id=OuterRef("customer_id"), state=TaskState.OPEN
    )
    return _scoped(CollectionAccount.objects.filter(past_due__gt=0), user).aggregate(
        past_due=Count("pk"), with_task=Count("pk", filter=Exists(with_task))
    )
