"""The cash application desk: the queue of payments waiting for a person (tabs, search, sorts,
keyset pages, CSV), their actions in place (accept, split, on account, refund), the payment page
with reversals, the invoice as cash sees it, and write-offs with maker-checker."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template import engines
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from core.exports import csv_response, zoned
from core.forms import ActionForm
from core.http import next_url, refused, role_required
from core.jinja import page_constants
from core.pagination import render_paged_list
from core.saved_views import count_of, default_view

from . import queue as selectors
from . import services
from .forms import (
    SPLIT_LINES,
    AcceptForm,
    ConfirmedForm,
    OnAccountApplyForm,
    OnAccountForm,
    PaymentFilterForm,
    SplitForm,
    WriteOffForm,
    errors_of,
)
from .models import OPEN_STATES, PaymentState, WriteOff

#: Fired after every action, so the tabs' counts refresh themselves.
PAYMENTS_CHANGED = "payments-changed"
WRITE_OFFS_CHANGED = "write-offs-changed"

cash_required = role_required(
    *selectors.CASH_ROLES, message="Payments are cash application's (and managers')."
)
approver_required = role_required(
    *selectors.APPROVER_ROLES, message="Write-offs are approved by cash application and finance."
)

TABS = [("", "All waiting")] + [(state, PaymentState(state).label) for state in OPEN_STATES]


def _filters(form: PaymentFilterForm) -> selectors.PaymentFilters:
    data = form.cleaned_data if form.is_bound else {}
    return selectors.PaymentFilters(
        state=data.get("state") or "", q=data.get("q") or "", sort=data.get("sort") or "newest"
    )


saved_view_count = count_of(PaymentFilterForm, _filters, selectors.payments_waiting)


def _tabs(request: HttpRequest, filters: selectors.PaymentFilters) -> list[tuple]:
    """(label, count, query, current) per tab: the same search and sort, another state."""
    counts = selectors.payment_counts(user=request.user, q=filters.q)
    tabs = []
    for state, label in TABS:
        query = request.GET.copy()
        query.pop("after", None)
        query.pop("format", None)
        query["state"] = state
        count = counts.get(state) if state else sum(counts.values())
        tabs.append((label, count, query.urlencode(), state == filters.state))
    return tabs


def _blank_split() -> list[tuple[int, str, str]]:
    return [(n, "", "") for n in range(1, SPLIT_LINES + 1)]


#: The queue's rows, in Jinja2: in the Django template language they were most of the page's
#: time (about 5 ms a row with their candidates and forms).
ROWS_TEMPLATE = "receivables/payment_rows.jinja"


def render_payment_rows(request: HttpRequest, payments, *, next_path: str, **extra) -> SafeString:
    """The rows of ``payments``; ``extra`` is a re-rendered row's row_error, row_done,
    row_action and row_split."""
    rows = engines["jinja2"].get_template(ROWS_TEMPLATE)
    context = {
        "payments": payments,
        "now": timezone.now(),
        "next_path": next_path,
        "blank_split": _blank_split(),
        **page_constants(request),
        **extra,
    }
    # Safe: the environment escapes every value it prints (core/jinja.py).
    return mark_safe(rows.render(context))  # noqa: S308


def _payment_blocks(request: HttpRequest, payment, *, next_path: str) -> dict[str, SafeString]:
    """The candidates and the actions of the payment page, from the rows' own macros: in the
    queue's drawer (htmx) they post over htmx and re-render the payment's row in the list."""
    module = engines["jinja2"].env.get_template(ROWS_TEMPLATE).module
    base = reverse("receivables:payment", args=[payment.pk])
    token, hx = csrf_input(request), bool(request.htmx)
    return {
        "candidates_html": mark_safe(  # noqa: S308 - escaped by the environment
            module.candidates(payment, base, hx, next_path, token)
        ),
        "actions_html": mark_safe(  # noqa: S308 - escaped by the environment
            module.actions(payment, base, hx, next_path, token, _blank_split())
        ),
    }


@login_required
@require_GET
@vary_on_headers("HX-Request")
@cash_required
@default_view
def payment_queue(request: HttpRequest) -> HttpResponse:
    form = PaymentFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        page, error, filters = None, "Fix the filters to see payments.", selectors.PaymentFilters()
    else:
        filters = _filters(form)
        if request.GET.get("format") == "csv":
            return _export(request, filters)
        with refused() as refusal:  # a stale page link: the list says so
            page = selectors.payment_queue(
                user=request.user,
                filters=filters,
                cursor=request.GET.get("after"),
                size=settings.O2C_PAGE_SIZE,
            )
        error = refusal.message or None
    next_path = request.get_full_path()
    context = {
        "form": form,
        "page": page,
        "error": error,
        "tabs": _tabs(request, filters),
        "rows": render_payment_rows(request, page.rows if page else [], next_path=next_path),
    }
    return render_paged_list(request, "receivables/queue.html", context)


@login_required
@require_GET
@cash_required
def payment_counts(request: HttpRequest) -> HttpResponse:
    """The queue's tabs with their counts, refreshed after each action."""
    form = PaymentFilterForm(request.GET or None)
    filters = _filters(form) if not form.is_bound or form.is_valid() else None
    tabs = _tabs(request, filters or selectors.PaymentFilters())
    return render(request, "receivables/queue.html#tabs", {"tabs": tabs})


