"""Pages for saved views (``core.saved_views``): the list of a person's views and those shared
with their roles, the navigation's menu of them with live counts, saving a list's filters, and
deleting a view."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from core.forms import SavedViewForm
from core.http import refused
from core.saved_views import (
    MAX_VIEWS,
    saved_lists,
    saved_view_delete,
    saved_view_save,
    url_of,
    view_counts,
    views_for,
)


def _rows(request: HttpRequest, *, every: bool = False) -> list[dict]:
    """The views with their live counts: the menu's first ``MAX_VIEWS``, or every view (the page
    that manages them), counted only as far as the menu's."""
    views = views_for(request.user, limit=None if every else MAX_VIEWS)
    counts = view_counts(request.user, views[:MAX_VIEWS])
    lists = saved_lists()
    return [
        {
            "view": view,
            "url": url_of(view),
            "count": counts.get(view.pk),
            "list": lists[view.route][0] if view.route in lists else view.route,
            "mine": view.owner_id == request.user.pk,
        }
        for view in views
    ]


@login_required
@require_GET
def saved_view_list(request: HttpRequest) -> HttpResponse:
    return render(request, "account/saved_views.html", {"rows": _rows(request, every=True)})


@login_required
@require_GET
def saved_view_menu(request: HttpRequest) -> HttpResponse:
    """The navigation's menu: each view with its live count (loaded after the page)."""
    return render(request, "account/saved_views.html#menu", {"rows": _rows(request)})


@login_required
@require_POST
def saved_view_save_submit(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    back = request.POST.get("path", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts=None) or not back.startswith("/"):
        back = "/"
    if not form.is_valid():
        messages.error(request, "; ".join(e for errs in form.errors.values() for e in errs))
        return redirect(back)
    with refused(forbidden_too=True) as refusal:
        view = saved_view_save(
            actor=request.user,
            name=form.cleaned_data["name"],
            path=form.cleaned_data["path"],
            query=form.cleaned_data["query"],
            shared_role=form.cleaned_data["shared_role"],
            is_default=form.cleaned_data["is_default"],
        )
        messages.success(request, f"Saved the view “{view.name}”.")
        return redirect(url_of(view))
    messages.error(request, refusal.message)
    query = form.cleaned_data["query"]
    return redirect(f"{back}?{query}" if query else back)


@login_required
@require_POST
def saved_view_delete_submit(request: HttpRequest, view_id: int) -> HttpResponse:
    with refused(forbidden_too=True) as refusal:
        saved_view_delete(actor=request.user, view_id=view_id)
        messages.success(request, "View deleted.")
    if refusal:
        messages.error(request, refusal.message)
    return redirect("saved-views")
