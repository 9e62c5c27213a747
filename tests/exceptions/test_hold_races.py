"""Two analysts release one hold at the same moment: one success, one clear conflict, one history row."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from exceptions.models import Hold, HoldState
from exceptions.services import hold_release, order_evaluate
from o2c.errors import Conflict
from orders.services import LineInput, order_create
from tests.fixtures.factories import CustomerFactory, ShipToFactory
from tests.fixtures.users import make_user


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_releases_of_one_hold(hold_policy, stocked_item, cs_user):
    # given a credit hold (transactional: each thread has its own connection and transaction)
    customer = CustomerFactory(credit_limit=Decimal("100"))
    order = order_create(
        actor=cs_user,
        customer_id=customer.pk,
        channel="edi",
        ship_to_id=ShipToFactory(customer=customer).pk,
        lines=[LineInput(sku=stocked_item.sku, quantity=Decimal("5"))],
    )
    order_evaluate(order_id=order.pk)
    hold = Hold.objects.get(order=order)
    analysts = [make_user("credit_a", "credit"), make_user("credit_b", "credit")]
    barrier = threading.Barrier(2)
    outcomes = {}

    def release(user):
        try:
            barrier.wait(timeout=10)
            outcomes[user.username] = hold_release(
                hold_id=hold.pk, actor=user, reason=f"by {user.username}"
            )
        except Conflict as exc:
            outcomes[user.username] = exc
        finally:
            connections.close_all()

    # when both release at once
    threads = [threading.Thread(target=release, args=(user,)) for user in analysts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then one wins, the other hears who did it, and history records one release
    wins = [o for o in outcomes.values() if isinstance(o, Hold)]
    conflicts = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, outcomes
    assert "Already released by" in conflicts[0].message or "Claimed by" in conflicts[0].message
    assert Hold.history.filter(id=hold.pk, state=HoldState.RELEASED).count() == 1
    assert Hold.objects.get(pk=hold.pk).state == HoldState.RELEASED
