"""Remittance advices waiting for their payment (cash application, managers): the 820s no payment
the bank reported could be tied to by reference and amount, oldest first, searched by reference,
payer or amount; an analyst ties one to the payment it stands for, giving the reason."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.errors import PermissionDenied
from core.http import next_url, refused, role_required
from core.pagination import render_paged_list

from . import services
from .forms import TieForm, errors_of
from .queue import CASH_ROLES, remittances_scoped, remittances_waiting_page

cash_required = role_required(
    *CASH_ROLES, message="Payments are cash application's (and managers')."
)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@cash_required
def remittances_waiting(request: HttpRequest) -> HttpResponse:
    q = request.GET.get("q", "")[:100]
    with refused() as refusal:  # a stale page link: the list says so
        page = remittances_waiting_page(
            user=request.user, q=q, cursor=request.GET.get("after"), size=settings.O2C_PAGE_SIZE
        )
    context = {
        "page": None if refusal else page,
        "error": refusal.message or None,
        "q": q,
        "next_path": request.get_full_path(),
        "now": timezone.now(),
    }
    return render_paged_list(request, "receivables/remittances.html", context)


@login_required
@require_POST
@cash_required
def remittance_tie(request: HttpRequest, advice_id: int) -> HttpResponse:
    back = next_url(request, reverse("receivables:remittances"))
    if not remittances_scoped(request.user).filter(pk=advice_id).exists():
        raise PermissionDenied("No such remittance advice in your territories.")
    form = TieForm(request.POST)
    if not form.is_valid():
        messages.error(request, errors_of(form))
        return redirect(back)
    with refused() as refusal:
        stored = services.remittance_tie(
            actor=request.user,
            advice_id=advice_id,
            payment_id=form.cleaned_data["payment"],
            reason=form.cleaned_data["reason"],
        )
    if refusal:
        messages.error(request, refusal.message)
        return redirect(back)
    outcome = {"auto": "and applied it as the remittance says"}.get(
        stored.outcome, "and matched it again" if stored.outcome else "(already applied: it stays)"
    )
    messages.success(
        request,
        f"Remittance {stored.advice.reference} tied to payment {stored.payment_id}, {outcome}.",
    )
    return redirect(back)
