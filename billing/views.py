"""The finance desk: invoices awaiting approval (HTMX queue with bulk approval), the invoice list,
the invoice page (printable) with its actions, and credit memos."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import trigger_client_event

from core.exports import csv_response
from core.forms import ActionForm
from core.http import next_url, refused, role_required
from core.pagination import render_paged_list
from core.roles import Role
from core.saved_views import count_of, default_view

from . import selectors, services
from .forms import BulkApproveForm, CreditMemoForm, InvoiceFilterForm, VoidForm
from .models import CreditReason

INVOICES_CHANGED = "invoices-changed"


def finance_required(message: str):
    """The finance desk's gate (finance and managers), saying why on each page."""
    return role_required(Role.FINANCE, Role.MANAGER, message=message)


def _filters(data: dict) -> selectors.InvoiceFilters:
    return selectors.InvoiceFilters(
        customer=data.get("customer") or "",
        state=data.get("state") or "",
        tier=data.get("tier"),
        awaiting_second=bool(data.get("awaiting_second")),
        min_total=data.get("min_total"),
        max_total=data.get("max_total"),
        created_from=data.get("created_from"),
        created_to=data.get("created_to"),
        sort=data.get("sort") or "",
    )


def _list_page(request: HttpRequest, *, template: str, select, default_sort: str) -> HttpResponse:
    """A filtered, keyset-paged list; HTMX gets the results or the next rows only."""
    form = InvoiceFilterForm(request.GET or None)
    page, error = None, None
    if form.is_bound and not form.is_valid():
        error = "Fix the filters to see invoices."
    else:
        filters = _filters(form.cleaned_data if form.is_bound else {})
        filters = selectors.InvoiceFilters(
            **{**filters.__dict__, "sort": filters.sort or default_sort}
        )
        with refused() as refusal:  # a stale page link: the list says so
            page = select(
                user=request.user,
                filters=filters,
                cursor=request.GET.get("after"),
                size=settings.O2C_PAGE_SIZE,
            )
        error = refusal.message or None
    return render_paged_list(request, template, {"form": form, "page": page, "error": error})


def _form_filters(form: InvoiceFilterForm) -> selectors.InvoiceFilters:
    return _filters(form.cleaned_data)


