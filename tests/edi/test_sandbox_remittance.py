"""The sandbox's EDI buyer pays by 820, end to end over HTTP and the drop folder: the buyer drops
an 820 for each payment, o2c keeps each waiting for its money; the sandbox bank then reports the
payments with nothing but their amount and trace reference; o2c ties every 820 to its payment
before matching it, and the money lands on the invoices the bank's ground truth says, what the
buyer kept back marked with the X12 reason code its 820 gave. (The other order, the money first,
is tested on the services: tests/edi/test_remittance.py.)"""

from collections import Counter
from decimal import Decimal

import httpx
import pytest

from billing.models import Invoice
from demo.edi import seed_edi_partner
from demo.sandbox.edi import ADX_CODES
from integrations.edi.transport import poll_folder
from integrations.services import inbox_process
from receivables.models import Payment, PaymentState, RemittanceAdvice
from tests.integrations.test_bank_intake import _truth, bank, posted_invoices  # noqa: F401
from tests.integrations.test_sandbox_sync import sync

pytestmark = pytest.mark.django_db


def test_the_buyers_820s_meet_their_payments_and_apply_as_the_truth_says(
    posted_invoices,  # noqa: F811
    bank,  # noqa: F811
    sandbox,
    settings,
    tmp_path,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    settings.O2C_EDI_DIR = tmp_path
    # the buyer trades as the customer with the most invoices to pay
    number = Counter(i.customer.number for i in posted_invoices).most_common(1)[0][0]
    sandbox.state.edi.customer = next(
        c for c in sandbox.state.catalog.customers if c["number"] == number
    )
    partner = seed_edi_partner(sandbox_url=sandbox.url, customer_number=number)
    sandbox.state.edi.drop = tmp_path / partner.inbound_folder
    # each invoice paid on its own, every payer naming what it pays, many paying short
    sandbox.state.bank_noise = {"bundle": 0.0, "reference_missing": 0.0, "short": 0.3}
    # the bank pays, and the buyer drops an 820 for each of its payments: o2c reads the 820s
    # before the bank's statement reaches it, as when the remittance travels faster than money
    truth = {p["entry_reference"]: p for p in _truth(sandbox)["payments"]}
    by_820 = {ref: p for ref, p in truth.items() if p["remittance_via"] == "edi820"}
    assert len(by_820) >= 2, "the buyer paid next to nothing"
    remitted = httpx.get(f"{sandbox.url}/edi/_truth").json()["remittances"]
    assert {r["reference"] for r in remitted.values()} == set(by_820)
    with capture(execute=False):
        assert poll_folder(partner)["files"] == len(by_820)
    counts = inbox_process(connector_id=partner.connector_id, stream="remittances")
    assert counts == {"processed": len(by_820)}, counts
    waiting = RemittanceAdvice.objects.filter(source="edi820", payment__isnull=True)
    assert waiting.count() == len(by_820)
    # then the statements: each of the buyer's payments carries its money alone, and meets its
    # 820 before it is matched
    sync(bank, ["statements"], capture)
    assert not waiting.exists()
    lines_of = {r["reference"]: r["lines"] for r in remitted.values()}
    numbers = dict(Invoice.objects.values_list("pk", "number"))
    applied = 0
    for reference, paid in by_820.items():
        payment = Payment.objects.get(entry_reference=reference)
        advice = payment.remittances.get()  # the 820, the payment's only remittance
        assert advice.source == "edi820" and advice.customer_id == partner.customer_id
        assert advice.amount == Decimal(paid["amount"])
        assert sorted(line.reference for line in advice.lines.all()) == sorted(
            line["reference"] for line in lines_of[reference]
        )
        if payment.state != PaymentState.APPLIED:
            assert payment.explanation  # waits in the queue, saying why
            continue
        applied += 1
        expected = {a["invoice"]: Decimal(a["applied"]) for a in paid["applies"]}
        got = {numbers[a.invoice_id]: a.amount for a in payment.applications.all()}
        assert got == expected, (reference, payment.explanation)
        kept = {
            a["invoice"]: ADX_CODES[a["reason_code"]] for a in paid["applies"] if a["reason_code"]
        }
        marked = {
            numbers[a.invoice_id]: a.short_reason
            for a in payment.applications.all()
            if a.short_amount
        }
        assert marked == kept, reference
    assert applied / len(by_820) >= 0.6, [p.explanation for p in Payment.objects.all()]
