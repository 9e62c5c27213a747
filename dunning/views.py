"""The collections desk: the worklist of customers with money past due (filtered, keyset-paged),
a customer's account (invoices by age, cases, promises, contacts, tasks), and the collector's
actions on it. Finance and managers see it; collectors and managers act."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers

from core.http import refused, role_required
from core.pagination import render_paged_list
from core.saved_views import count_of, default_view

from . import selectors, services
from .forms import ContactForm, PromiseForm, TaskDoneForm, WorklistFilterForm, errors_of

viewer_required = role_required(
    *selectors.COLLECTIONS_VIEWERS,
    message="Collections are the collectors' (finance and managers see them).",
)
collector_required = role_required(
    *selectors.COLLECTORS, message="Promises, contacts and tasks are the collectors'."
)


def worklist_filters(form: WorklistFilterForm) -> selectors.WorklistFilters:
    data = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return selectors.WorklistFilters(
        q=data.get("q") or "",
        standing=data.get("standing") or "",
        mine_tasks=bool(data.get("tasks")),
    )


saved_view_count = count_of(WorklistFilterForm, worklist_filters, selectors.accounts_filtered)


@login_required
@require_GET
@vary_on_headers("HX-Request")
@viewer_required
@default_view
def worklist(request: HttpRequest) -> HttpResponse:
    form = WorklistFilterForm(request.GET or None)
    with refused() as refusal:  # a stale page link: the list says so
        page = selectors.worklist(
            user=request.user,
            filters=worklist_filters(form),
            cursor=request.GET.get("after"),
            size=settings.O2C_PAGE_SIZE,
        )
    context = {
        "form": form,
        "page": None if refusal else page,
        "error": refusal.message or None,
        "today": timezone.localdate(),
    }
    return render_paged_list(request, "dunning/worklist.html", context)


def _account_page(request: HttpRequest, customer_id: int, *, status: int = 200, **forms):
    view = selectors.account_get(user=request.user, customer_id=customer_id)
    currency = view.accounts[0].currency if view.accounts else "USD"
    context = {
        "view": view,
        "collects": selectors.collects(request.user),
        "promise_form": forms.get("promise_form") or PromiseForm(initial={"currency": currency}),
        "contact_form": forms.get("contact_form") or ContactForm(),
        "task_form": TaskDoneForm(),
        "today": timezone.localdate(),
    }
    return render(request, "dunning/account.html", context, status=status)


@login_required
@require_GET
@viewer_required
def account(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _account_page(request, customer_id)


def _account_form(request: HttpRequest, customer_id: int, *, form, name: str, service, done):
    """Post ``form`` to the account: the service with the form's fields; on success back to the
    account page with ``done(result)``, else the page again with the form and what was wrong."""
    selectors.customer_for_collections(user=request.user, customer_id=customer_id)
    status = 400
    if form.is_valid():
        with refused() as refusal:
            result = service(actor=request.user, customer_id=customer_id, **form.cleaned_data)
        if not refusal:
            messages.success(request, done(result))
            return redirect(reverse("dunning:account", args=[customer_id]))
        messages.error(request, refusal.message)
        status = refusal.status
    else:
        messages.error(request, errors_of(form))
    return _account_page(request, customer_id, status=status, **{name: form})


@login_required
@require_POST
@collector_required
def promise_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _account_form(
        request,
        customer_id,
        form=PromiseForm(request.POST),
        name="promise_form",
        service=services.promise_create,
        done=lambda promise: f"Promise logged: {promise}.",
    )


@login_required
@require_POST
@collector_required
def contact_new(request: HttpRequest, customer_id: int) -> HttpResponse:
    return _account_form(
        request,
        customer_id,
        form=ContactForm(request.POST),
        name="contact_form",
        service=services.contact_log,
        done=lambda entry: "Contact logged.",
    )


@login_required
@require_POST
@collector_required
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    task = selectors.task_get(user=request.user, task_id=task_id)
    form = TaskDoneForm(request.POST)
    back = reverse("dunning:account", args=[task.customer_id])
    if not form.is_valid():
        messages.error(request, errors_of(form))
        return redirect(back)
    with refused() as refusal:
        services.task_complete(actor=request.user, task_id=task_id, note=form.cleaned_data["note"])
    if refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, f"Task {task_id} done.")
    return redirect(back)
