"""Cheap formatting for long work lists: each row of a queue page renders several amounts, ages
and links, where ``floatformat|intcomma``, ``timesince`` and ``{% url %}`` cost tens to hundreds of
microseconds a call. Money is shown with its currency code, and times in the reader's zone."""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache

from django import template
from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.utils import formats, timezone
from django.utils.translation import get_language

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
    head, tail = around_id(name)
    return f"{head}{int(pk)}{tail}"


def around_id(name: str) -> tuple[str, str]:
    """What comes before and after the id in URL ``name`` as it is reversed now (the URL conf
    and script prefix are thread-local reads, ~10 µs: a renderer of many rows keeps this)."""
    return _around_id(name, get_resolver(get_urlconf()), get_script_prefix())


@register.filter
def amount(value, places: int = 2) -> str:
    """A number rounded half-up to ``places`` decimals, grouped by thousands in the locale's style."""
    return format_amount(value, places, number_marks())


def number_marks() -> tuple[str, str] | None:
    """The active language's decimal and thousands marks (None: left to ``number_format``). A
    renderer of many amounts looks them up once: the active language is a thread-local read
    (~10 µs), more than the formatting itself."""
    return _separators(get_language())


def format_amount(value, places: int, marks: tuple[str, str] | None) -> str:
    """``amount`` with the language's ``marks`` already looked up."""
    if value in (None, ""):
        return ""
    try:
        places = int(places)
        value = Decimal(value).quantize(_quantum(places), rounding=ROUND_HALF_UP)
    except (ArithmeticError, TypeError, ValueError):
        return ""
    if marks is None:
        return formats.number_format(value, places, use_l10n=True, force_grouping=True)
    # Python's own grouping, then the locale's marks: a tenth of number_format's time, which
    # looks the formats up again on every call
    shown = f"{value:,.{places}f}"
    if marks != (".", ","):
        shown = shown.translate({ord(","): marks[1], ord("."): marks[0]})
    return shown


@lru_cache(maxsize=8)
def _quantum(places: int) -> Decimal:
    """0.01 for 2 places: built once (a page formats hundreds of amounts)."""
    return Decimal(1).scaleb(-places)


@lru_cache(maxsize=32)
def _separators(language: str | None) -> tuple[str, str] | None:
    """The language's decimal and thousands marks where it groups plainly by three, or None
    (Indian-style grouping and the like are left to ``number_format``)."""
    if formats.get_format("NUMBER_GROUPING", language, use_l10n=True) != 3:
        return None
    return (
        str(formats.get_format("DECIMAL_SEPARATOR", language, use_l10n=True)),
        str(formats.get_format("THOUSAND_SEPARATOR", language, use_l10n=True)),
    )


@register.filter
def money(value, currency: str = "") -> str:
    """An amount with its currency code, rounded half-up to cents: "1,234.50 USD" (the number
    alone when the currency is not known)."""
    return format_money(value, currency, number_marks())


def format_money(value, currency: str, marks: tuple[str, str] | None) -> str:
    """``money`` with the language's ``marks`` already looked up."""
    shown = format_amount(value, 2, marks)
    return f"{shown} {currency}" if shown and currency else shown


@register.filter
def price(value, currency: str = "") -> str:
    """A unit price with its currency code: cents at least, and up to four decimals where the
    price has them ("7.99 USD", "0.1234 USD")."""
    try:
        exponent = Decimal(value).normalize().as_tuple().exponent
    except (ArithmeticError, TypeError, ValueError):
        return ""
    places = min(4, max(2, -exponent)) if isinstance(exponent, int) else 2
    shown = amount(value, places)
    return f"{shown} {currency}" if shown and currency else shown


@register.filter(expects_localtime=False)
def when(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A moment in the reader's zone (the one active for the request): "2026-01-15 10:30". Takes
    an aware datetime or its ISO 8601 text, as snapshots keep one."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if not isinstance(value, datetime):
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return value.strftime(fmt)


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
