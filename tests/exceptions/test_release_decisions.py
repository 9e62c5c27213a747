"""A release decision stays valid only until the order changes materially: a credit override
re-holds after a ×10 edit, naming the earlier decision and both exposures, and stands after a
−10 % one or a rise within the policy's tolerance, saying so in the hold's history."""

from decimal import Decimal

import pytest

from exceptions.decisions import Materiality, material_changes, order_state_of
from exceptions.models import Hold, HoldPolicy, HoldState
from exceptions.services import hold_release
from orders.models import OrderState
from orders.services import order_update_line
from tests.fixtures.factories import CustomerFactory

RULES = Materiality()  # the migration's defaults: > 10 % and > 1,000.00, lines, prices, parties


def _state(total, lines=((1, "60", "100")), ship_to=7, customer=3):
    return order_state_of(
        total=Decimal(total),
        ship_to_id=ship_to,
        customer_id=customer,
        lines=[(i, Decimal(q), Decimal(p)) for i, q, p in [lines]],
    )


@pytest.mark.parametrize(
    ("after", "material"),
    [
        (_state("60000"), ["total up from 6,000.00 to 60,000.00"]),  # ×10
        (_state("5400"), []),  # −10 %: less exposure is never material
        (_state("6500"), []),  # +8.3 %: within both tolerances
        (_state("7100"), ["total up from 6,000.00 to 7,100.00"]),  # +18 % and +1,100
        (_state("6000", ship_to=8), ["ship-to changed"]),
        (_state("6000", customer=4), ["customer changed"]),
        (_state("6000", lines=(1, "60", "90")), ["a price lowered from 100.00 to 90.00"]),
    ],
)
def test_what_makes_a_change_material(after, material):
    # given the order as it was released  # when it becomes ``after``  # then material is named
    assert material_changes(_state("6000"), after, RULES) == material


def test_a_rise_must_pass_both_tolerances_and_a_zero_switches_one_off():
    before = _state("100000")
    # given a rise of 5,000 on 100,000: past the amount, within the fraction
    assert material_changes(before, _state("105000"), RULES) == []
    # when the policy leaves the fraction alone to decide (amount 0) or the amount (fraction 0)
    by_fraction = Materiality(increase_amount=Decimal("0"))
    by_amount = Materiality(increase_fraction=Decimal("0"))
    # then the one that is left decides
    assert material_changes(before, _state("105000"), by_fraction) == []
    assert material_changes(before, _state("105000"), by_amount) != []


def test_a_new_line_is_material_unless_the_policy_says_otherwise():
    before = _state("6000")
    after = order_state_of(
        total=Decimal("6000"),
        ship_to_id=7,
        customer_id=3,
        lines=[(1, Decimal("60"), Decimal("100")), (2, Decimal("1"), None)],
    )
    assert material_changes(before, after, RULES) == ["1 line(s) added"]
    assert material_changes(before, after, Materiality(new_line=False)) == []


@pytest.fixture
def released_credit_override(enter, credit_user):
    """An order with a credit hold released by a person, kept on hold (and so editable) by a
    master-data hold that needs fixing: exposure 6,000 against 5,250 allowed."""
    order = enter(
        customer=CustomerFactory(credit_limit=Decimal("5000"), tax_region=""), quantity="60"
    )
    credit = order.holds.get(reason__code="CREDIT_LIMIT")
    hold_release(hold_id=credit.pk, actor=credit_user, reason="Customer prepaid half")
    order.refresh_from_db()
    assert order.state == OrderState.ON_HOLD
    return order, Hold.objects.get(pk=credit.pk)


def _edit(order, quantity, actor, capture):
    with capture(execute=True):  # the edit's re-evaluation runs after its commit
        order_update_line(
            actor=actor,
            order_id=order.pk,
            line_id=order.lines.get().pk,
            quantity=Decimal(quantity),
            unit_price=Decimal("100"),
            reason="Customer called",
        )


