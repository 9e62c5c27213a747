"""The cheap formatting of long work lists: amounts and ages as analysts read them, and row links."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.template import Context, Template
from django.urls import NoReverseMatch, reverse, set_script_prefix

from core.templatetags.desk import age, amount, id_url

NOW = datetime(2026, 11, 23, 12, 0, 0)


def test_amount_rounds_half_up_and_groups_thousands():
    assert amount(Decimal("1234567.005")) == "1,234,567.01"
    assert amount(Decimal("999.994")) == "999.99"
    assert amount(Decimal("1500.5"), 0) == "1,501"
    assert amount(None) == "" and amount("not a number") == ""


def test_age_shows_the_two_largest_units_either_side_of_now():
    assert age(NOW - timedelta(days=2, hours=4, minutes=10), NOW) == "2 d 4 h"
    assert age(NOW - timedelta(days=3), NOW) == "3 d"
    assert age(NOW + timedelta(hours=3, minutes=20, seconds=5), NOW) == "3 h 20 min"
    assert age(NOW - timedelta(minutes=12, seconds=59), NOW) == "12 min"
    assert age(NOW - timedelta(seconds=30), NOW) == "< 1 min"
    assert age("yesterday", NOW) == ""


def test_filters_load_in_templates():
    rendered = Template("{% load desk %}{{ v|amount }} · {{ t|age:now }}").render(
        Context({"v": Decimal("5000"), "t": NOW - timedelta(hours=1), "now": NOW})
    )
    assert rendered == "5,000.00 · 1 h"


def test_id_url_is_the_reversed_url_under_any_script_prefix():
    template = Template(
        "{% load desk %}{% id_url 'exceptions:hold' pk as hold_url %}{{ hold_url }}claim/ "
        "{% id_url 'orders:detail' 7 %}"
    )
    assert template.render(Context({"pk": 42})) == (
        f"{reverse('exceptions:hold', args=[42])}claim/ {reverse('orders:detail', args=[7])}"
    )
    set_script_prefix("/o2c/")
    try:
        assert id_url("exceptions:hold", 42) == "/o2c/queues/holds/42/"
    finally:
        set_script_prefix("/")
    assert id_url("exceptions:hold", 42) == "/queues/holds/42/"


def test_id_url_refuses_a_url_that_takes_no_id():
    with pytest.raises(NoReverseMatch):
        id_url("exceptions:mine", 1)
