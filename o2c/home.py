"""What a person's home page shows: what needs them now (their claimed items, what is overdue,
due soon and new in their queues), what they did today, their queues' summaries and, for
managers, the SLA breaches across queues. Each figure carries the URL of the list behind it.
Every read is an app's selector scoped to the user; the page costs a fixed number of queries."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import partial
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import timezone

from billing import selectors as billing
from billing.models import InvoiceState
from cases import workload as cases
from cases.models import CaseState
from cases.selectors import case_queues_for_user
from core.roles import Role, UserLike, has_role, user_roles
from dunning import selectors as dunning
from exceptions import workload as holds
from exceptions.selectors import DUE_SOON, queues_for_user
from integrations import selectors as integrations
from orders import selectors as orders
from orders.models import Order
from receivables import queue as cash
from receivables.models import OPEN_STATES as PAYMENT_OPEN_STATES
from receivables.models import PaymentState

#: How many claimed items, and how many SLA breaches, the page lists by name; the counts beside
#: them link to the whole list.
LIST_SIZE = 10
#: How many decisions of a kind the "today" page lists; its count says when there are more.
TODAY_LIMIT = 200
#: Roles whose work the company's orders by status are: customer service enters and fixes
#: orders, managers watch the flow. For anyone else the tiles were somebody else's work.
ORDER_TILE_ROLES = (Role.CUSTOMER_SERVICE, Role.MANAGER)


@dataclass(frozen=True)
class Figure:
    """A number and the filtered list it counts (``url`` is None where no list exists)."""

    label: str
    count: int
    url: str | None = None


@dataclass
class QueueRow:
    """One queue the person works, with its figures each linking to the queue filtered so."""

    kind: str  # "Holds" or "Cases"
    label: str
    open: Figure
    overdue: Figure
    due_soon: Figure
    new: Figure
    mine: Figure
    values: list = field(default_factory=list)  # (currency, value at risk), holds only
    oldest_due: datetime | None = None

    @property
    def figures(self) -> list[Figure]:
        return [self.open, self.overdue, self.due_soon, self.new, self.mine]


def _url(name: str, args=(), **query) -> str:
    url = reverse(name, args=args)
    query = {key: value for key, value in query.items() if value not in (None, "", False)}
    return f"{url}?{urlencode(query)}" if query else url


def _queue_row(kind: str, load, since, list_url) -> QueueRow:
    """``load``'s figures, each linked to ``list_url(**filters)``: the queue filtered so."""
    return QueueRow(
        kind=kind,
        label=load.label,
        open=Figure("open", load.open, list_url()),
        overdue=Figure("overdue", load.overdue, list_url(overdue="on")),
        due_soon=Figure("due soon", load.due_soon, list_url(due_soon="on")),
        # a first visit has no "since": nothing counts as new, and there is no list to link
        new=Figure("new", load.new, list_url(since=since.isoformat()) if since else None),
        mine=Figure("claimed by me", load.mine, list_url(mine="on")),
        values=getattr(load, "values", None) or [],
        oldest_due=load.oldest_due,
    )


def _hold_rows(loads, since) -> list[QueueRow]:
    return [
        _queue_row("Holds", load, since, partial(_url, "exceptions:queue", (load.queue,)))
        for load in loads
    ]


def _case_rows(loads, since) -> list[QueueRow]:
    return [
        _queue_row("Cases", load, since, partial(_url, "cases:queue", queue=load.queue))
        for load in loads
    ]


