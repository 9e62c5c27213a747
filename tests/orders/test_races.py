"""Two people acting on one order at once: one wins, the other gets a clear conflict, one history row."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from core.errors import Conflict
from orders.models import Order, OrderState
from orders.services import LineInput, order_create, order_transition
from tests.fixtures.factories import CustomerFactory, ItemFactory


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_cancels_one_wins(cs_user, credit_user):
    # given a received order
    ItemFactory(sku="SKU-R")
    order = order_create(
        actor=cs_user,
        customer_id=CustomerFactory().pk,
        channel="edi",
        lines=[LineInput(sku="SKU-R", quantity=Decimal("1"))],
    )
    barrier = threading.Barrier(2)
    outcomes: dict[str, object] = {}

    def act(name: str, actor, transition: str) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[name] = order_transition(
                actor=actor, order_id=order.pk, transition=transition, reason=name
            )
        except Conflict as exc:
            outcomes[name] = exc
        finally:
            connections.close_all()

    # when customer service and credit both cancel it at the same moment (whatever state the
    # rules left it in: received, on hold or released, all of which may be cancelled)
    threads = [
        threading.Thread(target=act, args=("cs", cs_user, "cancel")),
        threading.Thread(target=act, args=("credit", credit_user, "cancel")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then exactly one succeeded, the other was told why, and history has one transition row
    conflicts = [o for o in outcomes.values() if isinstance(o, Conflict)]
    winners = [o for o in outcomes.values() if isinstance(o, Order)]
    assert len(winners) == 1 and len(conflicts) == 1, outcomes
    assert (
        "is not possible from there" in conflicts[0].message
        or "changed by someone else" in conflicts[0].message
    )
    final = Order.objects.get(pk=order.pk)
    assert final.state == OrderState.CANCELLED
    assert Order.history.filter(id=order.pk, state=OrderState.CANCELLED).count() == 1
