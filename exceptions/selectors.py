"""Reads for holds and policies, scoped to the queues and territories of the acting user."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, F, Q, QuerySet, Sum
from django.utils import timezone

from core.errors import PermissionDenied
from core.pagination import Page, keyset_page
from core.roles import Role, UserLike, is_system_user, user_roles
from orders.models import ARBalance, InventoryPosition
from orders.selectors import territories_for

from .decisions import Materiality, compared
from .facts import order_facts
from .models import ACTIVE_STATES, Hold, HoldPolicy, HoldReason, HoldState, Notification, Queue
from .rules import Thresholds, credit_position

#: The queues each role works; managers (and the system) see every queue.
QUEUE_OF_ROLE = {
    Role.CREDIT: Queue.CREDIT,
    Role.PRICING: Queue.PRICING,
    Role.WAREHOUSE: Queue.WAREHOUSE,
    Role.CUSTOMER_SERVICE: Queue.CUSTOMER_SERVICE,
    Role.FINANCE: Queue.FINANCE,
    Role.INTEGRATION_ADMIN: Queue.INTEGRATION,
}
#: Queues with a page in this app: every queue a hold reason can route to (the integration
#: queue's unmatched shipments and missed records too). Finance's billing holds are here as
#: well; its invoice approvals have their own page in billing.
WORK_QUEUES = list(Queue)
#: "Due soon": due within this window and not yet overdue. Four hours is the shortest SLA any
#: hold reason has (blocked credit, quantity anomalies): a hold due inside it must be started
#: now to be decided in time, and it is the queue summary's first age bucket.
DUE_SOON = timedelta(hours=4)


@dataclass(frozen=True)
class ResolvedPolicy:
    thresholds: Thresholds
    anomaly_history_orders: int
    maker_checker_amount: Decimal
    model_credit_amount: Decimal
    segment_weight: Decimal
    materiality: Materiality


def policy_for(segment: str) -> ResolvedPolicy:
    """The thresholds in force for a segment: its override row over the global default."""
    return policies_for({segment})[segment]


def policies_for(segments: set[str]) -> dict[str, ResolvedPolicy]:
    """``policy_for`` of several segments in one read (a batch of imported orders)."""
    rows = {row.segment: row for row in HoldPolicy.objects.filter(segment__in=["", *segments])}
    return {segment: _resolved(rows, segment) for segment in segments}


def _resolved(rows: dict, segment: str) -> ResolvedPolicy:
    default = rows.get("")
    if default is None:
        raise RuntimeError("No global HoldPolicy: run migrations, or add one in admin.")
    values = (
        rows[segment].merged_over(default)
        if segment in rows and segment
        else default.merged_over(default)
    )
    return ResolvedPolicy(
        thresholds=HoldPolicy.thresholds_from(values),
        anomaly_history_orders=values["anomaly_history_orders"],
        maker_checker_amount=values["maker_checker_amount"],
        model_credit_amount=values["model_credit_amount"],
        segment_weight=values["segment_weight"],
        materiality=HoldPolicy.materiality_from(values),
    )


def queues_for_user(user: UserLike) -> list[str]:
    if is_system_user(user):
        return list(Queue.values)
    roles = user_roles(user)
    if Role.MANAGER in roles:
        return list(Queue.values)
    return [queue for role, queue in QUEUE_OF_ROLE.items() if role in roles]


def holds_for_user(user: UserLike) -> QuerySet[Hold]:
    """Every hold the user may see: their queues' holds, within their territories."""
    queues = queues_for_user(user)
    if not queues:
        return Hold.objects.none()
    queryset = Hold.objects.filter(queue__in=queues)
    territories = territories_for(user) if not is_system_user(user) else None
    if territories is not None:
        queryset = queryset.filter(order__customer__territory__in=territories)
    return queryset


@dataclass(frozen=True)
class HoldFilters:
    reason: str = ""
    customer: str = ""
    territory: str = ""
    mine: bool = False
    unclaimed: bool = False
    overdue: bool = False
    due_soon: bool = False  # due within DUE_SOON, not yet overdue
    since: datetime | None = None  # raised after this moment ("new since my last visit")
    min_value: Decimal | None = None
    max_value: Decimal | None = None
    sort: str = "priority"


SORTS = {
    "priority": ("-priority_score", "-id"),
    "age": ("raised_at", "id"),
    "value": ("-value_at_risk", "-id"),
}


