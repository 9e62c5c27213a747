"""Order entry and edits: validation, Decimal totals, contract prices, history and after-commit events."""

from decimal import Decimal

import pytest

from core.errors import ApplicationError, Conflict, PermissionDenied
from orders.models import Order, OrderLine
from orders.services import LineInput, order_create, order_update_line
from orders.signals import order_changed, order_received
from tests.fixtures.factories import CustomerFactory, ItemFactory, PriceAgreementFactory

pytestmark = pytest.mark.django_db


def test_entry_uses_contract_price_and_rounds_totals_half_up(cs_user):
    # given a contract price for one item and a list price for the other
    customer = CustomerFactory()
    contracted = ItemFactory(sku="SKU-C", list_price=Decimal("20.0000"))
    PriceAgreementFactory(customer=customer, item=contracted, contract_price=Decimal("18.3350"))
    ItemFactory(sku="SKU-L", list_price=Decimal("0.3350"))

    # when customer service enters the order
    order = order_create(
        actor=cs_user,
        customer_id=customer.pk,
        channel="inside_sales",
        lines=[
            LineInput(sku="SKU-C", quantity=Decimal("1")),
            LineInput(sku="SKU-L", quantity=Decimal("3")),
        ],
    )

    # then line prices come from the contract, then the list, and the total is exact to the cent
    first, second = order.lines.all()
    assert (first.unit_price, first.contract_price) == (Decimal("18.3350"), Decimal("18.3350"))
    assert (second.unit_price, second.contract_price) == (Decimal("0.3350"), None)
    # 18.335 -> 18.34 (half up), 3 × 0.335 = 1.005 -> 1.01
    assert order.total == Decimal("19.35")
    assert order.entered_by == cs_user and order.last_edited_by == cs_user


def test_entry_writes_history_with_author_and_reason(cs_user, make_order):
    order = make_order()
    row = Order.history.get(id=order.pk)
    assert (row.history_type, row.history_user, row.history_change_reason) == (
        "+",
        cs_user,
        "Order entered",
    )
    assert OrderLine.history.filter(order_id=order.pk, history_user=cs_user).count() == 2


def test_unknown_sku_is_rejected_and_nothing_is_stored(cs_user, items):
    customer = CustomerFactory()
    with pytest.raises(ApplicationError, match="Unknown SKU: NOPE"):
        order_create(
            actor=cs_user,
            customer_id=customer.pk,
            channel="edi",
            lines=[
                LineInput(sku="SKU-A", quantity=Decimal("1")),
                LineInput(sku="NOPE", quantity=Decimal("1")),
            ],
        )
    assert not Order.objects.exists() and not OrderLine.objects.exists()


@pytest.mark.parametrize(
    "quantity, price, message",
    [
        (Decimal("0"), None, "greater than zero"),
        (Decimal("-2"), None, "greater than zero"),
        (Decimal("1"), Decimal("-0.01"), "cannot be negative"),
    ],
)
def test_bad_quantities_and_prices_are_rejected(cs_user, items, quantity, price, message):
    customer = CustomerFactory()
    with pytest.raises(ApplicationError, match=message):
        order_create(
            actor=cs_user,
            customer_id=customer.pk,
            channel="edi",
            lines=[LineInput(sku="SKU-A", quantity=quantity, unit_price=price)],
        )
    assert not Order.objects.exists()


def test_only_customer_service_enters_orders(credit_user, items):
    customer = CustomerFactory()
    with pytest.raises(PermissionDenied):
        order_create(
            actor=credit_user,
            customer_id=customer.pk,
            channel="edi",
            lines=[LineInput(sku="SKU-A", quantity=Decimal("1"))],
        )


def test_territory_limited_user_cannot_enter_for_other_territories(west_cs_user, items):
    east = CustomerFactory(territory="EAST")
    with pytest.raises(ApplicationError, match="Unknown customer"):
        order_create(
            actor=west_cs_user,
            customer_id=east.pk,
            channel="edi",
            lines=[LineInput(sku="SKU-A", quantity=Decimal("1"))],
        )


def test_received_event_fires_only_after_commit(make_order, django_capture_on_commit_callbacks):
    received = []

    def listener(sender, order_id, **kwargs):
        received.append(order_id)

    order_received.connect(listener)
    try:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            order = make_order()
        # nothing fired inside the transaction...
        assert received == []
        for callback in callbacks:
            callback()
        # ...and exactly once after commit
        assert received == [order.pk]
    finally:
        order_received.disconnect(listener)


def test_line_edit_recalculates_records_editor_and_signals_change(
    make_order, cs_user_2, django_capture_on_commit_callbacks
):
    # given an order entered by one agent
    order = make_order()
    line = order.lines.get(line_number=1)
    changed = []
    order_changed.connect(receiver := lambda sender, order_id, **kw: changed.append(order_id))
    try:
        # when a second agent changes the quantity
        with django_capture_on_commit_callbacks(execute=True):
            order_update_line(
                actor=cs_user_2,
                order_id=order.pk,
                line_id=line.pk,
                quantity=Decimal("2"),
                unit_price=Decimal("12.50"),
                reason="customer called",
            )
    finally:
        order_changed.disconnect(receiver)

    # then totals, the last editor, history and the re-evaluation event all follow
    order.refresh_from_db()
    assert order.total == Decimal("2") * Decimal("12.50") + Decimal("4") * Decimal("10.00")
    assert order.last_edited_by == cs_user_2
    assert (
        OrderLine.history.filter(id=line.pk).latest("history_date").history_change_reason
        == "customer called"
    )
    assert changed == [order.pk]


def test_line_edit_refused_after_release(make_order, cs_user, system_user):
    from orders.services import order_release

    order = make_order()
    order_release(actor=system_user, order_id=order.pk, reason="touchless")
    line = order.lines.first()
    with pytest.raises(Conflict, match="can no longer be edited"):
        order_update_line(
            actor=cs_user,
            order_id=order.pk,
            line_id=line.pk,
            quantity=Decimal("1"),
            unit_price=None,
            reason="x",
        )
    line.refresh_from_db()
    assert line.ordered_qty == Decimal("10")


def test_line_edit_outside_territory_is_denied(make_order, west_cs_user, customer):
    order = make_order(customer=customer)  # EAST
    line = order.lines.first()
    with pytest.raises(PermissionDenied):
        order_update_line(
            actor=west_cs_user,
            order_id=order.pk,
            line_id=line.pk,
            quantity=Decimal("1"),
            unit_price=None,
            reason="x",
        )


def test_entry_skips_a_number_taken_meanwhile_and_refuses_a_duplicate_given_number(cs_user, items):
    # given orders numbered from the sequence
    customer = CustomerFactory()
    first = order_create(
        actor=cs_user,
        customer_id=customer.pk,
        channel="edi",
        lines=[LineInput(sku="SKU-A", quantity=Decimal("1"))],
    )
    assert first.number == "SO-0000001"
    second = order_create(
        actor=cs_user,
        customer_id=customer.pk,
        channel="edi",
        lines=[LineInput(sku="SKU-A", quantity=Decimal("1"))],
    )
    assert second.number == "SO-0000002"

    # when an import brings an order whose number is already used
    with pytest.raises(Conflict, match="already taken"):
        order_create(
            actor=cs_user,
            customer_id=customer.pk,
            channel="edi",
            number="SO-0000002",
            lines=[LineInput(sku="SKU-A", quantity=Decimal("1"))],
        )

    # then nothing of it was stored
    assert Order.objects.count() == 2 and OrderLine.objects.count() == 2
