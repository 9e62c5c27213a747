"""Returns (RMA) in the browser: the list (search, state, keyset pages), a new authorisation
against an invoice's lines (customer service), one return with its lines as received, and
finance's decision on a credit that waits (approve, or refuse saying why)."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from billing.selectors import invoices_for_user
from core.http import refused, role_required
from core.pagination import keyset_page, render_paged_list

from . import returns
from .forms import ReturnDecisionForm, ReturnFilterForm, ReturnForm, errors_of
from .selectors import case_policy

viewer_required = role_required(
    *returns.RETURN_VIEWER_ROLES,
    message="Returns are seen by customer service, the warehouse and finance.",
)
authoriser_required = role_required(
    *returns.RETURN_AUTHORISER_ROLES, message="Returns are authorised by customer service."
)
approver_required = role_required(
    *returns.RETURN_APPROVER_ROLES, message="Return credits are approved by finance."
)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@viewer_required
def return_list(request: HttpRequest) -> HttpResponse:
    form = ReturnFilterForm(request.GET or None)
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    queryset = returns.return_list(
        user=request.user, state=data.get("state") or "", search=(data.get("q") or "").strip()
    )
    with refused() as refusal:  # a stale page link: the list says so
        page = keyset_page(
            queryset,
            ordering=("-authorised_at", "-id"),
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    context = {"form": form, "page": None if refusal else page, "error": refusal.message or None}
    return render_paged_list(request, "cases/returns.html", context)


@login_required
@require_http_methods(["GET", "POST"])
@authoriser_required
def return_new(request: HttpRequest) -> HttpResponse:
    """Pick the invoice (by number or id), then the quantities of its lines coming back."""
    wanted = (request.POST.get("invoice") or request.GET.get("invoice") or "").strip()
    invoice = None
    if wanted:
        visible = invoices_for_user(request.user).select_related("customer")
        # a number as printed, or an id (as the invoice page links it; bounded to an id's size)
        invoice = visible.filter(number__iexact=wanted[:32]).first() or (
            visible.filter(pk=int(wanted)).first()
            if wanted.isdigit() and len(wanted) <= 18
            else None
        )
    form = ReturnForm(request.POST or None)
    error, status = None, 200
    if wanted and invoice is None:
        error, status = (
            f"No invoice {wanted[:32]} that you can see.",
            404 if request.method == "GET" else 400,
        )
    elif request.method == "POST" and invoice is not None:
        if form.is_valid():
            try:
                quantities = form.quantities(request.POST)
            except Exception as exc:  # noqa: BLE001 - a ValidationError shown in place
                quantities, error = None, " ".join(getattr(exc, "messages", [str(exc)]))
                status = 400
            if quantities is not None:
                with refused() as refusal:
                    rma = returns.return_authorise(
                        actor=request.user,
                        invoice_id=invoice.pk,
                        reason=form.cleaned_data["reason"],
                        quantities=quantities,
                        note=form.cleaned_data["note"],
                    )
                if not refusal:
                    messages.success(
                        request, f"Return {rma.number} authorised; the warehouse will expect it."
                    )
                    return redirect("returns:detail", rma_id=rma.pk)
                error, status = refusal.message, refusal.status
        else:
            error, status = errors_of(form), 400
    lines = [
        (row, request.POST.get(f"qty-{row.line.pk}", ""))
        for row in (returns.returnable_lines(invoice.pk) if invoice is not None else [])
    ]
    return render(
        request,
        "cases/return_new.html",
        {
            "invoice": invoice,
            "wanted": wanted,
            "lines": lines,
            "form": form,
            "error": error,
            "policy": case_policy(),
        },
        status=status,
    )


def _detail(request, rma, *, status=200, error=None, form=None) -> HttpResponse:
    history = rma.history.select_related("history_user").order_by("-history_date")[:50]
    return render(
        request,
        "cases/return.html",
        {
            "rma": rma,
            "history": history,
            "form": form or ReturnDecisionForm(),
            "error": error,
        },
        status=status,
    )


@login_required
@require_GET
@viewer_required
def return_detail(request: HttpRequest, rma_id: int) -> HttpResponse:
    rma = returns.return_get(user=request.user, rma_id=rma_id)
    return _detail(request, rma)


@login_required
@require_POST
@approver_required
def return_decide(request: HttpRequest, rma_id: int) -> HttpResponse:
    rma = returns.return_get(user=request.user, rma_id=rma_id)
    form = ReturnDecisionForm(request.POST)
    if not form.is_valid():
        return _detail(request, rma, status=400, error=errors_of(form), form=form)
    action = form.cleaned_data["action"]
    service = returns.return_approve if action == "approve" else returns.return_refuse
    with refused(forbidden_too=True) as refusal:
        service(actor=request.user, rma_id=rma_id, reason=form.cleaned_data["reason"])
    if refusal:
        rma = returns.return_get(user=request.user, rma_id=rma_id)
        return _detail(request, rma, status=refusal.status, error=refusal.message, form=form)
    messages.success(
        request, f"Return {rma.number} " + ("credited." if action == "approve" else "refused.")
    )
    return redirect("returns:detail", rma_id=rma_id)
