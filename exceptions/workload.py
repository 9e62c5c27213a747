"""Reads for a person's home page about holds: their queues' workload, what they hold, what they
decided today and, for managers, where the SLA is breached. A fixed number of queries each."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Count, F, Min, Q, Sum

from core.roles import UserLike

from .models import ACTIVE_STATES, Hold, HoldState, Queue
from .selectors import DUE_SOON, holds_for_user, queues_for_user

_LABELS = dict(Queue.choices)


@dataclass
class QueueLoad:
    """One queue's active holds as the home page counts them; values per currency, never summed
    across currencies."""

    queue: str
    label: str
    open: int = 0
    overdue: int = 0
    due_soon: int = 0
    new: int = 0
    mine: int = 0
    oldest_due: datetime | None = None
    values: list[tuple[str, Decimal]] | None = None


def hold_workload(*, user: UserLike, since: datetime | None, now: datetime) -> list[QueueLoad]:
    """Every queue the user works, with its active holds counted: open, overdue, due within
    ``DUE_SOON``, raised after ``since``, claimed by the user, and value at risk. One query."""
    # "since" None (a first visit) counts nothing as new: everything would be, which says nothing.
    new = Q(raised_at__gt=since) if since is not None else Q(pk__in=[])
    rows = (
        holds_for_user(user)
        .filter(state__in=ACTIVE_STATES)
        .values("queue", currency=F("order__currency"))
        .annotate(
            n=Count("id"),
            overdue=Count("id", filter=Q(due_at__lt=now)),
            due_soon=Count("id", filter=Q(due_at__gte=now, due_at__lt=now + DUE_SOON)),
            new=Count("id", filter=new),
            mine=Count("id", filter=Q(assignee=user)),
            oldest_due=Min("due_at"),
            value=Sum("value_at_risk"),
        )
        .order_by("queue", "currency")
    )
    loads = {queue: QueueLoad(queue, _LABELS[queue], values=[]) for queue in queues_for_user(user)}
    for row in rows:
        load = loads.get(row["queue"])
        if load is None:  # a hold in a queue that is no longer the user's (cannot happen today)
            continue
        load.open += row["n"]
        load.overdue += row["overdue"]
        load.due_soon += row["due_soon"]
        load.new += row["new"]
        load.mine += row["mine"]
        if row["overdue"] and (load.oldest_due is None or row["oldest_due"] < load.oldest_due):
            load.oldest_due = row["oldest_due"]
        load.values.append((row["currency"], row["value"] or Decimal("0")))
    return list(loads.values())


@dataclass(frozen=True)
class ListedHold:
    """A hold the home page names: claimed by the person, or past its SLA."""

    id: int
    queue: str
    label: str
    order_id: int
    order_number: str
    customer_name: str
    reason: str
    due_at: datetime


def _listed(queryset, limit: int) -> list[ListedHold]:
    """The holds of ``queryset``, the soonest (or longest overdue) first, at most ``limit``; one
    query."""
    rows = queryset.order_by("due_at", "id").values(
        "id",
        "queue",
        "order_id",
        "due_at",
        order_number=F("order__number"),
        customer_name=F("order__customer__name"),
        reason_text=F("reason__description"),
    )[:limit]
    return [
        ListedHold(
            id=row["id"],
            queue=row["queue"],
            label=_LABELS.get(row["queue"], row["queue"]),
            order_id=row["order_id"],
            order_number=row["order_number"],
            customer_name=row["customer_name"],
            reason=row["reason_text"],
            due_at=row["due_at"],
        )
        for row in rows
    ]


def holds_claimed(*, user: UserLike, limit: int) -> list[ListedHold]:
    """The user's claimed active holds, the soonest due first, at most ``limit``."""
    return _listed(holds_for_user(user).filter(assignee=user, state__in=ACTIVE_STATES), limit)


def _decided_by(user: UserLike, since: datetime):
    return Hold.objects.filter(
        resolved_by=user, resolved_at__gte=since, state__in=[HoldState.RELEASED, HoldState.REJECTED]
    )


def holds_decided_list(*, user: UserLike, since: datetime, limit: int) -> list[dict]:
    """The holds behind ``holds_decided_by``, the latest first, at most ``limit``: what the
    person released or rejected, on which order, and when. One query."""
    return list(
        _decided_by(user, since)
        .order_by("-resolved_at", "-id")
        .values(
            "id",
            "state",
            "resolved_at",
            "order_id",
            order_number=F("order__number"),
            customer_name=F("order__customer__name"),
            reason_text=F("reason__description"),
        )[:limit]
    )


def holds_decided_by(*, user: UserLike, since: datetime) -> dict[str, int]:
    """Holds the user released or rejected since ``since`` (the start of their day), by state.
    One query on the resolver's index."""
    rows = _decided_by(user, since).values_list("state").annotate(n=Count("id")).order_by()
    counts = {HoldState.RELEASED.value: 0, HoldState.REJECTED.value: 0}
    counts.update(dict(rows))
    return counts


def hold_breaches(*, user: UserLike, now: datetime, limit: int) -> list[ListedHold]:
    """The active holds past their SLA in the user's queues, the longest overdue first, at most
    ``limit`` (the partial active indexes hold the candidates)."""
    return _listed(holds_for_user(user).filter(state__in=ACTIVE_STATES, due_at__lt=now), limit)
