"""Returns (RMA) on the services and through the sandbox WMS: authorised up to what was invoiced
less what is already coming back (more is refused with the numbers, writing nothing); the
warehouse told through the outbox; its receipt, short or damaged, credited less the restocking
fee, refused when nothing can be credited, or left for a second person above the limit; and the
returned line on its order's timeline."""

from decimal import Decimal

import pytest

from billing.models import BillingPolicy, CreditMemo, CreditReason, InvoiceState
from billing.services import invoice_approve
from cases.models import CasePolicy, ReturnAuthorisation, ReturnLine, ReturnState
from cases.returns import (
    return_approve,
    return_authorise,
    return_receive,
    return_refuse,
    returnable_lines,
)
from core.errors import ApplicationError, Conflict, PermissionDenied
from core.money import round_money
from core.roles import Role, get_system_user
from dunning.models import CollectionTask
from integrations.models import InboundMessage, InboundState, OutboundMessage
from integrations.services import outbox_relay
from orders.selectors import order_timeline
from tests.fixtures.users import make_user
from tests.integrations.test_sandbox_sync import sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(released_order, ship, finance_user):
    """A released invoice: 10 of item A (12.50) on line 1 and 4 of item B (7.99) on line 2."""
    order = released_order(lines=[("A", "10"), ("B", "4")])
    ship(order, {1: "10", 2: "4"})
    invoice = order.invoices.get()
    if invoice.state == InvoiceState.PENDING_APPROVAL:
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
        invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED
    return invoice


@pytest.fixture
def policy(db):
    """The case policy as seeded: a 15 % restocking fee (credits above the billing policy's
    1,000 need a second person)."""
    policy = CasePolicy.objects.order_by("pk").first() or CasePolicy.objects.create()
    assert policy.restocking_fee_percent == Decimal("15.00")
    return policy


def _units(invoice, line_number: int, quantity: int) -> Decimal:
    """What crediting ``quantity`` units of a line comes to, tax included, as billing prices it."""
    line = invoice.lines.get(line_number=line_number)
    amount = round_money(quantity * line.unit_price)
    return amount + round_money(amount * line.tax_rate)


def _line(invoice, number: int):
    return invoice.lines.get(line_number=number)


def test_more_than_invoiced_less_already_returning_is_refused_with_the_numbers(
    invoice, cs_user, policy
):
    a = _line(invoice, 1)
    first = return_authorise(
        actor=cs_user,
        invoice_id=invoice.pk,
        reason="not_needed",
        quantities={a.pk: Decimal("6")},
        note="Customer over-ordered",
    )
    assert first.number.startswith("RMA-") and first.state == ReturnState.AUTHORISED
    with pytest.raises(ApplicationError) as refused:
        return_authorise(
            actor=cs_user,
            invoice_id=invoice.pk,
            reason="not_needed",
            quantities={a.pk: Decimal("5")},
            note="And some more",
        )
    assert "invoiced 10, already returning 6, so at most 4" in refused.value.message
    assert ReturnAuthorisation.objects.count() == 1 and ReturnLine.objects.count() == 1
    left = {row.line.line_number: row.left for row in returnable_lines(invoice.pk)}
    assert left == {1: Decimal("4"), 2: Decimal("4")}


def test_a_return_needs_a_quantity_a_reason_and_customer_service(
    invoice, cs_user, finance_user, policy
):
    a = _line(invoice, 1)
    with pytest.raises(ApplicationError, match="at least one line"):
        return_authorise(
            actor=cs_user, invoice_id=invoice.pk, reason="damaged", quantities={}, note="x"
        )
    with pytest.raises(ApplicationError, match="why the goods come back"):
        return_authorise(
            actor=cs_user,
            invoice_id=invoice.pk,
            reason="bored",
            quantities={a.pk: Decimal("1")},
            note="x",
        )
    warehouse = make_user("returns-wh", Role.WAREHOUSE)
    for who in (warehouse, finance_user):
        with pytest.raises(PermissionDenied):
            return_authorise(
                actor=who,
                invoice_id=invoice.pk,
                reason="damaged",
                quantities={a.pk: Decimal("1")},
                note="x",
            )
    assert not ReturnAuthorisation.objects.exists()


