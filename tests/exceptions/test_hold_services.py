"""Holds through the services: evaluation, queue actions, maker-checker, conflicts and escalation."""

from decimal import Decimal

import pytest
from django.core import mail

from core.errors import ApplicationError, Conflict, PermissionDenied
from exceptions.models import Hold, HoldPolicy, HoldState, Notification
from exceptions.services import (
    hold_approve,
    hold_approve_partial,
    hold_cancel_line,
    hold_claim,
    hold_correct_price,
    hold_escalate,
    hold_reassign,
    hold_reject,
    hold_release,
    hold_substitute,
    hold_unclaim,
    holds_escalate_overdue,
    order_evaluate,
)
from orders.models import Customer, Order, OrderState
from orders.services import customer_update_master_data, order_transition
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


def test_clean_order_is_released_touchless(enter):
    order = enter(quantity="10")  # 1,000 against a 5,000 limit
    assert order.state == OrderState.RELEASED
    assert not order.holds.exists()
    assert (
        Order.history.filter(id=order.pk).latest("history_date").history_change_reason
        == "Touchless: no hold raised"
    )


def test_credit_overage_lands_in_the_credit_queue_with_its_numbers(enter):
    order = enter(quantity="60", open_ar="500")  # exposure 6,500 against 5,250 allowed
    hold = order.holds.get()
    assert order.state == OrderState.ON_HOLD
    assert (hold.queue, hold.reason.code, hold.state) == ("credit", "CREDIT_LIMIT", HoldState.OPEN)
    assert hold.context["exposure"] == "6500.00" and hold.context["allowed"] == "5250.00"
    assert hold.approval_amount == Decimal("1250.00")
    assert hold.due_at > hold.raised_at


def test_re_evaluation_never_duplicates_an_open_hold(enter):
    order = enter(quantity="60")
    order_evaluate(order_id=order.pk)
    order_evaluate(order_id=order.pk)
    assert order.holds.count() == 1


def test_release_of_the_last_hold_releases_the_order(enter, credit_user):
    order = enter(quantity="60")
    hold = order.holds.get()
    hold_claim(hold_id=hold.pk, actor=credit_user)
    hold_release(hold_id=hold.pk, actor=credit_user, reason="Customer paid by wire today")
    hold.refresh_from_db()
    order.refresh_from_db()
    assert (hold.state, hold.resolved_by, hold.resolution_note) == (
        HoldState.RELEASED,
        credit_user,
        "Customer paid by wire today",
    )
    assert order.state == OrderState.RELEASED
    assert (
        "resolved by credit"
        in Order.history.filter(id=order.pk).latest("history_date").history_change_reason
    )
    # each action is one history row with its reason
    reasons = list(
        Hold.history.filter(id=hold.pk)
        .order_by("history_date")
        .values_list("history_change_reason", flat=True)
    )
    assert reasons == [
        "Raised by rule: Exposure above credit limit",
        "Claimed by credit",
        "Customer paid by wire today",
    ]


def test_override_sticks_on_re_evaluation(enter, credit_user):
    order = enter(quantity="60")
    hold_release(hold_id=order.holds.get().pk, actor=credit_user, reason="ok")
    assert order_evaluate(order_id=order.pk) == []


def test_second_release_gets_a_clear_conflict(enter, credit_user):
    order = enter(quantity="60")
    hold = order.holds.get()
    hold_release(hold_id=hold.pk, actor=credit_user, reason="ok")
    other = make_user("credit2", "credit")
    with pytest.raises(Conflict, match=r"Already released by credit at \d{4}-\d\d-\d\d \d\d:\d\d"):
        hold_release(hold_id=hold.pk, actor=other, reason="me too")
    assert Hold.history.filter(id=hold.pk, state=HoldState.RELEASED).count() == 1


def test_claimed_by_someone_else_is_a_conflict(enter, credit_user):
    order = enter(quantity="60")
    hold = order.holds.get()
    hold_claim(hold_id=hold.pk, actor=credit_user)
    other = make_user("credit2", "credit")
    with pytest.raises(Conflict, match="Already claimed by credit"):
        hold_claim(hold_id=hold.pk, actor=other)
    with pytest.raises(Conflict, match="Claimed by credit"):
        hold_release(hold_id=hold.pk, actor=other, reason="mine now")