def _queue_queryset(*, user: UserLike, queue: str | None, filters: HoldFilters) -> QuerySet[Hold]:
    if queue is not None and queue not in queues_for_user(user):
        raise PermissionDenied("This queue belongs to another team.", {"queue": queue})
    queryset = holds_for_user(user).filter(state__in=ACTIVE_STATES)
    if queue is not None:
        queryset = queryset.filter(queue=queue)
    if filters.reason:
        queryset = queryset.filter(reason__code=filters.reason)
    if filters.customer:
        queryset = queryset.filter(
            Q(order__customer__name__icontains=filters.customer)
            | Q(order__customer__number__iexact=filters.customer)
        )
    if filters.territory:
        queryset = queryset.filter(order__customer__territory=filters.territory)
    if filters.mine:
        queryset = queryset.filter(assignee=user)
    if filters.unclaimed:
        queryset = queryset.filter(assignee__isnull=True)
    if filters.overdue:
        queryset = queryset.filter(due_at__lt=timezone.now())
    if filters.due_soon:
        now = timezone.now()
        queryset = queryset.filter(due_at__gte=now, due_at__lt=now + DUE_SOON)
    if filters.since is not None:
        queryset = queryset.filter(raised_at__gt=filters.since)
    if filters.min_value is not None:
        queryset = queryset.filter(value_at_risk__gte=filters.min_value)
    if filters.max_value is not None:
        queryset = queryset.filter(value_at_risk__lte=filters.max_value)
    return queryset


def holds_for_queue(
    *, user: UserLike, queue: str | None, filters: HoldFilters, cursor: str | None, size: int
) -> Page:
    """One page of a queue (or, with queue=None, "My work": the user's claimed holds everywhere)."""
    # Reasons and assignees come by prefetch: at seven joined tables PostgreSQL spends ~10 ms
    # planning the join order, at five ~2 ms, and the two small lookups cost less than that.
    queryset = (
        _queue_queryset(user=user, queue=queue, filters=filters)
        .select_related("order", "order__customer", "line", "line__item")
        .prefetch_related("reason", "assignee")
    )
    return keyset_page(
        queryset, ordering=SORTS.get(filters.sort, SORTS["priority"]), cursor=cursor, size=size
    )


@dataclass(frozen=True, slots=True)
class HoldRow:
    """What a queue's row shows of a hold. Read as values, not as model instances: a page of 50
    holds with their orders, customers, lines and items was ~250 instances, each with django-fsm's
    bookkeeping, and cost about as much as the rest of the page's reads together."""

    id: int
    state: str
    category: str
    queue: str
    value_at_risk: Decimal
    priority_score: Decimal
    raised_at: datetime
    due_at: datetime
    escalation_level: int
    order_id: int
    order_number: str
    customer_name: str
    customer_territory: str
    currency: str  # the order's: the value at risk is in it
    line_id: int | None
    line_number: int | None
    sku: str | None
    reason: HoldReason
    assignee_id: int | None
    assignee: object | None  # the user, shown by name
    suggestion: dict  # triage's recommendation, when its model is in "suggest" mode
    #: an order-anomaly hold's score and its factors in words (None for other holds)
    anomaly_score: str | None
    anomaly_factors: list | None

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def state_label(self) -> str:
        return HoldState(self.state).label


_ROW_FIELDS = (
    *("id", "state", "category", "queue", "value_at_risk", "priority_score", "raised_at"),
    *("due_at", "escalation_level", "order_id", "line_id", "reason_id", "assignee_id"),
    "suggestion",
)
_ROW_RELATED = {
    "order_number": F("order__number"),
    "customer_name": F("order__customer__name"),
    "customer_territory": F("order__customer__territory"),
    "currency": F("order__currency"),
    "line_number": F("line__line_number"),
    "sku": F("line__item__sku"),
    # two keys of the snapshot, not all of it: only an order-anomaly hold has them
    "anomaly_score": F("context__score"),
    "anomaly_factors": F("context__factors"),
}


def _hold_rows(values: list[dict]) -> list[HoldRow]:
    # Reasons and assignees in one small read each rather than two more joins: at seven joined
    # tables PostgreSQL spends ~10 ms planning the join order, at five ~2 ms.
    reasons = HoldReason.objects.in_bulk({row["reason_id"] for row in values})
    assignee_ids = {row["assignee_id"] for row in values if row["assignee_id"]}
    users = get_user_model().objects.in_bulk(assignee_ids) if assignee_ids else {}
    return [
        HoldRow(
            **{k: v for k, v in row.items() if k != "reason_id"},
            reason=reasons[row["reason_id"]],
            assignee=users.get(row["assignee_id"]),
        )
        for row in values
    ]


def queue_rows(
    *, user: UserLike, queue: str | None, filters: HoldFilters, cursor: str | None, size: int
) -> Page:
    """``holds_for_queue`` as the queue page shows it: a page of ``HoldRow``."""
    queryset = _queue_queryset(user=user, queue=queue, filters=filters).values(
        *_ROW_FIELDS, **_ROW_RELATED
    )
    ordering = SORTS.get(filters.sort, SORTS["priority"])
    return keyset_page(queryset, ordering=ordering, cursor=cursor, size=size, build=_hold_rows)


def queue_row(*, user: UserLike, hold_id: int) -> HoldRow:
    """One hold's row, as its queue shows it (after an action on it)."""
    values = list(holds_for_user(user).filter(pk=hold_id).values(*_ROW_FIELDS, **_ROW_RELATED))
    if not values:
        raise PermissionDenied("Hold not found or not in your queues.", {"hold_id": hold_id})
    return _hold_rows(values)[0]


