"""Invoices and credit memos to the ERP through the outbox: sent once, posted from the ERP's answer;
a refusal raises a billing hold whose release resends. And a ship confirmation naming a line the
order does not have is a dead letter, never dropped."""

from decimal import Decimal

import pytest

from billing.models import Invoice, InvoiceState
from billing.services import credit_memo_create, invoice_approve
from exceptions.models import Hold, HoldState
from exceptions.services import hold_release
from integrations.models import InboundMessage, InboundState, OutboundMessage, OutboundState
from integrations.services import inbox_store, outbox_relay
from integrations.services.inbox import inbox_process

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved_invoice(released_order, ship, finance_user, erp):
    order = released_order(lines=[("A", "4")])
    ship(order, {1: "4"})
    invoice = Invoice.objects.get()
    return invoice


def test_released_invoice_is_posted_once_by_the_erp(
    approved_invoice, finance_user, sandbox, django_capture_on_commit_callbacks
):
    invoice_approve(invoice_id=approved_invoice.pk, actor=finance_user, reason="ok")
    message = OutboundMessage.objects.get(topic="invoice_release")
    assert message.key == f"invoice:{approved_invoice.number}"
    assert (
        message.payload["total"] == "53.13" and message.payload["lines"][0]["quantity"] == "4.000"
    )

    sandbox.state.fail_next = [503]
    assert outbox_relay()["failed"] == 1  # the ERP hiccups; the relay retries
    outbox_relay()

    approved_invoice.refresh_from_db()
    assert approved_invoice.state == InvoiceState.POSTED
    assert approved_invoice.erp_reference == f"AR-{approved_invoice.number}"
    assert list(sandbox.state.invoices) == [message.key]
    assert outbox_relay() == {"sent": 0, "failed": 0, "dead": 0}

    memo = credit_memo_create(
        invoice_id=approved_invoice.pk,
        actor=finance_user,
        quantities={approved_invoice.lines.get().pk: Decimal("1")},
        reason="one returned",
    )
    outbox_relay()
    assert sandbox.state.credit_memos[f"credit_memo:{memo.number}"]["total"] == str(memo.total)


def test_an_erp_refusal_raises_a_billing_hold_and_its_release_resends(
    approved_invoice, finance_user, sandbox, django_capture_on_commit_callbacks
):
    sandbox.state.reject_invoices = True
    invoice_approve(invoice_id=approved_invoice.pk, actor=finance_user, reason="ok")

    assert outbox_relay()["dead"] == 1

    hold = Hold.objects.get(reason__code="ERP_POSTING_REJECTED")
    assert hold.queue == "finance" and hold.context["invoice"] == approved_invoice.number
    assert "closed in the ERP" in hold.context["error"]
    approved_invoice.refresh_from_db()
    assert approved_invoice.state == InvoiceState.RELEASED  # released, but not posted

    sandbox.state.reject_invoices = False
    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold_id=hold.pk, actor=finance_user, reason="Customer reopened in the ERP")
    outbox_relay()

    hold.refresh_from_db()
    approved_invoice.refresh_from_db()
    assert hold.state == HoldState.RELEASED and approved_invoice.state == InvoiceState.POSTED
    assert OutboundMessage.objects.get(topic="invoice_release").state == OutboundState.SENT


def test_a_shipment_line_unknown_to_the_order_is_a_dead_letter(released_order, wms):
    order = released_order(lines=[("B", "2")])
    inbox_store(
        connector=wms,
        stream="shipments",
        records=[
            {
                "id": "SHP-BAD-1",
                "version": 1,
                "order": order.number,
                "shipped_at": "2026-11-22T12:00:00Z",
                "warehouse": "DC-EAST",
                "carrier": "UPS",
                "tracking": "1Z",
                "lines": [{"line": 7, "sku": "BILL-B", "quantity": "2"}],
            }
        ],
    )
    inbox_process(connector_id=wms.pk, stream="shipments")

    message = InboundMessage.objects.get(external_id="SHP-BAD-1")
    assert message.state == InboundState.DEAD
    assert message.last_error == f"lines.line: [7] not on order {order.number}"
    order.refresh_from_db()
    assert order.shipments.count() == 0 and order.state == "released"
