"""Cheap formatting for long work lists: each row of a queue page renders several amounts, ages
and links, where ``floatformat|intcomma``, ``timesince`` and ``{% url %}`` cost tens to hundreds of
microseconds a call."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django import template
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone

register = template.Library()

# An id no row has, so it can be found again in the reversed URL and split around.
_SENTINEL = 987654321987654321


@lru_cache(maxsize=64)
def _around_id(name: str, resolver, script_prefix: str) -> tuple[str, str]:
    # Keyed on the resolver (rebuilt when URL settings change) and the script prefix: the two
    # things reverse() depends on besides its arguments.
    head, _, tail = reverse(name, args=[_SENTINEL]).partition(str(_SENTINEL))
    return head, tail


@register.simple_tag
def id_url(name: str, pk: int) -> str:
    """``{% url name pk %}`` for a URL whose only argument is an integer id, reversed once per URL
    name instead of once per row."""
    head, tail = _around_id(name, get_resolver(get_urlconf()), get_script_prefix())
    return f"{head}{int(pk)}{tail}"


@register.filter
def amount(value, places: int = 2) -> str:
    """A number rounded half-up to ``places`` decimals, grouped by thousands in the locale's style."""
    if value in (None, ""):
        return ""
    try:
        value = Decimal(value).quantize(Decimal(1).scaleb(-int(places)), rounding=ROUND_HALF_UP)
    except (ArithmeticError, TypeError, ValueError):
        return ""
    return formats.number_format(value, int(places), use_l10n=True, force_grouping=True)


@register.filter
def age(value: datetime, now: datetime | None = None) -> str:
    """How long ago (or until) ``value``, in its two largest units: "2 d 4 h", "3 h 20 min",
    "12 min", "< 1 min"."""
    if not isinstance(value, datetime):
        return ""
    seconds = abs(int(((now or timezone.now()) - value).total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else "< 1 min"
