"""Records a bulk path inserts in a concluded state get it through one helper; a stored record
cannot be given a state that way, it must move by a transition."""

import pytest

from core.audit import set_state_for_insert
from orders.models import Order, OrderState

pytestmark = pytest.mark.django_db


def test_a_record_not_stored_yet_is_given_the_state_it_is_inserted_in(make_order):
    # given an order built for a bulk insert (its state field is protected)
    order = Order(customer=make_order().customer, number="SO-BULK-1", channel="edi")
    with pytest.raises(AttributeError, match="Direct state modification is not allowed"):
        order.state = OrderState.RELEASED
    # when the bulk path sets its concluded state
    set_state_for_insert(order, OrderState.RELEASED)
    # then it is inserted in that state
    assert order.state == OrderState.RELEASED


def test_a_stored_record_is_refused_and_keeps_its_state(make_order):
    # given an order already stored, as received
    order = make_order()
    before = order.state
    # when a bulk path tries to set its state
    with pytest.raises(ValueError, match="move it by a transition"):
        set_state_for_insert(order, OrderState.RELEASED)
    # then nothing changed, in memory or in the database
    assert order.state == before
    assert Order.objects.get(pk=order.pk).state == before
