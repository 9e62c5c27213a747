"""HTMX pages for orders: list, detail with timeline, entry, line edits and lifecycle actions."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from core.exports import csv_response, zoned
from core.http import refused, role_required
from core.pagination import render_paged_list
from core.roles import ORDER_VIEWER_ROLES, Role, has_role
from core.saved_views import count_of, default_view

from . import selectors, services
from .forms import (
    LineEditForm,
    OrderFilterForm,
    OrderHeaderForm,
    OrderLineFormSet,
    TransitionForm,
    WatchCloseForm,
    WatchSearchForm,
)
from .models import WATCHED_STATES, Order
from .selectors import can_view_orders
from .services import MANUAL_TRANSITIONS, LineInput

#: The gate of every order page; which orders a user sees is ``selectors``' business.
order_viewer_required = role_required(
    *ORDER_VIEWER_ROLES, message="Your account has no role that works with orders."
)


def order_filters(data: dict) -> selectors.OrderFilters:
    """The list's filters from its form's cleaned data (the page, its saved views)."""
    return selectors.OrderFilters(
        state=data.get("state") or "",
        channel=data.get("channel") or "",
        customer_id=data.get("customer"),
        received_from=data.get("received_from"),
        received_to=data.get("received_to"),
        search=data.get("q") or "",
        segment=data.get("segment") or "",
        territory=data.get("territory") or "",
        held=data.get("held") or "",
    )


saved_view_count = count_of(
    OrderFilterForm,
    lambda form: order_filters(form.cleaned_data),
    selectors.orders_filtered,
    may_open=can_view_orders,
)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@order_viewer_required
@default_view
def order_list(request: HttpRequest) -> HttpResponse:
    form = OrderFilterForm(request.GET or None)
    page, error = None, None
    if form.is_bound and not form.is_valid():
        error = "Fix the filters to see orders."
    else:
        filters = order_filters(form.cleaned_data if form.is_bound else {})
        if request.GET.get("format") == "csv":
            return _orders_csv(selectors.orders_filtered(user=request.user, filters=filters))
        with refused() as refusal:  # a stale page link: the list says so
            page = selectors.order_list(
                user=request.user,
                filters=filters,
                cursor=request.GET.get("after"),
                size=settings.O2C_PAGE_SIZE,
            )
        error = refusal.message or None
    return render_paged_list(
        request, "orders/order_list.html", {"form": form, "page": page, "error": error}
    )


def _orders_csv(orders) -> HttpResponse:
    header = [
        "number",
        "state",
        "channel",
        "customer",
        "customer name",
        "territory",
        "total",
        "currency",
        zoned("received"),
        zoned("released"),
    ]
    rows = (
        [
            o.number,
            o.state,
            o.channel,
            o.customer.number,
            o.customer.name,
            o.customer.territory,
            o.total,
            o.currency,
            o.received_at,
            o.released_at,
        ]
        for o in orders.order_by(*selectors.ORDER_LIST_ORDERING).iterator(chunk_size=2000)
    )
    return csv_response("orders.csv", header, rows)


def _detail_context(request: HttpRequest, order: Order) -> dict:
    available = {t.name: t for t in order.get_available_user_state_transitions(user=request.user)}
    transitions = [available[name] for name in MANUAL_TRANSITIONS if name in available]
    editable = order.state in services.EDITABLE_STATES and has_role(
        request.user, Role.CUSTOMER_SERVICE, Role.MANAGER
    )
    return {
        "order": order,
        "lines": order.lines.all(),
        "transitions": transitions,
        "editable": editable,
        "timeline": selectors.order_timeline(order=order),
        "panels": selectors.order_page_panels(order=order, user=request.user),
        "watched_states": WATCHED_STATES,
    }


@login_required
@require_GET
@order_viewer_required
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    order = selectors.order_get(user=request.user, order_id=order_id)
    return render(request, "orders/order_detail.html", _detail_context(request, order))


@login_required
@require_POST
@order_viewer_required
def order_transition_submit(request: HttpRequest, order_id: int) -> HttpResponse:
    form = TransitionForm(request.POST)
    status = 200
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        status = 400
    else:
        with refused() as refusal:
            order = services.order_transition(
                actor=request.user,
                order_id=order_id,
                transition=form.cleaned_data["transition"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(
                request, f"Order {order.number} is now {order.get_state_display().lower()}."
            )
        if refusal:
            messages.error(request, refusal.message)
            status = refusal.status
    if request.htmx:
        order = selectors.order_get(user=request.user, order_id=order_id)
        # 4xx bodies are swapped too (htmx-config in base.html), so the message shows in place.
        response = render(
            request,
            "orders/order_detail.html#order-body",
            _detail_context(request, order),
            status=status,
        )
        return trigger_client_event(response, "orders-changed")
    return redirect("orders:detail", order_id=order_id)


@login_required
@require_POST
@order_viewer_required
def order_line_edit(request: HttpRequest, order_id: int, line_id: int) -> HttpResponse:
    form = LineEditForm(request.POST)
    if form.is_valid():
        with refused() as refusal:
            services.order_update_line(
                actor=request.user,
                order_id=order_id,
                line_id=line_id,
                quantity=form.cleaned_data["quantity"],
                unit_price=form.cleaned_data["unit_price"],
                reason=form.cleaned_data["reason"],
            )
            messages.success(request, "Line updated.")
            return redirect("orders:detail", order_id=order_id)
        form.add_error(None, refusal.message)
    order = selectors.order_get(user=request.user, order_id=order_id)
    context = _detail_context(request, order) | {"line_form": form, "line_form_id": line_id}
    return render(request, "orders/order_detail.html", context, status=400)


@login_required
@require_http_methods(["GET", "POST"])
@role_required(
    Role.CUSTOMER_SERVICE, Role.MANAGER, message="Only customer service can enter orders."
)
def order_new(request: HttpRequest) -> HttpResponse:
    customers = selectors.customers_for_user(request.user)
    header = OrderHeaderForm(request.POST or None, customers=customers)
    lines = OrderLineFormSet(request.POST or None, prefix="lines")
    if request.method == "POST" and header.is_valid() and lines.is_valid():
        data = header.cleaned_data
        # every refusal, a customer out of reach too, is the form's error
        with refused(forbidden_too=True) as refusal:
            order = services.order_create(
                actor=request.user,
                customer_id=data["customer"].pk,
                channel=data["channel"],
                ship_to_id=data["ship_to"].pk if data["ship_to"] else None,
                requested_date=data["requested_date"],
                lines=[
                    LineInput(
                        sku=f.cleaned_data["sku"],
                        quantity=f.cleaned_data["quantity"],
                        unit_price=f.cleaned_data.get("unit_price"),
                    )
                    for f in lines.forms
                    if f.cleaned_data
                ],
            )
            messages.success(request, f"Order {order.number} entered.")
            return redirect("orders:detail", order_id=order.pk)
        header.add_error(None, refusal.message)
    status = 400 if request.method == "POST" else 200
    return render(
        request, "orders/order_form.html", {"header": header, "lines": lines}, status=status
    )


#: The proactive queue is customer service's (managers see every queue).
watch_worker_required = role_required(
    Role.CUSTOMER_SERVICE,
    Role.MANAGER,
    message="The orders at risk of shipping late are customer service's queue.",
)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@watch_worker_required
def ship_watch_list(request: HttpRequest) -> HttpResponse:
    form = WatchSearchForm(request.GET or None)
    page, error = None, None
    if form.is_bound and not form.is_valid():
        error = "Fix the search to see the queue."
    else:
        with refused() as refusal:  # a stale page link: the list says so
            page = selectors.ship_watch_page(
                user=request.user,
                cursor=request.GET.get("after"),
                size=settings.O2C_PAGE_SIZE,
                search=(form.cleaned_data.get("q") or "") if form.is_bound else "",
            )
        error = refusal.message or None
    return render_paged_list(
        request,
        "orders/ship_watch.html",
        {"form": form, "page": page, "error": error, "close_form": WatchCloseForm()},
    )


@login_required
@require_POST
@watch_worker_required
def ship_watch_close(request: HttpRequest, watch_id: int) -> HttpResponse:
    """Close one entry with what was done: the row says so in place (or why not)."""
    form = WatchCloseForm(request.POST)
    status, error, watch = 200, "", None
    if not form.is_valid():
        status = 400
        error = "; ".join(
            f"{form.fields[f].label or f}: {' '.join(e)}" for f, e in form.errors.items()
        )
    else:
        with refused(forbidden_too=True) as refusal:
            watch = services.ship_watch_close(
                actor=request.user,
                watch_id=watch_id,
                action=form.cleaned_data["action"],
                note=form.cleaned_data["note"],
            )
        if refusal:
            status, error = refusal.status, refusal.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Closed: {watch.get_action_display()}.")
        return redirect("orders:at-risk")
    return render(
        request,
        "orders/ship_watch.html#closed",
        {"watch": watch, "watch_id": watch_id, "error": error, "close_form": form},
        status=status,
    )