def _export(request: HttpRequest, filters: selectors.PaymentFilters):
    payments = selectors.payments_waiting(user=request.user, filters=filters)

    def rows():
        for p in payments.iterator(chunk_size=2000):
            best = p.candidates[0] if p.candidates else {}
            yield [
                p.pk,
                p.get_state_display(),
                p.value_date,
                p.amount,
                p.currency,
                f"{p.amount:,.2f} {p.currency}",
                p.payer_name,
                p.payer_account,  # masked when stored: the number itself is never kept
                p.get_method_display(),
                p.bank_reference,
                " ".join(
                    line.reference for advice in p.remittances.all() for line in advice.lines.all()
                ),
                p.outcome,
                p.confidence if p.confidence is not None else "",
                p.explanation,
                best.get("customer", ""),
                " ".join(a["invoice"] for a in best.get("allocations", [])),
                p.received_at,
            ]

    return csv_response(
        "payments.csv",
        [
            "payment",
            "state",
            "value date",
            "amount",
            "currency",
            "amount with currency",
            "payer",
            "payer account",
            "method",
            "bank reference",
            "remittance references",
            "outcome",
            "confidence",
            "explanation",
            "best candidate",
            "best candidate invoices",
            zoned("received"),
        ],
        rows(),
    )


# -- actions on a payment -------------------------------------------------------------------------

#: action -> (form for the request, service, what the row says when done). The service gets
#: actor, payment_id and the form's service_kwargs().
ACTIONS = {
    "accept": (lambda r: AcceptForm(r.POST), services.payment_accept, "accepted"),
    "split": (lambda r: SplitForm(r.POST, user=r.user), services.payment_apply, "applied"),
    "on_account": (
        lambda r: OnAccountForm(r.POST, user=r.user),
        services.payment_put_on_account,
        "put on account",
    ),
    "refund": (lambda r: ConfirmedForm(r.POST), services.payment_mark_refund, "marked for refund"),
}


def _posted_split(request: HttpRequest) -> list[tuple[int, str, str]]:
    """The split lines as the user typed them, to show again beside the error."""
    return [
        (n, request.POST.get(f"invoice_{n}", ""), request.POST.get(f"amount_{n}", ""))
        for n in range(1, SPLIT_LINES + 1)
    ]