def test_a_chosen_return_is_credited_less_the_fee_and_its_damaged_units(invoice, cs_user, policy):
    a, b = _line(invoice, 1), _line(invoice, 2)
    rma = return_authorise(
        actor=cs_user,
        invoice_id=invoice.pk,
        reason="ordered_in_error",
        quantities={a.pk: Decimal("3"), b.pk: Decimal("2")},
        note="Wrong part number on their PO",
    )
    # line 1 (A): 3 arrived, one damaged; line 2 (B): 1 of 2 arrived
    rma = return_receive(
        actor=get_system_user(),
        number=rma.number,
        receipt_id="RCV-1",
        lines={1: (Decimal("3"), Decimal("1")), 2: (Decimal("1"), Decimal("0"))},
    )
    gross = _units(invoice, 1, 2) + _units(invoice, 2, 1)
    fee = round_money(gross * Decimal("0.15"))
    assert rma.state == ReturnState.CREDITED
    assert (rma.credit_gross, rma.fee) == (gross, fee)
    memo = rma.credit_memo
    assert memo.total == gross - fee and memo.fee == fee
    assert memo.reason_code == CreditReason.RETURN
    assert sorted(memo.lines.values_list("invoice_line__line_number", "quantity")) == [
        (1, Decimal("2")),
        (2, Decimal("1")),
    ]
    invoice.refresh_from_db()
    assert invoice.credited_amount == memo.total
    # the same receipt again changes nothing; another receipt is a conflict
    again = return_receive(actor=get_system_user(), number=rma.number, receipt_id="RCV-1", lines={})
    assert again.credit_memo_id == memo.pk and CreditMemo.objects.count() == 1
    with pytest.raises(Conflict, match="already credited"):
        return_receive(actor=get_system_user(), number=rma.number, receipt_id="RCV-2", lines={})


def test_goods_that_arrived_damaged_are_credited_in_full_without_a_fee(invoice, cs_user, policy):
    a = _line(invoice, 1)
    rma = return_authorise(
        actor=cs_user,
        invoice_id=invoice.pk,
        reason="damaged",
        quantities={a.pk: Decimal("2")},
        note="Crushed in transit",
    )
    rma = return_receive(
        actor=get_system_user(),
        number=rma.number,
        receipt_id="RCV-D",
        lines={1: (Decimal("2"), Decimal("2"))},
    )
    assert rma.state == ReturnState.CREDITED and rma.fee == 0
    assert rma.credit_memo.total == _units(invoice, 1, 2)


def test_nothing_creditable_refuses_the_return_saying_why(invoice, cs_user, policy):
    a = _line(invoice, 1)
    rma = return_authorise(
        actor=cs_user,
        invoice_id=invoice.pk,
        reason="not_needed",
        quantities={a.pk: Decimal("1")},
        note="Spare",
    )
    rma = return_receive(
        actor=get_system_user(),
        number=rma.number,
        receipt_id="RCV-X",
        lines={1: (Decimal("1"), Decimal("1"))},
    )
    assert rma.state == ReturnState.REFUSED and rma.credit_memo is None
    assert "1 damaged, not credited" in rma.refusal
    assert not CreditMemo.objects.exists()
    task = CollectionTask.objects.get(customer=invoice.customer, kind=CollectionTask.Kind.NOTICE)
    assert f"Return {rma.number} not credited" in task.text and rma.refusal in task.text
    # a refused return no longer counts against what may come back
    assert returnable_lines(invoice.pk)[0].left == Decimal("10")


def test_a_credit_above_the_limit_waits_for_a_second_person(invoice, cs_user, finance_user, policy):
    BillingPolicy.objects.update(credit_memo_approval_amount=Decimal("20.00"))
    a = _line(invoice, 1)
    rma = return_authorise(
        actor=cs_user,
        invoice_id=invoice.pk,
        reason="defective",
        quantities={a.pk: Decimal("5")},
        note="Motors fail on start",
    )
    rma = return_receive(
        actor=get_system_user(),
        number=rma.number,
        receipt_id="RCV-B",
        lines={1: (Decimal("5"), Decimal("0"))},
    )
    assert rma.state == ReturnState.RECEIVED and not CreditMemo.objects.exists()
    manager_cs = make_user("returns-mgr", Role.MANAGER, is_superuser=True)
    mine = return_authorise(
        actor=manager_cs,
        invoice_id=invoice.pk,
        reason="defective",
        quantities={a.pk: Decimal("5")},
        note="Same fault",
    )
    return_receive(
        actor=get_system_user(),
        number=mine.number,
        receipt_id="RCV-C",
        lines={1: (Decimal("5"), Decimal("0"))},
    )
    with pytest.raises(PermissionDenied, match="someone else"):  # superusers too
        return_approve(actor=manager_cs, rma_id=mine.pk, reason="fine")
    with pytest.raises(PermissionDenied):
        return_approve(actor=cs_user, rma_id=rma.pk, reason="fine")
    rma = return_approve(actor=finance_user, rma_id=rma.pk, reason="Checked the fault report")
    assert rma.state == ReturnState.CREDITED and rma.decided_by == finance_user
    assert rma.credit_memo.total == _units(invoice, 1, 5)
    with pytest.raises(Conflict, match="credited"):
        return_refuse(actor=finance_user, rma_id=rma.pk, reason="late")
    refused = return_refuse(actor=finance_user, rma_id=mine.pk, reason="Fault not reproduced")
    assert refused.state == ReturnState.REFUSED and refused.refusal == "Fault not reproduced"


