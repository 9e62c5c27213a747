"""Reads for a person's home page about cases: their case queues' workload, what they have
claimed, what they resolved today and, for managers, the cases past due. A fixed number of
queries each."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Min, Q

from core.roles import UserLike
from exceptions.selectors import DUE_SOON

from .models import ACTIVE_STATES, CLOSED_STATES, Case, CaseQueue
from .selectors import case_queues_for_user, cases_for_user

_LABELS = dict(CaseQueue.choices)


@dataclass
class CaseLoad:
    """One case queue's active cases as the home page counts them."""

    queue: str
    label: str
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    new: int = 0
    mine: int = 0
    oldest_due: datetime | None = None


def case_workload(*, user: UserLike, since: datetime | None, now: datetime) -> list[CaseLoad]:
    """Every case queue the user works, with its active cases counted: open, overdue, due within
    ``DUE_SOON``, opened after ``since``, claimed by the user. One query."""
    new = Q(opened_at__gt=since) if since is not None else Q(pk__in=[])
    rows = (
        cases_for_user(user)
        .filter(state__in=ACTIVE_STATES)
        .values("queue")
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_at__lt=now)),
            due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
            new=Count("id", filter=new),
            mine=Count("id", filter=Q(claimed_by=user)),
            oldest_overdue=Min("due_at", filter=Q(due_at__lt=now)),
        )
        .order_by("queue")
    )
    loads = {q: CaseLoad(q, _LABELS[q]) for q in case_queues_for_user(user)}
    for row in rows:
        # finance sees credits awaiting approval from every queue: they count under its own
        load = loads.get(row["queue"])
        if load is None:
            continue
        load.open, load.overdue, load.due_soon = row["n"], row["overdue"], row["due_soon"]
        load.new, load.mine, load.oldest_due = row["new"], row["mine"], row["oldest_overdue"]
    return list(loads.values())


@dataclass(frozen=True)
class CaseItem:
    id: int
    kind: str
    queue: str
    label: str
    customer_name: str
    reason: str
    due_at: datetime


def _items(queryset, limit: int) -> list[CaseItem]:
    rows = queryset.order_by("due_at", "id").values(
        "id",
        "kind",
        "queue",
        "due_at",
        customer_name=F("customer__name"),
        reason_name=F("reason__name"),
    )[:limit]
    return [
        CaseItem(
            id=row["id"],
            kind=Case.Kind(row["kind"]).label,
            queue=row["queue"],
            label=_LABELS.get(row["queue"], row["queue"]),
            customer_name=row["customer_name"],
            reason=row["reason_name"],
            due_at=row["due_at"],
        )
        for row in rows
    ]


def cases_claimed(*, user: UserLike, limit: int) -> list[CaseItem]:
    """The user's claimed active cases, the soonest due first, at most ``limit``. One query."""
    return _items(cases_for_user(user).filter(claimed_by=user, state__in=ACTIVE_STATES), limit)


def case_breaches(*, user: UserLike, now: datetime, limit: int) -> list[CaseItem]:
    """Active cases past due in the user's queues, the longest overdue first. One query."""
    return _items(cases_for_user(user).filter(state__in=ACTIVE_STATES, due_at__lt=now), limit)


def cases_resolved_by(*, user: UserLike, since: datetime) -> int:
    """Cases the user closed since ``since`` (the start of their day). One query."""
    return _resolved_by(user, since).count()


def _resolved_by(user: UserLike, since: datetime):
    return Case.objects.filter(resolved_by=user, resolved_at__gte=since, state__in=CLOSED_STATES)


def cases_resolved_list(*, user: UserLike, since: datetime, limit: int) -> list[dict]:
    """The cases behind ``cases_resolved_by``, the latest first, at most ``limit``. One query."""
    return list(
        _resolved_by(user, since)
        .order_by("-resolved_at", "-id")
        .values(
            "id", "kind", "state", "resolved_at", "amount", "currency",
            customer_name=F("customer__name"),
        )[:limit]
    )  # fmt: skip