def test_unclaim_and_reassign(enter, credit_user):
    order = enter(quantity="60")
    hold = order.holds.get()
    hold_claim(hold_id=hold.pk, actor=credit_user)
    assert hold_unclaim(hold_id=hold.pk, actor=credit_user, reason="end of shift").assignee is None
    colleague = make_user("credit2", "credit")
    assert (
        hold_reassign(
            hold_id=hold.pk, actor=credit_user, to_user_id=colleague.pk, reason="her account"
        ).assignee
        == colleague
    )
    with pytest.raises(ApplicationError, match="active member of this queue"):
        hold_reassign(
            hold_id=hold.pk,
            actor=credit_user,
            to_user_id=make_user("wh", "warehouse").pk,
            reason="x",
        )


def test_acting_outside_your_queue_is_refused_and_changes_nothing(enter, pricing_user):
    order = enter(quantity="60")
    hold = order.holds.get()
    with pytest.raises(PermissionDenied):
        hold_release(hold_id=hold.pk, actor=pricing_user, reason="not mine")
    hold.refresh_from_db()
    assert hold.state == HoldState.OPEN


def test_a_reason_is_mandatory(enter, credit_user):
    hold = enter(quantity="60").holds.get()
    with pytest.raises(ApplicationError, match="reason is required"):
        hold_release(hold_id=hold.pk, actor=credit_user, reason=" ")


def test_maker_checker_above_the_policy_amount(enter, credit_user, superuser, cs_user):
    # given an overage of 14,750, above the 10,000 policy amount
    order = enter(quantity="200")
    hold = order.holds.get(reason__code="CREDIT_LIMIT")

    # when the first analyst releases, it waits for a second approver; the order stays held
    hold = hold_release(hold_id=hold.pk, actor=credit_user, reason="Strategic deal")
    order.refresh_from_db()
    assert hold.state == HoldState.AWAITING_SECOND_APPROVAL and order.state == OrderState.ON_HOLD

    # the first approver cannot approve, nor can the agent who entered the order
    with pytest.raises(PermissionDenied, match="different person"):
        hold_approve(hold_id=hold.pk, actor=credit_user, reason="me again")
    cs_user.groups.add(*credit_user.groups.all())
    author = type(cs_user).objects.get(pk=cs_user.pk)  # fresh: roles are cached per user object
    with pytest.raises(PermissionDenied, match="entered or edited"):
        hold_approve(hold_id=hold.pk, actor=author, reason="my own order")

    # a second, independent approver releases it, and the order with it
    checker = make_user("credit_lead", "credit")
    hold = hold_approve(hold_id=hold.pk, actor=checker, reason="Confirmed with CFO")
    order.refresh_from_db()
    assert (hold.state, hold.first_approver, hold.second_approver) == (
        HoldState.RELEASED,
        credit_user,
        checker,
    )
    assert order.state == OrderState.RELEASED


def test_superuser_cannot_approve_their_own_release(enter, superuser):
    hold = enter(quantity="200").holds.get(reason__code="CREDIT_LIMIT")
    hold_release(hold_id=hold.pk, actor=superuser, reason="I say so")
    with pytest.raises(PermissionDenied, match="different person"):
        hold_approve(hold_id=hold.pk, actor=superuser, reason="and I approve")


def test_nobody_releases_holds_on_an_order_they_entered(enter, credit_user):
    order = enter(quantity="60", actor=make_user("agent", "customer_service", "credit"))
    hold = order.holds.get()
    with pytest.raises(PermissionDenied, match="entered or edited"):
        hold_release(hold_id=hold.pk, actor=order.entered_by, reason="my own")


def test_reject_credit_hold_cancels_the_order_after_confirmation(enter, credit_user):
    order = enter(quantity="60", ship_to=False)  # credit and master-data holds
    credit = order.holds.get(reason__code="CREDIT_LIMIT")
    with pytest.raises(ApplicationError, match="Confirm"):
        hold_reject(
            hold_id=credit.pk, actor=credit_user, reason="Customer in default", confirm_cancel=False
        )
    assert Order.objects.get(pk=order.pk).state == OrderState.ON_HOLD

    hold_reject(
        hold_id=credit.pk, actor=credit_user, reason="Customer in default", confirm_cancel=True
    )
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert set(order.holds.values_list("state", flat=True)) == {HoldState.REJECTED}