finance_queue_count = count_of(InvoiceFilterForm, _form_filters, selectors.awaiting_approval)
invoice_list_count = count_of(
    InvoiceFilterForm, _form_filters, selectors.invoices_filtered, may_open=selectors.is_finance
)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@finance_required("The finance queue belongs to finance.")
@default_view
def finance_queue(request: HttpRequest) -> HttpResponse:
    return _list_page(
        request,
        template="billing/finance_queue.html",
        select=selectors.finance_queue,
        default_sort="age",
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
@finance_required("Invoices are finance's.")
@default_view
def invoice_list(request: HttpRequest) -> HttpResponse:
    if request.GET.get("format") == "csv":
        form = InvoiceFilterForm(request.GET)
        if not form.is_valid():
            return HttpResponse("Fix the filters to export invoices.", status=400)
        invoices = selectors.invoices_filtered(
            user=request.user, filters=_filters(form.cleaned_data)
        )
        return csv_response(
            "invoices.csv",
            [
                "number",
                "state",
                "customer",
                "order",
                "total",
                "currency",
                "issued",
                "due",
                "approval tier",
                "shipment to invoice (s)",
            ],
            (
                [
                    i.number,
                    i.state,
                    i.customer.number,
                    i.order.number if i.order else "",
                    i.total,
                    i.currency,
                    i.issued_on,
                    i.due_date,
                    i.approval_tier,
                    i.shipment_to_invoice_seconds
                    if i.shipment_to_invoice_seconds is not None
                    else "",
                ]
                for i in invoices.order_by("-created_at", "-id").iterator(chunk_size=2000)
            ),
        )
    return _list_page(
        request,
        template="billing/invoice_list.html",
        select=selectors.invoice_list,
        default_sort="newest",
    )


@login_required
@require_GET
@vary_on_headers("HX-Request")
@finance_required("Invoices are finance's.")
def invoice_detail(request: HttpRequest, invoice_id: int) -> HttpResponse:
    """The invoice: lines, tax, shipments, approvals, credit memos and history; printable. An
    htmx request gets it as the finance queue's drawer, through the same row access."""
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    return _render_invoice(request, invoice, CreditMemoForm(lines=invoice.lines.all()))


def _render_invoice(request: HttpRequest, invoice, credit_form, *, status: int = 200):
    """The invoice page: lines, approvals (and who may not give them), memos, history."""
    history = invoice.history.select_related("history_user").order_by(
        "-history_date", "-history_id"
    )
    barred = services.makers(invoice) if invoice.state == "pending_approval" else {}
    return render(
        request,
        "billing/invoice_detail.html",
        {
            "invoice": invoice,
            "history": history,
            "credit_form": credit_form,
            "barred": barred,
            "credit_memo_alone": services.billing_policy().credit_memo_approval_amount,
        },
        status=status,
    )


#: action -> (form, service): the service gets invoice_id, actor and the form's cleaned data.
ACTIONS = {
    "approve": (ActionForm, services.invoice_approve),
    "void": (VoidForm, services.invoice_void),
    "bill_ordered_only": (ActionForm, services.invoice_bill_ordered_only),
}


@login_required
@require_POST
@finance_required("Only finance may act on invoices.")
def invoice_action(request: HttpRequest, invoice_id: int, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404("No such action.")
    # row access first: 403 whatever the input
    selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    form_class, service = ACTIONS[action]
    form = form_class(request.POST)
    status, error = 200, None
    if not form.is_valid():
        status, error = 400, "; ".join(e for errors in form.errors.values() for e in errors)
    else:
        # a refusal after row access (maker-checker too) is shown in the row, with its status
        with refused(forbidden_too=True) as refusal:
            service(invoice_id=invoice_id, actor=request.user, **form.cleaned_data)
        if refusal:
            status, error = refusal.status, refusal.message
    done = action.replace("_", " ")
    if not request.htmx:
        if error:
            messages.error(request, error)
        else:
            messages.success(request, f"Done: {done}.")
        return redirect(next_url(request, reverse("billing:invoice", args=[invoice_id])))
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    response = render(
        request,
        "billing/finance_queue.html#row",
        {
            "invoice": invoice,
            "row_error": error,
            "row_done": None if error else done,
            # the page the row came from, for its forms' no-JavaScript fallback
            "next_path": request.POST.get("next", ""),
        },
        status=status,
    )
    return trigger_client_event(response, INVOICES_CHANGED)


@login_required
@require_POST
@finance_required("Only finance may approve invoices.")
def bulk_approve(request: HttpRequest) -> HttpResponse:
    """Approve many invoices at once; each succeeds or fails on its own, with a reason. The
    approval is previewed first, changing nothing: the invoices that would be released or get
    their first approval, those refused and why, and the total; the preview's "Confirm" posts
    again with ``confirm``."""
    form = BulkApproveForm(request.POST)
    if form.is_valid() and not form.cleaned_data["confirm"]:
        preview = services.invoices_approve_preview(
            invoice_ids=form.cleaned_data["invoices"], actor=request.user
        )
        return render(request, "billing/bulk_preview.html", {"form": form, "preview": preview})
    results = []
    if form.is_valid():
        for invoice_id in form.cleaned_data["invoices"]:
            with refused(forbidden_too=True) as refusal:  # each invoice fails on its own
                invoice = services.invoice_approve(
                    invoice_id=invoice_id, actor=request.user, reason=form.cleaned_data["reason"]
                )
                results.append(
                    (
                        invoice.number,
                        True,
                        "released"
                        if invoice.state != "pending_approval"
                        else "first approval recorded; waits for a second approver",
                    )
                )
            if refusal:
                results.append((f"Invoice {invoice_id}", False, refusal.message))
    status = 200 if form.is_valid() else 400
    context = {"form": form, "results": results}
    if request.htmx:
        response = render(request, "billing/bulk_result.html", context, status=status)
        return trigger_client_event(response, INVOICES_CHANGED)
    for label, ok, message in results:
        (messages.success if ok else messages.error)(request, f"{label}: {message}")
    if not form.is_valid():
        messages.error(request, "; ".join(e for errors in form.errors.values() for e in errors))
    return redirect("billing:queue")


@login_required
@require_http_methods(["POST"])
@finance_required("Only finance may issue credit memos.")
def credit_memo_new(request: HttpRequest, invoice_id: int) -> HttpResponse:
    invoice = selectors.invoice_get(user=request.user, invoice_id=invoice_id)
    form = CreditMemoForm(request.POST, lines=invoice.lines.all())
    if form.is_valid():
        # above tier 1 the refusal says where to go instead: shown on the form, not a 403 page
        with refused(forbidden_too=True) as refusal:
            memo = services.credit_memo_create(
                invoice_id=invoice_id,
                actor=request.user,
                quantities=form.quantities(),
                reason=form.cleaned_data["reason"],
                reason_code=form.cleaned_data["reason_code"] or CreditReason.BILLING_ERROR,
            )
            messages.success(request, f"Credit memo {memo.number} issued for {memo.total}.")
            return redirect("billing:invoice", invoice_id=invoice_id)
        form.add_error(None, refusal.message)
    return _render_invoice(request, invoice, form, status=400)


@login_required
@require_GET
def finance_counts(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "billing/counts.html",
        {"pending": selectors.pending_count(user=request.user)},
    )
