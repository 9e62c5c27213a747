"""Saved views: a list's filters kept under a name, private or shared with a role, optionally the
person's default for that list, listed in the navigation with live counts.

Which lists can be saved, and how each counts its rows for a set of filters, is declared by the
app that owns the list on its AppConfig (``saved_view_lists = {route name: (label, "dotted.path
to count(user, kwargs, params) -> int | None")}``): core imports no app, and a view of a list
the user may no longer open counts nothing rather than guessing."""

from __future__ import annotations

from functools import cache, wraps

from django.apps import apps
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import QueryDict
from django.shortcuts import redirect
from django.urls import NoReverseMatch, Resolver404, resolve, reverse
from django.utils.module_loading import import_string

from .errors import ApplicationError, PermissionDenied
from .models import SavedView
from .roles import Role, user_roles

#: Query parameters that are a place in a list, not a filter ("all": the list's Clear link, which
#: opens it without the person's default view).
NOT_FILTERS = {"after", "format", "page", "all"}
#: Views a person sees in the navigation (their own and those shared with their roles) at most:
#: each counts its list, so the counts request stays bounded.
MAX_VIEWS = 12


@cache
def saved_lists() -> dict[str, tuple[str, object]]:
    """route name -> (label, count function), from every installed app's declaration."""
    found = {}
    for config in apps.get_app_configs():
        for route, (label, path) in getattr(config, "saved_view_lists", {}).items():
            found[route] = (label, import_string(path))
    return found


def filters_of(query: str) -> str:
    """The query string's filters only, in a stable order (no page cursor, no export format)."""
    params = QueryDict(query, mutable=True)
    for name in NOT_FILTERS:
        params.pop(name, None)
    kept = QueryDict(mutable=True)
    for name in sorted(params):
        values = [v for v in params.getlist(name) if v != ""]
        if values:
            kept.setlist(name, values)
    return kept.urlencode()


def url_of(view: SavedView) -> str:
    base = reverse(view.route, kwargs=view.route_kwargs or None)
    return f"{base}?{view.query}" if view.query else base


def saved_view_save(
    *, actor, name: str, path: str, query: str, shared_role: str = "", is_default: bool = False
) -> SavedView:
    """Save the filters of the list at ``path`` under ``name`` (saving again under the same name
    replaces it). Refused: a page that is not a savable list, filters the list itself refuses, a
    role the person does not have."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("Give the view a name.", {"field": "name"})
    if len(name) > 60:
        raise ApplicationError("A view's name has at most 60 characters.", {"field": "name"})
    try:
        match = resolve(path)
    except Resolver404:
        match = None
    if match is None or match.view_name not in saved_lists():
        raise ApplicationError("This page cannot be saved as a view.", {"field": "path"})
    query = filters_of(query)
    if len(query) > 1000:
        raise ApplicationError("These filters are too long to save.", {"field": "query"})
    if shared_role and shared_role not in user_roles(actor):
        raise PermissionDenied("You can share a view only with a role you have.")
    if shared_role and shared_role not in Role.values:
        raise ApplicationError("No such role.", {"field": "shared_role"})
    _, count = saved_lists()[match.view_name]
    if count(actor, match.kwargs, QueryDict(query)) is None:
        raise ApplicationError("Fix the filters before saving them as a view.", {"field": "query"})
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(owner=actor, name=name).first()
        view = view or SavedView(owner=actor, name=name)
        view.route, view.route_kwargs, view.query = match.view_name, match.kwargs, query
        view.shared_role, view.is_default = shared_role, is_default
        if is_default:
            # one default per list and person: the new one replaces the old
            SavedView.objects.filter(
                owner=actor, route=view.route, route_kwargs=view.route_kwargs, is_default=True
            ).exclude(pk=view.pk).update(is_default=False)
        view._history_user = actor
        view._change_reason = f"Saved: {url_of(view)}"[:100]
        try:
            with transaction.atomic():
                view.save()
        except IntegrityError as exc:  # saved under this name at the same moment elsewhere
            raise ApplicationError("A view of this name was just saved: try again.") from exc
    return view


def saved_view_delete(*, actor, view_id: int) -> None:
    """Only the view's owner deletes it (a shared view disappears for the role as well)."""
    with transaction.atomic():
        view = SavedView.objects.select_for_update().filter(pk=view_id).first()
        if view is None or view.owner_id != actor.pk:
            raise PermissionDenied("Only the person who saved a view may delete it.")
        view._history_user = actor
        view._change_reason = "Deleted"
        view.delete()


def views_for(user, *, limit: int | None = MAX_VIEWS) -> list[SavedView]:
    """The person's own views and those shared with one of their roles, by name: the first
    ``limit`` for the menu (each is counted), every one for the page that manages them."""
    if not user.is_authenticated:
        return []
    visible = SavedView.objects.filter(Q(owner=user) | Q(shared_role__in=list(user_roles(user))))
    visible = visible.select_related("owner")
    return list(visible[:limit] if limit is not None else visible)


def view_counts(user, views: list[SavedView]) -> dict[int, int | None]:
    """Each view's live count for this person (their own row access applies to a shared view):
    one count query per view, at most ``MAX_VIEWS``; None for a list no longer countable."""
    counts = {}
    for view in views:
        entry = saved_lists().get(view.route)
        counts[view.pk] = (
            entry[1](user, view.route_kwargs, QueryDict(view.query)) if entry else None
        )
    return counts


def default_view(view_func):
    """Open the person's default view of a list when the list is opened bare (no query)."""

    @wraps(view_func)
    def wrapper(request, *args, **kwargs):
        if request.method == "GET" and not request.GET and request.user.is_authenticated:
            match = request.resolver_match
            default = (
                SavedView.objects.filter(
                    owner=request.user, route=match.view_name, route_kwargs=match.kwargs,
                    is_default=True,
                ).only("route", "route_kwargs", "query").first()
            )  # fmt: skip
            if default is not None and default.query:
                try:
                    return redirect(url_of(default))
                except NoReverseMatch:
                    pass  # the list moved: show it bare
        return view_func(request, *args, **kwargs)

    return wrapper


def count_of(form_class, to_filters, select, *, may_open=None):
    """A list's count function for the registry, built from the list's own parts: its filter
    form, its reading of a valid form into filters, and its unpaged selector (``select(user=,
    filters=)``), so a view counts exactly what the list would show. None for filters the list
    refuses, or for a person the list turns away (``may_open``, or the selector's refusal)."""

    def count(user, kwargs: dict, params) -> int | None:
        form = form_class(params)
        if not form.is_valid() or (may_open is not None and not may_open(user)):
            return None
        try:
            return select(user=user, filters=to_filters(form)).count()
        except PermissionDenied:
            return None

    return count