def test_pricing_corrects_the_price_and_the_hold_clears(
    enter, pricing_user, django_capture_on_commit_callbacks
):
    order = enter(price="80")  # list 100, tolerance 3 %
    hold = order.holds.get(reason__code="PRICE_BELOW_CONTRACT")
    assert hold.queue == "pricing"
    with django_capture_on_commit_callbacks(execute=True):
        hold_correct_price(hold_id=hold.pk, actor=pricing_user, reason="Contract applies")
    hold.refresh_from_db()
    order.refresh_from_db()
    assert (hold.state, hold.resolution_code) == (HoldState.RELEASED, "CLEARED")
    assert (
        order.lines.get().unit_price == Decimal("100.0000") and order.state == OrderState.RELEASED
    )


def test_customer_service_fixes_master_data_then_re_evaluates(enter, cs_user_2):
    customer = CustomerFactory(credit_limit=Decimal("5000"), tax_region="")
    order = enter(customer=customer)
    hold = order.holds.get()
    assert (hold.queue, hold.context["missing"]) == ("customer_service", ["tax_region"])
    customer_update_master_data(
        actor=cs_user_2,
        customer_id=customer.pk,
        payment_terms="NET30",
        tax_region="us-ma",
        reason="From the customer's W-9",
    )
    order_evaluate(order_id=order.pk)
    order.refresh_from_db()
    assert Customer.objects.get(pk=customer.pk).tax_region == "US-MA"
    assert order.state == OrderState.RELEASED
    assert order.holds.get().resolution_code == "CLEARED"


def test_warehouse_approves_a_partial_shipment(enter, warehouse_user):
    order = enter(quantity="1500")  # 1,000 available
    hold = order.holds.get(reason__code="STOCK_SHORT")
    hold = hold_approve_partial(
        hold_id=hold.pk, actor=warehouse_user, reason="Ship 1000, backorder 500"
    )
    assert hold.resolution_code == "PARTIAL_BACKORDER" and Decimal(hold.context["backorder"]) == 500


def test_order_release_is_blocked_while_a_hold_is_open(enter, manager_user):
    order = enter(quantity="60")
    with pytest.raises(Conflict, match="Exposure above credit limit"):
        order_transition(
            actor=manager_user, order_id=order.pk, transition="release", reason="push it"
        )


def test_threshold_change_applies_to_later_evaluations(enter):
    assert enter(quantity="50").state == OrderState.RELEASED  # 5,000 within 5,250
    policy = HoldPolicy.objects.get(segment="")
    policy.credit_tolerance = Decimal("0")
    policy.save()
    held = enter(quantity="50.01")
    assert held.state == OrderState.ON_HOLD


def test_segment_override_applies(enter):
    strategic = CustomerFactory(credit_limit=Decimal("5000"), segment="strategic")  # tolerance 15 %
    assert enter(customer=strategic, quantity="57").state == OrderState.RELEASED  # 5,700 ≤ 5,750
    assert enter(quantity="57").state == OrderState.ON_HOLD  # standard: 5,250 allowed


def test_escalation_is_idempotent_and_notifies_managers(
    enter, manager_user, credit_user, django_capture_on_commit_callbacks, send_deliveries
):
    from datetime import timedelta

    manager_user.email = "boss@example.com"
    manager_user.save()
    hold = enter(quantity="60").holds.get()
    later = hold.due_at + timedelta(minutes=1)

    # when the beat task runs past the SLA, twice at the same moment
    with django_capture_on_commit_callbacks(execute=True):
        assert holds_escalate_overdue(now=later) == 1
    assert holds_escalate_overdue(now=later) == 0
    send_deliveries()

    # then the hold rose one level, its priority with it, and the managers heard of it once
    hold.refresh_from_db()
    assert hold.escalation_level == 1 and hold.priority_score == hold.value_at_risk * 2
    assert Notification.objects.filter(user=manager_user, hold=hold).count() == 1
    assert [m.to for m in mail.outbox] == [["boss@example.com"]] and "escalated" in mail.outbox[
        0
    ].subject
    assert (
        Hold.history.filter(id=hold.pk)
        .latest("history_date")
        .history_change_reason.startswith("Escalated to level 1")
    )

    # a day later it rises again; a manual escalation adds a level on top
    assert holds_escalate_overdue(now=later + timedelta(hours=hold.reason.sla_hours)) == 1
    hold_escalate(hold_id=hold.pk, actor=credit_user, reason="Customer called twice")
    hold.refresh_from_db()
    assert hold.escalation_level == 3


