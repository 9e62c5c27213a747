"""Money reads with its currency code, prices keep their decimals, and moments read in the zone
of the person reading, in Django templates and in the Jinja2 rows alike."""

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.template import Context, Template, engines
from django.utils import timezone

from core.templatetags.desk import money, price, when

KNOWN = datetime(2026, 1, 15, 15, 30, tzinfo=ZoneInfo("UTC"))


def test_money_is_the_amount_with_its_currency_code():
    assert money(Decimal("1234.5"), "USD") == "1,234.50 USD"
    assert money(Decimal("1234567.005"), "EUR") == "1,234,567.01 EUR"  # half-up to cents
    assert money("-12.345", "GBP") == "-12.35 GBP"
    assert money(Decimal("0"), "USD") == "0.00 USD"


def test_money_without_a_known_currency_or_a_number():
    assert money(Decimal("5"), "") == "5.00"
    assert money(None, "USD") == "" and money("", "USD") == ""
    assert money("not a number", "USD") == ""


def test_a_price_keeps_its_own_decimals_up_to_four():
    assert price(Decimal("7.9900"), "USD") == "7.99 USD"
    assert price(Decimal("0.1234"), "USD") == "0.1234 USD"
    assert price(Decimal("12.5"), "USD") == "12.50 USD"
    assert price(Decimal("1500"), "USD") == "1,500.00 USD"
    assert price(Decimal("0.123456"), "USD") == "0.1235 USD"
    assert price(None, "USD") == "" and price("x", "USD") == ""


def test_when_reads_a_moment_in_the_active_zone():
    with timezone.override(ZoneInfo("America/New_York")):
        assert when(KNOWN) == "2026-01-15 10:30"
        assert when(KNOWN.isoformat()) == "2026-01-15 10:30"  # as snapshots keep it
        assert when("2026-07-01T12:00:00+00:00") == "2026-07-01 08:00"  # summer time
    with timezone.override(ZoneInfo("Asia/Tokyo")):
        assert when(KNOWN) == "2026-01-16 00:30"
    assert when(None) == "" and when("not a time") == "not a time"


def test_the_filters_load_in_django_templates_and_jinja():
    context = {"v": Decimal("1234.5"), "c": "USD", "p": Decimal("0.1234"), "t": KNOWN}
    django = Template("{% load desk %}{{ v|money:c }} · {{ p|price:c }} · {{ t|when }}")
    jinja = engines["jinja2"].from_string("{{ v|money(c) }} · {{ p|price(c) }} · {{ t|when }}")
    with timezone.override(ZoneInfo("America/New_York")):
        assert django.render(Context(context)) == "1,234.50 USD · 0.1234 USD · 2026-01-15 10:30"
        assert jinja.render(context) == "1,234.50 USD · 0.1234 USD · 2026-01-15 10:30"
