"""HTMX work queues: one page per role's queue plus "My work", row actions, bulk actions, counts."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from core.forms import ActionForm
from core.http import next_url, refused
from core.pagination import render_paged_list
from core.saved_views import default_view
from orders.models import Customer
from orders.selectors import order_timeline, ship_tos_for_customer

from . import selectors, services
from .forms import (
    BulkForm,
    MasterDataForm,
    QueueFilterForm,
    ReassignForm,
    RejectForm,
    ReleaseForm,
    SubstituteForm,
)
from .models import Queue
from .notes import hold_thread
from .templatetags.hold_rows import render_hold_actions, render_hold_rows

QUEUE_PAGES = {queue: Queue(queue).label for queue in selectors.WORK_QUEUES}


def _filters(data: dict) -> selectors.HoldFilters:
    return selectors.HoldFilters(
        reason=data.get("reason") or "",
        customer=data.get("customer") or "",
        territory=data.get("territory") or "",
        mine=bool(data.get("mine")),
        unclaimed=bool(data.get("unclaimed")),
        overdue=bool(data.get("overdue")),
        due_soon=bool(data.get("due_soon")),
        since=data.get("since"),
        min_value=data.get("min_value"),
        max_value=data.get("max_value"),
        sort=data.get("sort") or "priority",
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
@default_view
def queue_page(request: HttpRequest, queue: str | None = None) -> HttpResponse:
    if queue is not None and queue not in QUEUE_PAGES:
        raise Http404("No such queue.")
    form = QueueFilterForm(request.GET or None)
    page, error = None, None
    if form.is_bound and not form.is_valid():
        error = "Fix the filters to see holds."
    else:
        filters = _filters(form.cleaned_data if form.is_bound else {})
        if queue is None:  # "My work": what I have claimed, across my queues
            filters = selectors.HoldFilters(**{**filters.__dict__, "mine": True})
        with refused() as refusal:  # a stale page link: the list says so
            page = selectors.queue_rows(
                user=request.user,
                queue=queue,
                filters=filters,
                cursor=request.GET.get("after"),
                size=settings.O2C_PAGE_SIZE,
            )
        error = refusal.message or None
    context = {
        "queue": queue,
        "queue_label": QUEUE_PAGES.get(queue, "My work"),
        "form": form,
        "page": page,
        "error": error,
    }
    return render_paged_list(request, "exceptions/queue.html", context)


@login_required
@require_GET
def queue_summary(request: HttpRequest, queue: str | None = None) -> HttpResponse:
    """The queue page's header, loaded after the rows and again whenever holds change: it counts
    the whole queue, so its cost grows with the queue while the page's rows do not."""
    if queue is not None and queue not in QUEUE_PAGES:
        raise Http404("No such queue.")
    summary = selectors.queue_summary(user=request.user, queue=queue)
    return render(request, "exceptions/queue.html#summary", {"summary": summary})


@login_required
@require_GET
@vary_on_headers("HX-Request")
def hold_detail(request: HttpRequest, hold_id: int) -> HttpResponse:
    """The hold's drawer on the queue page (htmx), or its page: the numbers behind the hold, the
    order's lines, the hold's notes and files, the order's timeline, and its actions (as its row
    has them)."""
    hold = selectors.hold_get(user=request.user, hold_id=hold_id)
    actions = ""
    if hold.is_active:
        # from the drawer an action re-renders the hold's row in the list; on the page it posts
        # and comes back here
        actions = render_hold_actions(
            request,
            selectors.queue_row(user=request.user, hold_id=hold_id),
            next_path=request.get_full_path(),
            target=f"#hold-{hold_id}" if request.htmx else None,
        )
    return render(
        request,
        "exceptions/hold_page.html",
        {
            "hold": hold,
            "actions": actions,
            "lines": hold.order.lines.select_related("item"),
            "notes": hold_thread(user=request.user, hold=hold),
            "timeline": order_timeline(order=hold.order)[:15],
            "ship_tos": ship_tos_for_customer(hold.order.customer)
            if hold.reason.code == "MASTER_DATA_MISSING"
            else [],
            "payment_terms": Customer.PaymentTerms.choices,
            "members": selectors.queue_members(queue=hold.queue),
            **selectors.hold_live_context(hold=hold),
            **selectors.hold_earlier_decision(hold=hold),
            "credit_now": selectors.credit_now(hold=hold),
        },
    )