def test_non_numeric_threshold_is_a_field_error_in_admin(client, superuser, hold_policy):
    from django.urls import reverse

    client.force_login(superuser)
    url = reverse("admin:exceptions_holdpolicy_change", args=[hold_policy.pk])
    data = {name: getattr(hold_policy, name) for name in HoldPolicy.THRESHOLD_FIELDS} | {
        "segment": "",
        "credit_tolerance": "ten percent",
    }
    response = client.post(url, data)
    assert response.status_code == 200 and b"Enter a number" in response.content
    hold_policy.refresh_from_db()
    assert hold_policy.credit_tolerance == Decimal("0.05")
    # and a change with a number is saved with history
    client.post(url, data | {"credit_tolerance": "0.07"})
    hold_policy.refresh_from_db()
    assert hold_policy.credit_tolerance == Decimal("0.07")
    assert hold_policy.history.latest("history_date").history_user == superuser


def test_warehouse_cancels_the_short_line_and_the_hold_clears(
    enter, warehouse_user, stocked_item, django_capture_on_commit_callbacks
):
    from orders.services import LineInput, order_create
    from tests.fixtures.factories import ItemFactory, ShipToFactory

    # given an order whose second line is short of stock
    ItemFactory(sku="SKU-NONE", list_price=Decimal("10"), unit_cost=Decimal("5"))
    customer = CustomerFactory(credit_limit=Decimal("50000"))
    with django_capture_on_commit_callbacks(execute=True):
        order = order_create(
            actor=make_user("agent", "customer_service"),
            customer_id=customer.pk,
            channel="edi",
            ship_to_id=ShipToFactory(customer=customer).pk,
            lines=[
                LineInput(sku="SKU-S", quantity=Decimal("1")),
                LineInput(sku="SKU-NONE", quantity=Decimal("3")),
            ],
        )
    hold = Hold.objects.get(order=order, reason__code="STOCK_SHORT")

    # when the warehouse cancels that line
    with django_capture_on_commit_callbacks(execute=True):
        hold_cancel_line(hold_id=hold.pk, actor=warehouse_user, reason="Discontinued item")

    # then the line is kept but cancelled, the total drops, the hold clears and the order releases
    order.refresh_from_db()
    line = order.lines.get(line_number=2)
    assert line.cancelled and order.total == Decimal("100.00")
    assert Hold.objects.get(pk=hold.pk).resolution_code == "CLEARED"
    assert order.state == OrderState.RELEASED


def test_warehouse_substitutes_an_item(enter, warehouse_user, django_capture_on_commit_callbacks):
    from orders.models import InventoryPosition
    from tests.fixtures.factories import ItemFactory, WarehouseFactory

    order = enter(quantity="1500")
    hold = order.holds.get(reason__code="STOCK_SHORT")
    alt = ItemFactory(sku="SKU-ALT", list_price=Decimal("100"), unit_cost=Decimal("60"))
    InventoryPosition.objects.create(
        item=alt,
        warehouse=WarehouseFactory(),
        erp_on_hand=Decimal("5000"),
        wms_on_hand=Decimal("5000"),
        as_of="2026-01-01T00:00:00Z",
    )
    with pytest.raises(ApplicationError, match="Unknown SKU"):
        hold_substitute(hold_id=hold.pk, actor=warehouse_user, sku="NOPE", reason="x")
    with django_capture_on_commit_callbacks(execute=True):
        hold_substitute(hold_id=hold.pk, actor=warehouse_user, sku="sku-alt", reason="Same spec")
    order.refresh_from_db()
    assert order.lines.get().item == alt
    assert Hold.objects.get(pk=hold.pk).resolution_code == "CLEARED"


def test_the_last_open_line_cannot_be_cancelled(enter, warehouse_user):
    hold = enter(quantity="1500").holds.get(reason__code="STOCK_SHORT")
    with pytest.raises(Conflict, match="last open line"):
        hold_cancel_line(hold_id=hold.pk, actor=warehouse_user, reason="x")


@pytest.mark.parametrize(
    "segment, tolerance, maker_checker, weight",
    [
        ("standard", "0.0500", "10000.00", "1.00"),  # no override row: the global default
        ("strategic", "0.1500", "50000.00", "3.00"),
        ("key", "0.0500", "10000.00", "2.00"),  # overrides only the weight
        ("small", "0.0000", "2500.00", "0.50"),
    ],
)
def test_each_segment_override_merges_over_the_default(
    hold_policy, segment, tolerance, maker_checker, weight
):
    from exceptions.selectors import policy_for

    policy = policy_for(segment)
    assert policy.thresholds.credit_tolerance == Decimal(tolerance)
    assert policy.maker_checker_amount == Decimal(maker_checker)
    assert policy.segment_weight == Decimal(weight)
    assert policy.thresholds.past_due_days == 60  # inherited everywhere