@pytest.mark.django_db
def test_a_released_credit_override_re_holds_after_a_ten_times_edit(
    released_credit_override, cs_user_2, django_capture_on_commit_callbacks
):
    # given a credit override, decided for the order as it was
    order, decided = released_credit_override
    assert decided.decision["order"]["total"] == "6000.00" and decided.decision["by"] == "credit"
    # when customer service multiplies the quantity by ten
    _edit(order, "600", cs_user_2, django_capture_on_commit_callbacks)
    # then a new credit hold is open, naming the decision and both sets of numbers
    new = order.holds.get(reason__code="CREDIT_LIMIT", state=HoldState.OPEN)
    assert new.pk != decided.pk
    assert new.context["earlier_decision"]["by"] == "credit"
    assert new.context["exposure"] == "60000.00"
    story = Hold.history.filter(id=new.pk).earliest("history_date").history_change_reason
    assert story.startswith("Raised again by rule: Released by credit at ")
    assert "for exposure 6,000.00; the order now brings exposure to 60,000.00" in story
    assert "total up from 6,000.00 to 60,000.00" in story
    order.refresh_from_db()
    assert order.state == OrderState.ON_HOLD


@pytest.mark.django_db
@pytest.mark.parametrize(("quantity", "why"), [("54", "not material"), ("64", "not material")])
def test_a_released_credit_override_stands_after_a_smaller_or_tolerated_change(
    released_credit_override, cs_user_2, django_capture_on_commit_callbacks, quantity, why
):
    # given a credit override  # when the order drops 10 % (or rises 6.7 %, 400.00)
    order, decided = released_credit_override
    _edit(order, quantity, cs_user_2, django_capture_on_commit_callbacks)
    # then no new credit hold: the decision stands, and its history says so once
    assert order.holds.filter(reason__code="CREDIT_LIMIT").count() == 1
    notes = list(
        Hold.history.filter(
            id=decided.pk, history_change_reason__startswith="Decision kept"
        ).values_list("history_change_reason", flat=True)
    )
    assert notes == [f"Decision kept: the change is {why} under the policy"]
    # and judging the unchanged order again adds no second note
    from exceptions.services import order_evaluate

    order_evaluate(order_id=order.pk)
    assert (
        Hold.history.filter(
            id=decided.pk, history_change_reason__startswith="Decision kept"
        ).count()
        == 1
    )


@pytest.mark.django_db
def test_the_policy_governs_materiality_per_segment(
    released_credit_override, cs_user_2, django_capture_on_commit_callbacks
):
    # given a policy where only a rise past 950 % counts
    order, decided = released_credit_override
    HoldPolicy.objects.filter(segment="").update(material_increase_fraction=Decimal("9.5"))
    # when the order is multiplied by ten (+900 %)
    _edit(order, "600", cs_user_2, django_capture_on_commit_callbacks)
    # then the decision stands
    assert order.holds.filter(reason__code="CREDIT_LIMIT").count() == 1


@pytest.fixture
def open_credit_hold(enter):
    """An order held for credit (exposure 6,000 against 5,250 allowed: 750 over) and for its
    master data, so it stays on hold and editable; maker-checker above 10,000."""
    HoldPolicy.objects.filter(segment="").update(maker_checker_amount=Decimal("10000"))
    order = enter(
        customer=CustomerFactory(credit_limit=Decimal("5000"), tax_region=""), quantity="60"
    )
    hold = order.holds.get(reason__code="CREDIT_LIMIT")
    assert hold.approval_amount == Decimal("750.00")
    return order, hold


@pytest.mark.django_db
def test_an_open_hold_takes_the_edited_orders_figures_so_maker_checker_reads_them(
    open_credit_hold, cs_user_2, credit_user, django_capture_on_commit_callbacks
):
    # given a credit hold raised for 750.00 over
    order, hold = open_credit_hold
    # when customer service multiplies the quantity by ten while it waits
    _edit(order, "600", cs_user_2, django_capture_on_commit_callbacks)
    # then the same hold is for the order as it is now, its history saying so
    hold.refresh_from_db()
    assert hold.state == HoldState.OPEN
    assert hold.approval_amount == Decimal("54750.00")
    assert hold.context["exposure"] == "60000.00"
    latest = hold.history.latest("history_date").history_change_reason
    assert latest == "Figures updated on re-evaluation: amount 750.00 → 54,750.00"
    # and one person's release waits for a second approver, as 54,750.00 needs
    hold_release(hold_id=hold.pk, actor=credit_user, reason="Customer prepaid")
    hold.refresh_from_db()
    assert hold.state == HoldState.AWAITING_SECOND_APPROVAL


