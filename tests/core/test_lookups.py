"""``field__any``: the same rows as ``field__in``, with the list as one array parameter on
PostgreSQL (the import's lists of hundreds of values)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_any_finds_what_in_finds(make_order):
    first, second = make_order(), make_order()
    cases = [
        ("pk", [first.pk, second.pk, first.pk, None, 10**12]),
        ("number", [first.number, "SO-NONE"]),
        ("customer_id", [second.customer_id]),
        ("customer", [first.customer_id]),
        ("pk", []),
    ]
    for field, values in cases:
        found = set(Order.objects.filter(**{f"{field}__any": values}).values_list("pk", flat=True))
        assert found == set(
            Order.objects.filter(**{f"{field}__in": values}).values_list("pk", flat=True)
        ), field
    assert set(
        Order.objects.filter(pk__any={first.pk, second.pk}).values_list("pk", flat=True)
    ) == {first.pk, second.pk}


def test_a_value_longer_than_the_column_is_not_cut_to_match(make_order):
    """Cast to the column's varchar(32), a 33-character value would be cut to one that matches."""
    order = make_order()
    Order.objects.filter(pk=order.pk).update(number="N" * 32)
    assert not Order.objects.filter(number__any=["N" * 33]).exists()
    assert Order.objects.filter(number__any=["N" * 32]).exists()


def test_on_postgresql_the_list_is_one_parameter():
    if connection.vendor != "postgresql":
        pytest.skip("elsewhere __any is __in")
    customers = [CustomerFactory().pk for _ in range(3)]
    with CaptureQueriesContext(connection) as queries:
        list(Order.objects.filter(customer_id__any=customers))
    assert "= ANY(" in queries[0]["sql"] and " IN (" not in queries[0]["sql"]