def _other_work(user: UserLike, roles: frozenset, since) -> list[Figure]:
    """Work that is not a hold or case queue: invoices to approve, payments to apply, accounts
    to chase, orders likely to ship late, dead letters. Only the roles whose work each is."""
    figures = []
    if roles & {Role.FINANCE, Role.MANAGER}:
        figures.append(
            Figure(
                "invoices waiting for approval",
                billing.pending_count(user=user),
                reverse("billing:queue"),
            )
        )
    if roles & {Role.CASH_APPLICATION, Role.MANAGER}:
        counts = cash.payment_counts(user=user)
        for state in PAYMENT_OPEN_STATES:
            figures.append(
                Figure(
                    f"payments {PaymentState(state).label.lower()}",
                    counts.get(state, 0),
                    _url("receivables:queue", state=state),
                )
            )
    if roles & {Role.COLLECTIONS, Role.MANAGER}:
        counts = dunning.worklist_counts(user=user)
        figures.append(Figure("accounts past due", counts["past_due"], reverse("dunning:worklist")))
        figures.append(
            Figure(
                "past-due accounts with an open task",
                counts["with_task"],
                _url("dunning:worklist", tasks="on"),
            )
        )
    if roles & {Role.CUSTOMER_SERVICE, Role.MANAGER}:
        counts = orders.ship_watch_count(user=user, since=since)
        figures.append(
            Figure("orders likely to ship late", counts["open"], reverse("orders:at-risk"))
        )
    if roles & {Role.INTEGRATION_ADMIN, Role.MANAGER}:
        dead = integrations.dead_letter_counts()
        figures.append(
            Figure(
                "inbound dead letters",
                dead["inbox"],
                _url("integrations:inbox", state="dead"),
            )
        )
        figures.append(
            Figure(
                "outbound dead messages",
                dead["outbox"],
                _url("integrations:outbox", state="dead"),
            )
        )
    return figures


def _done_today(user: UserLike, roles: frozenset, start: datetime, has_holds, has_cases):
    """What the person decided since the start of their day (in their time zone), each figure
    linking to its section of the "today" page, which lists the decisions themselves."""
    today = reverse("home-today")
    done = []
    if has_holds:
        decided = holds.holds_decided_by(user=user, since=start)
        done += [
            Figure("holds released", decided["released"], f"{today}#holds-released"),
            Figure("holds rejected", decided["rejected"], f"{today}#holds-rejected"),
        ]
    if has_cases:
        resolved = cases.cases_resolved_by(user=user, since=start)
        done.append(Figure("cases resolved", resolved, f"{today}#cases-resolved"))
    if roles & {Role.FINANCE, Role.MANAGER}:
        approved = billing.invoices_approved_by(user=user, since=start)
        done.append(Figure("invoices approved", approved, f"{today}#invoices-approved"))
    if roles & {Role.CASH_APPLICATION, Role.MANAGER}:
        applied = cash.applications_by(user=user, since=start)
        done.append(Figure("payments applied", applied, f"{today}#payments-applied"))
    return done


@dataclass(frozen=True)
class Done:
    """One decision on the "today" page: when, what it was about, the customer, the money and
    where the item stands now (each optional), and the item's page."""

    at: datetime
    what: str
    url: str
    customer: str = ""
    amount: Decimal | None = None
    currency: str = ""
    status: str = ""


@dataclass
class DoneSection:
    anchor: str
    figure: Figure
    items: list[Done] = field(default_factory=list)


def _hold_done(row: dict) -> Done:
    return Done(
        row["resolved_at"],
        f"Hold {row['id']} · order {row['order_number']}",
        reverse("exceptions:hold", args=[row["id"]]),
        customer=row["customer_name"],
        status=row["reason_text"],
    )


def _listed_today(user: UserLike, start: datetime, kinds: set[str]) -> dict[str, list[Done]]:
    """The decisions behind each figure, the latest first, at most ``TODAY_LIMIT`` of a kind."""
    listed: dict[str, list[Done]] = {}
    if kinds & {"holds-released", "holds-rejected"}:
        rows = holds.holds_decided_list(user=user, since=start, limit=2 * TODAY_LIMIT)
        for state in ("released", "rejected"):
            mine = [_hold_done(row) for row in rows if row["state"] == state]
            listed[f"holds-{state}"] = mine[:TODAY_LIMIT]
    if "cases-resolved" in kinds:
        listed["cases-resolved"] = [
            Done(row["resolved_at"], f"Case {row['id']} · {row['kind']}",
                 reverse("cases:case", args=[row["id"]]), row["customer_name"], row["amount"],
                 row["currency"], CaseState(row["state"]).label)
            for row in cases.cases_resolved_list(user=user, since=start, limit=TODAY_LIMIT)
        ]  # fmt: skip
    if "invoices-approved" in kinds:
        listed["invoices-approved"] = [
            Done(row["approved_at"], f"Invoice {row['number']}",
                 reverse("billing:invoice", args=[row["id"]]), row["customer_name"],
                 row["total"], row["currency"], InvoiceState(row["state"]).label)
            for row in billing.invoices_approved_list(user=user, since=start, limit=TODAY_LIMIT)
        ]  # fmt: skip
    if "payments-applied" in kinds:
        listed["payments-applied"] = [
            Done(row["applied_at"], f"Payment to invoice {row['invoice_number']}",
                 reverse("receivables:payment", args=[row["payment_id"]]), row["customer_name"],
                 row["amount"], row["currency"])
            for row in cash.applications_list(user=user, since=start, limit=TODAY_LIMIT)
        ]  # fmt: skip
    return listed