@pytest.mark.django_db
def test_a_release_awaiting_its_second_approver_goes_back_when_the_order_grows(
    open_credit_hold, cs_user_2, credit_user, django_capture_on_commit_callbacks
):
    from exceptions.models import Notification

    order, hold = open_credit_hold
    _edit(order, "200", cs_user_2, django_capture_on_commit_callbacks)  # 14,750.00 over
    hold_release(hold_id=hold.pk, actor=credit_user, reason="Customer prepaid")
    hold.refresh_from_db()
    assert hold.state == HoldState.AWAITING_SECOND_APPROVAL
    # when the order grows before a second person approves
    _edit(order, "600", cs_user_2, django_capture_on_commit_callbacks)
    # then the release goes back to the one who made it, who hears why
    hold.refresh_from_db()
    assert hold.state == HoldState.CLAIMED and hold.assignee == credit_user
    assert hold.first_approver is None and hold.approval_amount == Decimal("54750.00")
    latest = hold.history.latest("history_date").history_change_reason
    assert "sent back to credit, who released 14,750.00, to decide again" in latest
    notice = Notification.objects.get(user=credit_user, hold=hold)
    assert "is now for 54,750.00, more than the 14,750.00 you released" in notice.message
    # and when it shrinks instead, a waiting release stands, with the smaller figures
    hold_release(hold_id=hold.pk, actor=credit_user, reason="Prepaid in full")
    _edit(order, "550", cs_user_2, django_capture_on_commit_callbacks)
    hold.refresh_from_db()
    assert hold.state == HoldState.AWAITING_SECOND_APPROVAL
    assert hold.approval_amount == Decimal("49750.00")


@pytest.mark.django_db
def test_a_hold_raised_again_keeps_the_decision_it_follows_when_its_figures_move(
    released_credit_override, cs_user_2, django_capture_on_commit_callbacks
):
    # given a hold raised again after a ×10 edit, naming the earlier decision
    order, _ = released_credit_override
    _edit(order, "600", cs_user_2, django_capture_on_commit_callbacks)
    new = order.holds.get(reason__code="CREDIT_LIMIT", state=HoldState.OPEN)
    # when the order moves again while that hold waits
    _edit(order, "700", cs_user_2, django_capture_on_commit_callbacks)
    # then the hold has today's figures and still names the decision it followed
    new.refresh_from_db()
    assert new.context["exposure"] == "70000.00"
    assert new.context["earlier_decision"]["by"] == "credit"


@pytest.mark.django_db
def test_whoever_edited_an_order_once_may_not_release_its_holds_after_a_later_edit(
    open_credit_hold, cs_user_2, django_capture_on_commit_callbacks
):
    from core.errors import PermissionDenied
    from core.roles import Role
    from exceptions.services import holds_release_preview
    from tests.fixtures.users import make_user

    order, hold = open_credit_hold
    both = make_user("twohats", Role.CUSTOMER_SERVICE, Role.CREDIT)
    # given someone who works customer service and credit raises the order
    _edit(order, "61", both, django_capture_on_commit_callbacks)
    # and a colleague edits it after them, so they are no longer its last editor
    _edit(order, "62", cs_user_2, django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.last_edited_by == cs_user_2
    # then they may still neither release its credit hold nor see it offered in a bulk release
    with pytest.raises(PermissionDenied, match="You entered or edited order"):
        hold_release(hold_id=hold.pk, actor=both, reason="Fine by me")
    preview = holds_release_preview(hold_ids=[hold.pk], actor=make_user("twohats2", Role.CREDIT))
    assert preview.rows[0].outcome != "refused"
    refused = holds_release_preview(hold_ids=[hold.pk], actor=both)
    assert "You entered or edited order" in refused.rows[0].message
    hold.refresh_from_db()
    assert hold.state == HoldState.OPEN