def test_a_return_through_the_sandbox_wms_ends_in_a_credit_memo_on_the_timeline(
    invoice, cs_user, policy, wms, sandbox, django_capture_on_commit_callbacks
):
    """Customer service authorises; the outbox tells the sandbox WMS; the WMS's receipt (this
    one arrives a unit short) comes back through the connector and is credited."""
    sandbox.state.return_short_every = 1  # every return arrives one unit short on line 1
    sandbox.state.return_damaged_every = 0
    a = _line(invoice, 1)
    with django_capture_on_commit_callbacks(execute=False):
        rma = return_authorise(
            actor=cs_user,
            invoice_id=invoice.pk,
            reason="wrong_item",
            quantities={a.pk: Decimal("4")},
            note="Sent the 12 mm part, ordered the 10 mm",
        )
    message = OutboundMessage.objects.get(topic="return_expected")
    assert message.payload["rma"] == rma.number
    assert message.payload["lines"] == [{"line": 1, "sku": "BILL-A", "quantity": "4.000"}]
    outbox_relay()
    assert f"return:{rma.number}" in sandbox.state.returns
    sync(wms, ["receipts"], django_capture_on_commit_callbacks)
    inbound = InboundMessage.objects.get(stream="receipts")
    assert inbound.state == InboundState.PROCESSED, inbound.last_error
    rma.refresh_from_db()
    assert rma.state == ReturnState.CREDITED and rma.receipt_id == f"RCV-{rma.number}"
    line = rma.lines.get()
    assert (line.received_qty, line.damaged_qty, line.credit_qty) == (
        Decimal("3"),
        Decimal("0"),
        Decimal("3"),
    )
    assert rma.credit_memo.total == _units(invoice, 1, 3)
    # a second pull of the same receipt changes nothing
    sync(wms, ["receipts"], django_capture_on_commit_callbacks)
    assert CreditMemo.objects.count() == 1
    subjects = {entry.subject for entry in order_timeline(order=invoice.order)}
    assert f"Return {rma.number}" in subjects and f"Return {rma.number} line 1" in subjects


def test_a_receipt_for_an_unknown_return_waits_and_a_contradicting_one_is_a_dead_letter(
    invoice, cs_user, policy, wms, sandbox, django_capture_on_commit_callbacks
):
    sandbox.state.returns["return:RMA-9999999"] = {
        "key": "return:RMA-9999999",
        "rma": "RMA-9999999",
        "lines": [{"line": 1, "sku": "BILL-A", "quantity": "1"}],
    }
    sandbox.state.return_times["return:RMA-9999999"] = 0.0
    sync(wms, ["receipts"], django_capture_on_commit_callbacks)
    parked = InboundMessage.objects.get(stream="receipts")
    assert parked.state != InboundState.DEAD and "RMA-9999999" in parked.last_error
    assert "is unknown" in parked.last_error
    a = _line(invoice, 1)
    rma = return_authorise(
        actor=cs_user,
        invoice_id=invoice.pk,
        reason="damaged",
        quantities={a.pk: Decimal("1")},
        note="Dented",
    )
    sandbox.state.returns[f"return:{rma.number}"] = {
        "key": f"return:{rma.number}",
        "rma": rma.number,
        "lines": [{"line": 7, "sku": "BILL-A", "quantity": "1"}],  # a line it does not have
    }
    sandbox.state.return_times[f"return:{rma.number}"] = 0.0
    sync(wms, ["receipts"], django_capture_on_commit_callbacks)
    dead = InboundMessage.objects.get(stream="receipts", external_id=f"RCV-{rma.number}")
    assert dead.state == InboundState.DEAD
    assert f"{rma.number} has no line 7" in dead.last_error
    rma.refresh_from_db()
    assert rma.state == ReturnState.AUTHORISED