def queue_counts(*, user: UserLike) -> dict[str, int]:
    """Active holds per visible queue, in one query, for the navigation badges."""
    rows = (
        holds_for_user(user)
        .filter(state__in=ACTIVE_STATES)
        .values("queue")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts = {queue: 0 for queue in queues_for_user(user)}
    counts.update({row["queue"]: row["n"] for row in rows})
    return counts


def hold_get(*, user: UserLike, hold_id: int) -> Hold:
    hold = (
        holds_for_user(user)
        .select_related(
            "order", "order__customer", "line", "line__item", "reason", "assignee", "resolved_by"
        )
        .filter(pk=hold_id)
        .first()
    )
    if hold is None:
        raise PermissionDenied("Hold not found or not in your queues.", {"hold_id": hold_id})
    return hold


def holds_of_order(*, order_id: int) -> QuerySet[Hold]:
    return (
        Hold.objects.filter(order_id=order_id)
        .select_related("reason", "assignee", "resolved_by", "line")
        .order_by("-raised_at", "-id")
    )


def blocking_reasons(order, step: str) -> list[str]:
    """The step guard the order lifecycle consults: open holds that block ``step``."""
    if order.pk is None:
        return []
    holds = Hold.objects.filter(
        order_id=order.pk, blocks=step, state__in=ACTIVE_STATES
    ).select_related("reason")
    return [f"{hold.reason.description} ({hold.get_state_display().lower()})" for hold in holds]


def notifications_for(*, user: UserLike):
    return (
        Notification.objects.filter(user=user)
        .select_related("hold__order", "order")
        .order_by("-created_at")
    )


def unread_notifications(*, user: UserLike) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def queue_members(*, queue: str):
    """Active users who work ``queue`` (its role group), for reassignment."""
    return get_user_model().objects.filter(groups__name=queue, is_active=True).order_by("username")


def credit_now(*, hold: Hold) -> dict | None:
    """A credit-limit hold's figures today beside its snapshot: the customer's exposure with the
    orders released since the hold was raised, what is allowed, and the overage (None for other
    holds)."""
    if hold.reason.code != "CREDIT_LIMIT":
        return None
    order = hold.order
    facts = order_facts(order, history_orders=0)
    exposure, allowed = credit_position(facts, policy_for(order.customer.segment).thresholds)
    return {
        "exposure": exposure.quantize(Decimal("0.01")),
        "allowed": allowed,
        "overage": max(exposure - allowed, Decimal("0")).quantize(Decimal("0.01")),
        "released_uninvoiced": facts.customer.released_uninvoiced,
        "snapshot_exposure": Decimal(hold.context.get("exposure", "0")),
    }


def hold_earlier_decision(*, hold: Hold) -> dict:
    """A hold raised again after a material change: the decision it replaces, and each figure
    as it was when released beside the figure now."""
    decision = hold.context.get("earlier_decision")
    if not decision:
        return {}
    return {"earlier_decision": decision, "decision_figures": compared(decision, hold.context)}


def hold_live_context(*, hold: Hold) -> dict:
    """Today's numbers beside the snapshot: AR aging and stock by warehouse for the order's items."""
    item_ids = [line.item_id for line in hold.order.lines.all()]
    return {
        "ar": ARBalance.objects.filter(customer_id=hold.order.customer_id).first(),
        "positions": InventoryPosition.objects.filter(item_id__in=item_ids)
        .annotate(available=F("wms_on_hand") - F("allocated"))
        .select_related("item", "warehouse")
        .order_by("item__sku", "warehouse__code"),
    }


#: Queue summary age buckets, as on the dashboard: (label, lower bound in hours, upper or None).
AGE_BUCKETS = [("0–4 h", 0, 4), ("4–24 h", 4, 24), ("1–3 d", 24, 72), ("> 3 d", 72, None)]


def queue_summary(*, user: UserLike, queue: str | None) -> dict:
    """One aggregate query for the queue page's header: open holds by age, SLA breaches, and
    the value at risk per currency (never summed across currencies)."""
    now = timezone.now()
    buckets = {
        f"b{i}": Count(
            "id",
            filter=Q(raised_at__lte=now - timedelta(hours=low))
            & (Q(raised_at__gt=now - timedelta(hours=high)) if high is not None else Q()),
        )
        for i, (_label, low, high) in enumerate(AGE_BUCKETS)
    }
    queryset = _queue_queryset(user=user, queue=queue, filters=HoldFilters(mine=queue is None))
    rows = list(
        queryset.values(currency=F("order__currency"))
        .annotate(
            open=Count("id"),
            breached=Count("id", filter=Q(due_at__lt=now)),
            value=Sum("value_at_risk"),
            **buckets,
        )
        .order_by("currency")
    )
    return {
        "open": sum(row["open"] for row in rows),
        "breached": sum(row["breached"] for row in rows),
        "values": [(row["currency"], row["value"] or Decimal("0")) for row in rows],
        "ages": [
            (label, sum(row[f"b{i}"] for row in rows))
            for i, (label, _l, _h) in enumerate(AGE_BUCKETS)
        ],
    }
