"""The order lifecycle: every allowed and refused transition, its history rows, and concurrency."""

from decimal import Decimal

import pytest
from django.db import transaction
from django_fsm import ConcurrentTransition

from core.errors import ApplicationError, Conflict, PermissionDenied
from orders import extensions, lifecycle
from orders.models import Order, OrderState
from orders.services import (
    order_place_on_hold,
    order_record_invoice,
    order_record_shipment,
    order_release,
    order_transition,
)

pytestmark = pytest.mark.django_db
S = OrderState


def _walk(order, *, system_user, to: str):
    """Drive an order through the real services to the state ``to``."""
    if to == S.RECEIVED:
        return order
    if to == S.ON_HOLD:
        return order_place_on_hold(actor=system_user, order_id=order.pk, reason="rule fired")
    order_release(actor=system_user, order_id=order.pk, reason="touchless")
    if to == S.RELEASED:
        return Order.objects.get(pk=order.pk)
    order_transition(actor=system_user, order_id=order.pk, transition="allocate", reason="stock ok")
    if to == S.ALLOCATED:
        return Order.objects.get(pk=order.pk)
    lines = list(order.lines.all())
    if to == S.PARTIALLY_SHIPPED:
        return order_record_shipment(
            actor=system_user,
            order_id=order.pk,
            quantities={lines[0].pk: Decimal("3")},
            reason="short",
        )
    order_record_shipment(
        actor=system_user,
        order_id=order.pk,
        quantities={line.pk: line.ordered_qty for line in lines},
        reason="shipped",
    )
    if to == S.SHIPPED:
        return Order.objects.get(pk=order.pk)
    if to == S.PARTIALLY_INVOICED:
        return order_record_invoice(
            actor=system_user,
            order_id=order.pk,
            quantities={lines[0].pk: Decimal("1")},
            reason="partial",
        )
    order_record_invoice(
        actor=system_user,
        order_id=order.pk,
        quantities={line.pk: line.ordered_qty for line in lines},
        reason="invoiced",
    )
    if to == S.INVOICED:
        return Order.objects.get(pk=order.pk)
    if to == S.CLOSED:
        return order_transition(
            actor=system_user, order_id=order.pk, transition="close", reason="paid"
        )
    if to == S.CANCELLED:
        raise AssertionError("use cancel from an open state")
    raise AssertionError(to)


ALLOWED_MANUAL = {
    # state: the manual transitions that must succeed from it (as a manager)
    S.RECEIVED: {"place_on_hold", "release", "cancel"},
    S.ON_HOLD: {"release", "cancel"},
    S.RELEASED: {"place_on_hold", "allocate", "cancel"},
    S.ALLOCATED: {"place_on_hold", "cancel"},
    S.PARTIALLY_SHIPPED: set(),
    S.SHIPPED: set(),
    S.PARTIALLY_INVOICED: set(),
    S.INVOICED: {"close"},
    S.CLOSED: set(),
}
MANUAL = ["place_on_hold", "release", "allocate", "close", "cancel"]
TARGET = {
    "place_on_hold": S.ON_HOLD,
    "release": S.RELEASED,
    "allocate": S.ALLOCATED,
    "close": S.CLOSED,
    "cancel": S.CANCELLED,
}


@pytest.mark.parametrize("state", list(ALLOWED_MANUAL))
@pytest.mark.parametrize("name", MANUAL)
def test_every_manual_transition_from_every_state(
    state, name, make_order, manager_user, system_user
):
    # given an order driven to `state` through the services
    order = _walk(make_order(), system_user=system_user, to=state)
    history_before = Order.history.filter(id=order.pk).count()

    # when a manager asks for the transition
    if name in ALLOWED_MANUAL[state]:
        result = order_transition(
            actor=manager_user, order_id=order.pk, transition=name, reason="why not"
        )
        # then it moves, and one history row records who and why
        assert result.state == TARGET[name]
        latest = Order.history.filter(id=order.pk).latest("history_date")
        assert latest.state == TARGET[name]
        assert latest.history_user == manager_user
        assert latest.history_change_reason == "why not"
        assert Order.history.filter(id=order.pk).count() == history_before + 1
    else:
        with pytest.raises(Conflict) as refused:
            order_transition(
                actor=manager_user, order_id=order.pk, transition=name, reason="why not"
            )
        # then the refusal names the state and nothing changed
        assert "not possible" in refused.value.message or "conditions" in refused.value.message
        order.refresh_from_db()
        assert order.state == state
        assert Order.history.filter(id=order.pk).count() == history_before


def test_event_transitions_follow_quantities(make_order, system_user):
    # given an allocated order
    order = _walk(make_order(), system_user=system_user, to=S.ALLOCATED)
    first, second = order.lines.all()

    # when the WMS ships part of line 1, then the rest
    order = order_record_shipment(
        actor=system_user, order_id=order.pk, quantities={first.pk: Decimal("4")}, reason="short"
    )
    assert order.state == S.PARTIALLY_SHIPPED
    order = order_record_shipment(
        actor=system_user,
        order_id=order.pk,
        quantities={first.pk: Decimal("6"), second.pk: Decimal("4")},
        reason="rest",
    )
    assert order.state == S.SHIPPED

    # then invoicing part then all moves to partially invoiced, invoiced
    order = order_record_invoice(
        actor=system_user, order_id=order.pk, quantities={first.pk: Decimal("10")}, reason="inv 1"
    )
    assert order.state == S.PARTIALLY_INVOICED
    order = order_record_invoice(
        actor=system_user, order_id=order.pk, quantities={second.pk: Decimal("4")}, reason="inv 2"
    )
    assert order.state == S.INVOICED
    first.refresh_from_db()
    assert (first.shipped_qty, first.invoiced_qty) == (Decimal("10"), Decimal("10"))