def today_for(*, user: UserLike, now: datetime | None = None) -> list[DoneSection]:
    """The "today" page: each kind of decision the person can make, with its count and the
    decisions themselves since the start of their day. A fixed number of queries."""
    now = now or timezone.now()
    roles = user_roles(user)
    start = _start_of_day(now)
    has_holds, has_cases = bool(queues_for_user(user)), bool(case_queues_for_user(user))
    figures = _done_today(user, roles, start, has_holds, has_cases)
    anchors = [figure.url.rsplit("#", 1)[1] for figure in figures]
    listed = _listed_today(user, start, set(anchors))
    return [
        DoneSection(anchor, figure, listed.get(anchor, []))
        for anchor, figure in zip(anchors, figures, strict=True)
    ]


def _start_of_day(now: datetime) -> datetime:
    return timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)


def _breaches(user: UserLike, now: datetime, rows: list[QueueRow]) -> dict:
    """Managers: the queues past SLA, the longest overdue first, and the oldest items by name."""
    queues = sorted(
        (row for row in rows if row.overdue.count), key=lambda row: (row.oldest_due, row.label)
    )
    items = [
        {
            "kind": "Hold",
            "queue": b.label,
            "what": f"{b.order_number} · {b.customer_name}",
            "reason": b.reason,
            "due_at": b.due_at,
            "url": reverse("orders:detail", args=[b.order_id]),
        }
        for b in holds.hold_breaches(user=user, now=now, limit=LIST_SIZE)
    ] + [
        {
            "kind": c.kind,
            "queue": c.label,
            "what": f"Case {c.id} · {c.customer_name}",
            "reason": c.reason,
            "due_at": c.due_at,
            "url": reverse("cases:case", args=[c.id]),
        }
        for c in cases.case_breaches(user=user, now=now, limit=LIST_SIZE)
    ]
    items.sort(key=lambda item: item["due_at"])
    return {"queues": queues, "items": items[:LIST_SIZE]}


def home_for(*, user: UserLike, since: datetime | None, now: datetime | None = None) -> dict:
    """Everything the home page shows ``user``: ``since`` is their previous visit (None on a
    first one)."""
    now = now or timezone.now()
    roles = user_roles(user)
    if not roles:
        return {}
    start_of_day = _start_of_day(now)
    hold_loads = holds.hold_workload(user=user, since=since, now=now)
    case_loads = cases.case_workload(user=user, since=since, now=now)
    queue_rows = _hold_rows(hold_loads, since) + _case_rows(case_loads, since)
    claimed_holds = holds.holds_claimed(user=user, limit=LIST_SIZE) if hold_loads else []
    claimed_cases = cases.cases_claimed(user=user, limit=LIST_SIZE) if case_loads else []
    done_today = _done_today(user, roles, start_of_day, bool(hold_loads), bool(case_loads))
    context = {
        "now": now,
        "since": since,
        "due_soon_hours": int(DUE_SOON.total_seconds() // 3600),
        "queue_rows": queue_rows,
        "claimed": {
            "holds": claimed_holds,
            "holds_total": Figure(
                "holds claimed by me",
                sum(load.mine for load in hold_loads),
                reverse("exceptions:mine"),
            ),
            "cases": claimed_cases,
            "cases_total": Figure(
                "cases claimed by me",
                sum(load.mine for load in case_loads),
                _url("cases:queue", mine="on"),
            ),
        },
        "has_holds": bool(hold_loads),
        "has_cases": bool(case_loads),
        "other_work": _other_work(user, roles, since),
        "done_today": done_today,
        "done_any": any(figure.count for figure in done_today),
        "breaches": _breaches(user, now, queue_rows) if Role.MANAGER in roles else None,
        "state_counts": None,
        "worker": None,
    }
    if roles & set(ORDER_TILE_ROLES):
        counts = orders.order_state_counts(user=user)
        context["state_counts"] = [
            (label, value, counts.get(value, 0))
            for value, label in Order._meta.get_field("state").choices
        ]
    if has_role(user, Role.INTEGRATION_ADMIN):
        context["worker"] = integrations.worker_status()
    return context
