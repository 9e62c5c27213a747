"""Reads for orders and master data, always scoped to what the acting user may see."""

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from core.errors import PermissionDenied
from core.pagination import Page, keyset_page
from core.roles import ORDER_VIEWER_ROLES, UserLike, is_system_user, user_roles

from .extensions import order_extensions
from .models import WATCHED_STATES, Customer, Item, Order, OrderLine, ShipTo, ShipWatch, WatchState

ORDER_LIST_ORDERING = ("-received_at", "-id")


def territories_for(user: UserLike) -> list[str] | None:
    """Territories the user is limited to, or None when the user sees every territory."""
    cached = getattr(user, "_o2c_territories", False)
    if cached is not False:
        return cached
    if is_system_user(user):
        return None  # the connectors' identity acts on every order (and is looked up afresh often)
    names = (
        list(user.territories.values_list("territory", flat=True)) if user.is_authenticated else []
    )
    result = names or None
    user._o2c_territories = result
    return result


def can_view_orders(user: UserLike) -> bool:
    return is_system_user(user) or bool(user_roles(user) & ORDER_VIEWER_ROLES)


def customers_for_user(user: UserLike) -> QuerySet[Customer]:
    if not can_view_orders(user):
        return Customer.objects.none()
    queryset = Customer.objects.all()
    territories = territories_for(user)
    if territories is not None:
        queryset = queryset.filter(territory__in=territories)
    return queryset


def orders_for_user(user: UserLike) -> QuerySet[Order]:
    """Every order the user may open: none without a role, only their territories if assigned."""
    if not can_view_orders(user):
        return Order.objects.none()
    queryset = Order.objects.all()
    territories = territories_for(user)
    if territories is not None:
        queryset = queryset.filter(customer__territory__in=territories)
    return queryset


@dataclass(frozen=True)
class OrderFilters:
    state: str = ""
    channel: str = ""
    customer_id: int | None = None
    received_from: date | None = None
    received_to: date | None = None
    search: str = ""
    segment: str = ""
    territory: str = ""
    #: "yes": orders that ever had a hold; "no": touchless ones; "": both.
    held: str = ""


def order_list(*, user: UserLike, filters: OrderFilters, cursor: str | None, size: int) -> Page:
    return keyset_page(
        orders_filtered(user=user, filters=filters),
        ordering=ORDER_LIST_ORDERING,
        cursor=cursor,
        size=size,
    )


def orders_filtered(*, user: UserLike, filters: OrderFilters) -> QuerySet[Order]:
    """The user's orders matching the filters (the list page, its CSV export, the API)."""
    queryset = orders_for_user(user).select_related("customer")
    if filters.state:
        queryset = queryset.filter(state=filters.state)
    if filters.channel:
        queryset = queryset.filter(channel=filters.channel)
    if filters.customer_id:
        queryset = queryset.filter(customer_id=filters.customer_id)
    if filters.received_from:
        queryset = queryset.filter(received_at__date__gte=filters.received_from)
    if filters.received_to:
        queryset = queryset.filter(received_at__date__lte=filters.received_to)
    if filters.segment:
        queryset = queryset.filter(customer__segment=filters.segment)
    if filters.territory:
        queryset = queryset.filter(customer__territory=filters.territory)
    if filters.held:
        # Holds live in a higher app; the reverse relation "holds" is all orders needs to know.
        hold_model = Order._meta.get_field("holds").related_model
        ever_held = Exists(hold_model.objects.filter(order=OuterRef("pk")))
        queryset = queryset.filter(ever_held if filters.held == "yes" else ~ever_held)
    if filters.search:
        term = filters.search.strip()
        queryset = queryset.filter(
            Q(number__icontains=term)
            | Q(customer__name__icontains=term)
            | Q(customer__number__iexact=term)
        )
    return queryset


def order_state_counts(*, user: UserLike) -> dict[str, int]:
    rows = orders_for_user(user).values("state").annotate(n=Count("id")).order_by()
    return {row["state"]: row["n"] for row in rows}