def test_shipping_an_unreleased_order_is_refused(make_order, system_user):
    order = make_order()
    line = order.lines.first()
    with pytest.raises(Conflict, match="cannot ship"):
        order_record_shipment(
            actor=system_user, order_id=order.pk, quantities={line.pk: Decimal("1")}, reason="x"
        )
    line.refresh_from_db()
    assert line.shipped_qty == 0


def test_event_transitions_cannot_be_triggered_by_hand(make_order, manager_user):
    order = make_order()
    with pytest.raises(ApplicationError, match="cannot be triggered by hand"):
        order_transition(actor=manager_user, order_id=order.pk, transition="ship", reason="x")


def test_release_is_refused_while_a_step_guard_blocks(make_order, manager_user, monkeypatch):
    # given a guard (as the holds app declares one) that blocks release
    order = make_order()

    def guard(o, step):
        return (
            ["credit hold CR-1 open"] if step == lifecycle.Step.RELEASE and o.pk == order.pk else []
        )

    declared = extensions.order_extensions()
    monkeypatch.setattr(
        extensions,
        "order_extensions",
        lambda: declared._replace(step_guards=(*declared.step_guards, guard)),
    )
    # when someone releases it, then the refusal names the blocking hold
    with pytest.raises(Conflict, match="credit hold CR-1 open"):
        order_transition(actor=manager_user, order_id=order.pk, transition="release", reason="go")
    order.refresh_from_db()
    assert order.state == S.RECEIVED


def test_the_apps_above_declare_their_extensions_in_installed_order():
    # given the installed apps  # when the registry reads their declarations
    declared = extensions.order_extensions()
    # then holds guard the steps, each app adds its panel and timeline rows (exceptions: holds
    # and the notes thread; cases: returns),
    # billing and receivables what o2c knows of AR beyond the ERP's snapshot, in app order, and
    # collections a credit standing from past-due days
    names = {
        part: [f"{f.__module__}.{f.__name__}" for f in getattr(declared, part)]
        for part in declared._fields
    }
    assert names == {
        "step_guards": ["exceptions.selectors.blocking_reasons"],
        "panels": [
            "exceptions.order_page.holds_panel",
            "exceptions.order_page.notes_panel",
            "billing.order_page.billing_panel",
        ],
        "timelines": [
            "exceptions.order_page.hold_timeline",
            "exceptions.order_page.notes_timeline",
            "billing.order_page.billing_timeline",
            "cases.order_page.returns_timeline",
            "integrations.order_page.message_timeline",
        ],
        "ar_sources": [
            "billing.selectors.own_receivables",
            "receivables.selectors.cash_known_to_erp",
        ],
        "credit_standings": ["dunning.selectors.standings_of"],
    }


@pytest.mark.parametrize(
    "role_fixture, name, allowed",
    [
        ("warehouse_user", "release", False),
        ("finance_user", "cancel", False),
        ("pricing_user", "allocate", False),
        ("credit_user", "release", True),
        ("cs_user", "cancel", True),
    ],
)
def test_transition_permissions_follow_roles(
    request, role_fixture, name, allowed, make_order, system_user
):
    order = make_order()
    if name == "allocate":
        order = _walk(order, system_user=system_user, to=S.RELEASED)
    actor = request.getfixturevalue(role_fixture)
    if allowed:
        assert (
            order_transition(actor=actor, order_id=order.pk, transition=name, reason="ok").state
            == TARGET[name]
        )
    else:
        with pytest.raises(PermissionDenied):
            order_transition(actor=actor, order_id=order.pk, transition=name, reason="ok")
        order.refresh_from_db()
        assert order.state != TARGET[name]


def test_a_reason_is_required(make_order, manager_user):
    order = make_order()
    with pytest.raises(ApplicationError, match="reason is required"):
        order_transition(actor=manager_user, order_id=order.pk, transition="cancel", reason="  ")
    order.refresh_from_db()
    assert order.state == S.RECEIVED


def test_concurrent_save_of_a_stale_copy_is_refused(make_order):
    # given two copies of one order read before either acts
    order = make_order()
    first, stale = Order.objects.get(pk=order.pk), Order.objects.get(pk=order.pk)

    # when the first releases and the stale copy then cancels
    from django.utils import timezone

    with transaction.atomic():
        first.release(at=timezone.now())
        first.save()
    stale.cancel()

    # then the stale save is refused, and the first change stands
    with pytest.raises(ConcurrentTransition), transaction.atomic():
        stale.save()
    order.refresh_from_db()
    assert order.state == S.RELEASED


def test_state_cannot_be_assigned_directly(make_order):
    order = make_order()
    with pytest.raises(AttributeError):
        order.state = S.CLOSED


def test_released_at_is_recorded(make_order, system_user):
    order = order_release(actor=system_user, order_id=make_order().pk, reason="touchless")
    assert order.released_at is not None
    assert Order.history.filter(id=order.pk, state=S.RELEASED).get().history_user == system_user