#: action -> (form with its inputs, service). The service gets hold_id, actor and the form's
#: cleaned data as keyword arguments (renamed where a form field names an object by its id).
ACTIONS = {
    "claim": (None, services.hold_claim),
    "unclaim": (ActionForm, services.hold_unclaim),
    "release": (ReleaseForm, services.hold_release),
    "approve": (ActionForm, services.hold_approve),
    "reject": (RejectForm, services.hold_reject),
    "escalate": (ActionForm, services.hold_escalate),
    "correct_price": (ActionForm, services.hold_correct_price),
    "approve_partial": (ActionForm, services.hold_approve_partial),
    "fix_master_data": (MasterDataForm, services.hold_fix_master_data),
    "reevaluate": (None, services.hold_reevaluate),
    "cancel_line": (ActionForm, services.hold_cancel_line),
    "substitute": (SubstituteForm, services.hold_substitute),
    "reassign": (ReassignForm, services.hold_reassign),
    "accept_backorder": (ActionForm, services.hold_accept_backorder),
    "close_short": (ActionForm, services.hold_close_short),
    "investigate": (ActionForm, services.hold_investigate),
    "reinstate": (ActionForm, services.hold_reinstate),
}
#: Actions taken on the hold's own page, not on a queue row (a released hold has no row): the
#: page is loaded again, with the outcome as a message.
PAGE_ACTIONS = {"reinstate"}
FIELD_TO_KWARG = {"ship_to": "ship_to_id", "to_user": "to_user_id"}


@login_required
@require_POST
def hold_action(request: HttpRequest, hold_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    form_class, service = ACTIONS[action]
    # row access first: a hold outside the user's queues is a 403 whatever the input
    selectors.hold_get(user=request.user, hold_id=hold_id)
    form = form_class(request.POST) if form_class else None
    status, error = 200, None
    if form is not None and not form.is_valid():
        status, error = 400, "; ".join(e for errors in form.errors.values() for e in errors)
    else:
        # a refusal after row access (maker-checker: "someone else must approve") is shown in
        # the row like a conflict, with its 403, instead of a bare error page
        with refused(forbidden_too=True) as refusal:
            data = form.cleaned_data if form else {}
            service(
                hold_id=hold_id,
                actor=request.user,
                **{FIELD_TO_KWARG.get(k, k): v for k, v in data.items()},
            )
        if refusal:
            status, error = refusal.status, refusal.message
    if not request.htmx or action in PAGE_ACTIONS:
        messages.error(request, error) if error else messages.success(
            request, f"Done: {action.replace('_', ' ')}."
        )
        url = next_url(request, reverse("exceptions:mine"))
        if not request.htmx:
            return redirect(url)
        response = HttpResponseClientRedirect(url)
        response.status_code = status  # htmx follows HX-Redirect whatever the status
        return response
    row = render_hold_rows(
        request,
        [selectors.queue_row(user=request.user, hold_id=hold_id)],
        # the page the row came from, for its forms' no-JavaScript fallback
        next_path=request.POST.get("next", ""),
        row_error=error,
        row_done=None if error else action.replace("_", " "),
    )
    response = HttpResponse(row, status=status)
    return trigger_client_event(response, "holds-changed")


@login_required
@require_POST
def bulk_action(request: HttpRequest, queue: str) -> HttpResponse:
    """Claim or release many rows at once; each row succeeds or fails on its own, with a reason.
    A release is previewed first, changing nothing: the rows that would act, those refused and
    why, and the value; the preview's "Confirm" posts again with ``confirm``."""
    if queue not in QUEUE_PAGES or queue not in selectors.queues_for_user(request.user):
        raise DjangoPermissionDenied("This queue belongs to another team.")
    form = BulkForm(request.POST)
    if (
        form.is_valid()
        and form.cleaned_data["action"] == "release"
        and not form.cleaned_data["confirm"]
    ):
        preview = services.holds_release_preview(
            hold_ids=form.cleaned_data["holds"], actor=request.user
        )
        context = {"form": form, "preview": preview, "queue": queue}
        return render(request, "exceptions/bulk_preview.html", context)
    results = []
    if form.is_valid():
        for hold_id in form.cleaned_data["holds"]:
            with refused(forbidden_too=True) as refusal:  # each row fails on its own
                if form.cleaned_data["action"] == "claim":
                    services.hold_claim(hold_id=hold_id, actor=request.user)
                else:
                    services.hold_release(
                        hold_id=hold_id, actor=request.user, reason=form.cleaned_data["reason"]
                    )
            results.append((hold_id, not refusal, refusal.message or "done"))
    status = 200 if form.is_valid() else 400
    context = {"form": form, "results": results, "queue": queue}
    if request.htmx:
        response = render(request, "exceptions/bulk_result.html", context, status=status)
        return trigger_client_event(response, "holds-changed")
    for hold_id, ok, message in results:
        (messages.success if ok else messages.error)(request, f"Hold {hold_id}: {message}")
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("exceptions:queue", queue=queue)


@login_required
@require_GET
def queue_counts(request: HttpRequest) -> HttpResponse:
    counts = selectors.queue_counts(user=request.user)
    return render(
        request,
        "exceptions/counts.html",
        {
            "counts": [
                (queue, label, counts.get(queue, 0))
                for queue, label in QUEUE_PAGES.items()
                if queue in counts
            ]
        },
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    """The user's in-app notices (escalations); POST marks them all read."""
    if request.method == "POST":
        services.notifications_mark_read(actor=request.user)
        return redirect("exceptions:notifications")
    items = selectors.notifications_for(user=request.user)[:100]
    return render(request, "exceptions/notifications.html", {"items": items})
