"""``{% hold_fact key value currency %}``: one number of a hold's snapshot as a person reads it,
money with the order's currency code and a moment in the reader's time zone."""

import re

from django import template

from core.templatetags.desk import money, price, when

register = template.Library()

#: Snapshot keys (exceptions.rules, exceptions.services) that are amounts of money.
MONEY = frozenset(
    {
        "allowed",
        "amount",
        "credit_limit",
        "exposure",
        "exposure_now",
        "open_ar",
        "order_total",
        "overage",
        "released_uninvoiced",
    }
)
#: Snapshot keys that are unit prices (up to four decimals).
PRICES = frozenset(
    {"contract_price", "floor_price", "list_price", "reference_price", "unit_cost", "unit_price"}
)
#: A moment as snapshots keep it: ISO 8601 text, in UTC.
MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


@register.simple_tag
def hold_fact(key: str, value, currency: str = ""):
    """``value`` of the snapshot figure ``key`` ("order_total" or "order total")."""
    key = key.replace(" ", "_")
    if value in (None, ""):
        return "—"
    if key in MONEY:
        return money(value, currency) or value
    if key in PRICES:
        return price(value, currency) or value
    if isinstance(value, str) and MOMENT.match(value):
        return when(value)
    return value
