"""Keyset pagination: a page costs the same query whether it is the first or the thousandth."""

import base64
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.shortcuts import render

from .errors import ApplicationError


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def _encode(values: list[Any]) -> str:
    # Datetimes and Decimals travel as strings; the ORM converts them back when filtering.
    raw = [
        v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, Decimal) else v
        for v in values
    ]
    return base64.urlsafe_b64encode(json.dumps(raw).encode()).decode()


def _decode(cursor: str, count: int) -> list[Any]:
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except (ValueError, TypeError) as exc:
        raise ApplicationError(
            "That page link is no longer valid; start from the first page."
        ) from exc
    if not isinstance(values, list) or len(values) != count:
        raise ApplicationError("That page link is no longer valid; start from the first page.")
    return values


def keyset_page(
    queryset: QuerySet,
    *,
    ordering: tuple[str, ...],
    cursor: str | None,
    size: int,
    build: Callable[[list[Any]], list[Any]] | None = None,
) -> Page:
    """One page of ``queryset`` ordered by ``ordering`` (the last field must be unique, e.g. -id).

    The cursor holds the sort values of the last row shown; the next page starts strictly after
    them, so rows inserted meanwhile never shift or repeat what the user sees. ``build`` turns
    the fetched rows (e.g. ``.values()`` dicts) into the page's rows, which must carry the
    ordering fields as attributes.
    """
    fields = [name.lstrip("-") for name in ordering]
    queryset = queryset.order_by(*ordering)
    if cursor:
        values = _decode(cursor, len(fields))
        for index, name in enumerate(fields):
            field = queryset.model._meta.get_field(name)
            values[index] = field.to_python(values[index])
        # (a, b) after (x, y) in mixed directions: a > x OR (a = x AND b > y) ...
        condition = Q()
        for index, order_name in enumerate(ordering):
            op = "lt" if order_name.startswith("-") else "gt"
            term = Q(**{f"{fields[index]}__{op}": values[index]})
            for prior in range(index):
                term &= Q(**{fields[prior]: values[prior]})
            condition |= term
        # ... and a >= x besides: implied by the above, but PostgreSQL can only start an index
        # scan at a bound on the leading column. Without it the OR is a filter, and page N reads
        # and discards the N - 1 pages before it.
        lead = "lte" if ordering[0].startswith("-") else "gte"
        queryset = queryset.filter(Q(**{f"{fields[0]}__{lead}": values[0]}), condition)
    rows = list(queryset[: size + 1])
    if build is not None:
        rows = build(rows)
    next_cursor = None
    if len(rows) > size:
        rows = rows[:size]
        last = rows[-1]
        next_cursor = _encode([getattr(last, name) for name in fields])
    return Page(rows=rows, next_cursor=next_cursor)


def render_paged_list(request, template: str, context: dict):
    """Render a filtered, keyset-paged list page. The page template names two partials: ``results``
    (swapped when the filters change) and ``rows`` (appended by "Show more"). ``query`` is the
    current filter string without the cursor, for the next page's link."""
    query = request.GET.copy()
    query.pop("after", None)
    context = {**context, "query": query.urlencode()}
    if getattr(request, "htmx", False) and request.GET.get("after"):
        return render(request, f"{template}#rows", context)
    if getattr(request, "htmx", False):
        return render(request, f"{template}#results", context)
    return render(request, template, context)