def order_get(*, user: UserLike, order_id: int) -> Order:
    """One order with its customer, ship-to and lines; PermissionDenied if the user may not open it."""
    order = (
        orders_for_user(user)
        .select_related("customer", "ship_to", "entered_by", "last_edited_by")
        .prefetch_related("lines__item", "lines__warehouse")
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        # Same answer whether the order is missing or outside the user's territories (no IDOR hint).
        raise PermissionDenied("Order not found or not yours to open.", {"order_id": order_id})
    return order


def items_by_sku(skus: list[str]) -> dict[str, Item]:
    return {item.sku: item for item in Item.objects.filter(sku__any=skus, active=True)}


def ship_tos_for_customer(customer: Customer) -> QuerySet[ShipTo]:
    return ShipTo.objects.filter(customer=customer).order_by("code")


# --- Timeline -------------------------------------------------------------------------------


@dataclass
class TimelineEntry:
    at: datetime
    who: str
    subject: str
    action: str
    reason: str
    changes: list[tuple[str, Any, Any]] = field(default_factory=list)


_ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
_SKIP_FIELDS = {"id", "history_id", "history_date", "history_user", "history_change_reason"}


def history_entries(rows: list, *, subject_of) -> list[TimelineEntry]:
    """Turn history rows (any model, oldest first per object) into entries with field diffs.

    Diffs are computed in memory against the previous row of the same object, so the timeline
    costs one query per model, however long the story.
    """
    previous: dict[Any, Any] = {}
    entries = []
    for row in sorted(rows, key=lambda r: (r.history_date, r.history_id)):
        key = row.id
        before = previous.get(key)
        changes = []
        if before is not None:
            delta = row.diff_against(before)
            for change in delta.changes:
                if change.field not in _SKIP_FIELDS:
                    label = row.instance_type._meta.get_field(change.field).verbose_name
                    changes.append((str(label), change.old, change.new))
        previous[key] = row
        user = row.history_user
        entries.append(
            TimelineEntry(
                at=row.history_date,
                who=(user.get_full_name() or user.get_username()) if user else "system",
                subject=subject_of(row),
                action=_ACTIONS.get(row.history_type, row.history_type),
                reason=row.history_change_reason or "",
                changes=changes,
            )
        )
    return entries


def order_page_panels(*, order: Order, user: UserLike) -> list[tuple[str, dict]]:
    """The panels higher apps add to the order page (``orders.extensions``)."""
    return [panel(order, user) for panel in order_extensions().panels]


def order_timeline(*, order: Order) -> list[TimelineEntry]:
    """One chronological story of the order and its lines, newest first."""
    order_rows = list(
        Order.history.filter(id=order.pk).select_related("history_user").order_by("history_date")
    )
    line_rows = list(
        OrderLine.history.filter(order_id=order.pk)
        .select_related("history_user")
        .order_by("history_date")
    )
    entries = history_entries(order_rows, subject_of=lambda row: f"Order {row.number}")
    entries += history_entries(line_rows, subject_of=lambda row: f"Line {row.line_number}")
    for provider in order_extensions().timelines:  # holds, shipments, invoices, messages
        entries += provider(order)
    entries.sort(key=lambda entry: entry.at, reverse=True)
    return entries


def ship_watch_page(*, user: UserLike, cursor: str | None, size: int, search: str = "") -> Page:
    """The proactive customer-service queue: open entries on orders the user may open that are
    still released and unshipped, soonest requested date first (keyset on date, id)."""
    queryset = ShipWatch.objects.filter(
        state=WatchState.OPEN,
        order__in=orders_for_user(user),
        order__state__in=WATCHED_STATES,
    ).select_related("order", "order__customer")
    if search:
        queryset = queryset.filter(
            Q(order__number__icontains=search) | Q(order__customer__name__icontains=search)
        )
    return keyset_page(queryset, ordering=("requested_date", "id"), cursor=cursor, size=size)


def ship_watch_count(*, user: UserLike, since: datetime | None = None) -> dict[str, int]:
    """The at-risk queue's size for the home page: its open entries, and those opened after
    ``since`` (the person's last visit). One query."""
    new = Q(opened_at__gt=since) if since is not None else Q(pk__in=[])
    return ShipWatch.objects.filter(
        state=WatchState.OPEN,
        order__in=orders_for_user(user),
        order__state__in=WATCHED_STATES,
    ).aggregate(open=Count("pk"), new=Count("pk", filter=new))