@login_required
@require_POST
@cash_required
def payment_action(request: HttpRequest, payment_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    # row access first: a payment the user may not open is a 403 whatever the input
    selectors.payment_row(user=request.user, payment_id=payment_id)
    make_form, service, done = ACTIONS[action]
    form = make_form(request)
    status, error = 200, None
    if not form.is_valid():
        status, error = 400, errors_of(form)
    else:
        # a refusal (a conflict: applied by someone else a moment ago; an amount beyond what an
        # invoice owes) is shown in the row the user acted in, with its status
        with refused(forbidden_too=True) as refusal:
            service(actor=request.user, payment_id=payment_id, **form.service_kwargs())
        if refusal:
            status, error = refusal.status, refusal.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Payment {payment_id} {done}.")
        return redirect(next_url(request, reverse("receivables:payment", args=[payment_id])))
    payment = selectors.payment_row(user=request.user, payment_id=payment_id)
    row = render_payment_rows(
        request,
        [payment],
        # the page the row came from, for its forms' no-JavaScript fallback
        next_path=request.POST.get("next", ""),
        row_error=error,
        row_done=None if error else done,
        row_action=action if error else None,
        row_split=_posted_split(request) if error and action == "split" else None,
    )
    return trigger_client_event(HttpResponse(row, status=status), PAYMENTS_CHANGED)


@login_required
@require_GET
@cash_required
def payment_form(request: HttpRequest, payment_id: int, action: str) -> HttpResponse:
    """One action's form for a queue row, fetched when the analyst opens it."""
    if action not in ACTIONS or action == "accept":
        raise Http404("No such action.")
    payment = selectors.payment_row(user=request.user, payment_id=payment_id)
    if payment.state not in OPEN_STATES:
        return HttpResponse(
            f'<p class="msg msg-info" role="status">Payment {payment.pk} is '
            f"{escape(payment.get_state_display().lower())}: nothing to do here.</p>"
        )
    module = engines["jinja2"].env.get_template(ROWS_TEMPLATE).module
    next_path = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(next_path, allowed_hosts={request.get_host()}):
        next_path = reverse("receivables:queue")
    form = module.action_form(
        payment,
        action,
        reverse("receivables:payment", args=[payment.pk]),
        True,
        next_path,
        csrf_input(request),
        _blank_split(),
    )
    return HttpResponse(form)


# -- the payment page -------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request")
@cash_required
def payment_detail(request: HttpRequest, payment_id: int) -> HttpResponse:
    """A payment: its statement, remittance, candidates, where its money went, and its story; an
    htmx request gets it as the queue's drawer, through the same row access."""
    payment = selectors.payment_get(user=request.user, payment_id=payment_id)
    next_path = request.get_full_path()
    return render(
        request,
        "receivables/payment_detail.html",
        {
            "payment": payment,
            "history": selectors.payment_history(payment=payment),
            "is_open": payment.state in OPEN_STATES,
            "next_path": next_path,
            **_payment_blocks(request, payment, next_path=next_path),
        },
    )


@login_required
@require_POST
@cash_required
def application_reverse(request: HttpRequest, application_id: int) -> HttpResponse:
    """Take an application back off its invoice (a reason and a ticked box)."""
    application = selectors.application_get(user=request.user, application_id=application_id)
    form = ConfirmedForm(request.POST)
    if not form.is_valid():
        messages.error(request, errors_of(form))
    else:
        with refused(forbidden_too=True) as refusal:
            services.application_reverse(
                actor=request.user, application_id=application_id, **form.service_kwargs()
            )
        if refusal:
            messages.error(request, refusal.message)
        else:
            messages.success(
                request,
                f"Application of {application.amount:,.2f} {application.payment.currency} to "
                f"{application.invoice.number} reversed; the invoice owes it again.",
            )
    default = reverse("receivables:payment", args=[application.payment_id])
    return redirect(next_url(request, default))


# -- the invoice, as cash application sees it -------------------------------------------------------


@login_required
@require_GET
@approver_required
def invoice_cash(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_for_cash(user=request.user, invoice_id=invoice_id)
    return render(
        request,
        "receivables/invoice_cash.html",
        {
            "invoice": invoice,
            "works_payments": selectors.works_payments(request.user),
            "next_path": request.get_full_path(),
        },
    )


# -- write-offs -------------------------------------------------------------------------------------


@login_required
@require_POST
@cash_required
def write_off_new(request: HttpRequest) -> HttpResponse:
    """Write an amount off an invoice: at once up to the policy's limit, else it waits for a
    second person. Returns to the page it was asked from."""
    form = WriteOffForm(request.POST, user=request.user)
    default = reverse("receivables:write_offs")
    if not form.is_valid():
        messages.error(request, errors_of(form))
        return redirect(next_url(request, default))
    with refused(forbidden_too=True) as refusal:
        write_off = services.write_off_create(actor=request.user, **form.service_kwargs())
    if refusal:
        messages.error(request, refusal.message)
    elif write_off.state == WriteOff.State.APPLIED:
        messages.success(
            request,
            f"{write_off.amount:,.2f} {write_off.invoice.currency} written off "
            f"{write_off.invoice.number}.",
        )
    else:
        messages.info(
            request,
            f"Write-off of {write_off.amount:,.2f} {write_off.invoice.currency} on "
            f"{write_off.invoice.number} is above the policy's limit: it waits for a second "
            "person to approve it.",
        )
    return redirect(next_url(request, default))


@login_required
@require_GET
@vary_on_headers("HX-Request")
@cash_required
def on_account_list(request: HttpRequest) -> HttpResponse:
    """Money waiting on customers' accounts, each with a form to apply it to invoices."""
    q = request.GET.get("q", "")[:100]
    with refused() as refusal:  # a stale page link: the list says so
        page = selectors.on_account_list(
            user=request.user, q=q, cursor=request.GET.get("after"), size=settings.O2C_PAGE_SIZE
        )
    context = {
        "page": None if refusal else page,
        "error": refusal.message or None,
        "q": q,
        "blank_split": _blank_split(),
        "next_path": request.get_full_path(),
        "now": timezone.now(),
    }
    return render_paged_list(request, "receivables/on_account.html", context)


@login_required
@require_POST
@cash_required
def on_account_apply(request: HttpRequest, unapplied_id: int) -> HttpResponse:
    held = selectors.on_account_get(user=request.user, unapplied_id=unapplied_id)
    form = OnAccountApplyForm(request.POST, user=request.user)
    back = next_url(request, reverse("receivables:on_account"))
    if not form.is_valid():
        messages.error(request, errors_of(form))
        return redirect(back)
    with refused() as refusal:
        rows = services.on_account_apply(
            actor=request.user, unapplied_id=unapplied_id, **form.service_kwargs()
        )
    if refusal:
        messages.error(request, refusal.message)
    else:
        used = sum(row.amount for row in rows)
        messages.success(
            request,
            f"{used:,.2f} {held.payment.currency} of {held.customer.name}'s money on account "
            f"applied to {len(rows)} invoice{'s' if len(rows) != 1 else ''}.",
        )
    return redirect(back)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@approver_required
def write_off_list(request: HttpRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    state = state if state in WriteOff.State.values else WriteOff.State.PENDING
    page, error = None, None
    with refused() as refusal:
        page = selectors.write_off_list(
            user=request.user,
            state=state,
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    error = refusal.message or None
    context = {
        "page": page,
        "error": error,
        "state": state,
        "states": WriteOff.State.choices,
        "next_path": request.get_full_path(),
    }
    return render_paged_list(request, "receivables/write_offs.html", context)


WRITE_OFF_ACTIONS = {
    "approve": (services.write_off_approve, "approved"),
    "reject": (services.write_off_reject, "rejected"),
}


@login_required
@require_POST
@approver_required
def write_off_action(request: HttpRequest, write_off_id: int, action: str) -> HttpResponse:
    if action not in WRITE_OFF_ACTIONS:
        raise Http404("No such action.")
    selectors.write_off_get(user=request.user, write_off_id=write_off_id)
    service, done = WRITE_OFF_ACTIONS[action]
    form = ActionForm(request.POST)
    status, error = 200, None
    if not form.is_valid():
        status, error = 400, errors_of(form)
    else:
        # maker-checker: the maker's approval is refused (403) and said in the row
        with refused(forbidden_too=True) as refusal:
            service(actor=request.user, write_off_id=write_off_id, **form.cleaned_data)
        if refusal:
            status, error = refusal.status, refusal.message
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Write-off {done}.")
        return redirect(next_url(request, reverse("receivables:write_offs")))
    write_off = selectors.write_off_get(user=request.user, write_off_id=write_off_id)
    response = render(
        request,
        "receivables/write_offs.html#row",
        {
            "write_off": write_off,
            "row_error": error,
            "row_done": None if error else done,
            "next_path": request.POST.get("next", ""),
        },
        status=status,
    )
    return trigger_client_event(response, WRITE_OFFS_CHANGED)
