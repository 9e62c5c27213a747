"""What an imported batch's anomaly rule compares with: each customer's last orders before the
batch, newest first, without cancelled ones (read per customer off its index on PostgreSQL,
ranked by a window elsewhere; both must agree)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.facts import recent_orders
from orders.models import Order, OrderState
from tests.fixtures.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_recent_orders_are_each_customers_newest_before_the_batch():
    now = timezone.now()
    regular, quiet, newcomer = CustomerFactory(), CustomerFactory(), CustomerFactory()
    placed = {
        days: OrderFactory(customer=regular, received_at=now - timedelta(days=days))
        for days in (9, 7, 5, 3, 2)
    }
    Order.objects.filter(pk=placed[3].pk).update(state=OrderState.CANCELLED)
    OrderFactory(customer=regular, received_at=now + timedelta(minutes=1))  # in the batch
    only = OrderFactory(customer=quiet, received_at=now - timedelta(days=30))

    recent = recent_orders({regular.pk, quiet.pk, newcomer.pk}, now, 3)

    assert recent[regular.pk] == [placed[2].pk, placed[5].pk, placed[7].pk]
    assert recent[quiet.pk] == [only.pk]
    assert recent[newcomer.pk] == []  # no history: the batch's own orders are added to it
    assert recent_orders({regular.pk}, now, 0) == {}
