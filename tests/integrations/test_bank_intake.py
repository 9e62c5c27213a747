"""The sandbox bank over HTTP pays the invoices o2c posted to the sandbox ERP; o2c pulls its
statement files (BAI2, camt.053, lockbox) through the inbox, stores each payment once, applies
most automatically and correctly against the bank's ground truth, routes the rest with
explanations, dead-letters a malformed file by line and field, and tells the ERP what it
applied."""

from collections import Counter
from decimal import Decimal

import httpx
import pytest

from billing.models import Invoice, InvoiceState
from billing.services import invoice_approve
from integrations.models import Connector, InboundMessage, InboundState, OutboundMessage
from integrations.services import outbox_relay
from orders.models import Order
from receivables.models import Application, Payment, PaymentState
from tests.integrations.test_sandbox_sync import full_sync, sync

pytestmark = pytest.mark.django_db


@pytest.fixture
def bank(db, sandbox):
    return Connector.objects.create(
        name="sandbox-bank", kind="bank", base_url=sandbox.url, page_size=100
    )


@pytest.fixture
def posted_invoices(erp, wms, sandbox, finance_user, django_capture_on_commit_callbacks):
    """The sandbox's orders pulled, shipped by its WMS, invoiced, approved where finance must,
    and posted to its ERP: the invoices its bank will pay."""
    capture = django_capture_on_commit_callbacks
    sandbox.state.ship_after_seconds = 0
    full_sync(erp, wms, capture)
    with capture(execute=True):
        outbox_relay(limit=1000)  # the WMS is told to ship the released orders
    sync(wms, ["shipments"], capture)
    for invoice in Invoice.objects.filter(state=InvoiceState.PENDING_APPROVAL):
        with capture(execute=True):
            invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
    with capture(execute=True):
        outbox_relay(limit=1000)
    invoices = list(Invoice.objects.filter(state=InvoiceState.POSTED))
    assert len(invoices) >= 10, (
        Counter(Invoice.objects.values_list("state", flat=True)),
        Counter(Order.objects.values_list("state", flat=True)),
        OutboundMessage.objects.values_list("topic", "state", "last_error")[:5],
    )
    assert len(sandbox.state.invoices) == len(invoices)
    return invoices


def _truth(sandbox) -> dict:
    return httpx.get(f"{sandbox.url}/bank/_truth").json()


def test_bank_payments_are_applied_against_the_truth_once(
    posted_invoices, bank, sandbox, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # when o2c pulls the bank's statements
    sync(bank, ["statements"], capture)
    truth = {p["entry_reference"]: p for p in _truth(sandbox)["payments"]}
    assert truth, "the bank paid nothing"
    # then each payment is stored once (a duplicate line in a file is the same entry)
    payments = list(Payment.objects.all())
    assert len(payments) == len(truth)
    assert (
        not InboundMessage.objects.filter(stream="statements")
        .exclude(state=InboundState.PROCESSED)
        .exists()
    )
    # and most are applied with no one involved, every one of those correctly
    numbers = dict(Invoice.objects.values_list("pk", "number"))
    auto = [p for p in payments if p.automatic]
    assert len(auto) / len(payments) >= 0.6, [p.explanation for p in payments if not p.automatic]
    for payment in auto:
        expected = {
            a["invoice"]: Decimal(a["applied"]) for a in truth[payment.entry_reference]["applies"]
        }
        got = {numbers[a.invoice_id]: a.amount for a in payment.applications.all()}
        assert got == expected, (payment.entry_reference, payment.candidates[0]["explanation"])
    # and the rest wait in the queue, each with its reason, unknown payers unmatched
    for payment in payments:
        if not payment.automatic:
            assert payment.state in (
                PaymentState.SUGGESTED,
                PaymentState.AMBIGUOUS,
                PaymentState.UNMATCHED,
            )
            assert payment.explanation
        if truth[payment.entry_reference]["kind"] == "unknown_payer":
            assert payment.state == PaymentState.UNMATCHED
    # and no invoice is settled beyond its total
    for invoice in Invoice.objects.all():
        assert 0 <= invoice.settled_amount <= invoice.total - invoice.credited_amount
    # when the same statements are pulled again, nothing is applied twice
    before = (Payment.objects.count(), Application.objects.count())
    sync(bank, ["statements"], capture)
    assert (Payment.objects.count(), Application.objects.count()) == before
    # and the ERP hears of each application once, and the payments are posted
    with capture(execute=True):
        outbox_relay(limit=1000)
        outbox_relay(limit=1000)
    sent = OutboundMessage.objects.filter(topic="cash_application").count()
    assert sent == len(sandbox.state.cash_applications) == len(auto)
    assert all(p.state == PaymentState.POSTED for p in Payment.objects.filter(automatic=True))


def test_a_malformed_statement_is_a_dead_letter_naming_line_and_field_and_applies_nothing(
    posted_invoices, bank, sandbox, django_capture_on_commit_callbacks
):
    # given the bank sends its first file with a bad amount, then a corrected copy
    sandbox.state.bank_malformed = 1
    sync(bank, ["statements"], django_capture_on_commit_callbacks)
    bad = _truth(sandbox)["malformed"]
    assert bad
    dead = InboundMessage.objects.get(stream="statements", state=InboundState.DEAD)
    assert "line " in dead.last_error and "field amount" in dead.last_error
    # then nothing of the bad file was stored; its corrected copy was, once
    truth = _truth(sandbox)["payments"]
    assert Payment.objects.count() == len({p["entry_reference"] for p in truth})
    assert not Payment.objects.filter(statement__message_id=dead.pk).exists()
