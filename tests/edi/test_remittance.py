"""EDI 820 remittance advice on PostgreSQL: stored with its payer, payment reference and, per
invoice, what was paid, discounted and kept back with the X12 reason code; tied to the payment the
bank reports under that reference whichever comes first, so the payment lands on the invoices the
820 names and a deduction opens under the reason the code maps to. An 820 that does not add up is
rejected in the 997 and stores nothing; the same 820 sent twice is one advice."""

import importlib
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.contrib.auth.models import User
from django.utils import timezone

from billing.models import InvoiceState
from cases.models import Case
from core.roles import get_system_user
from integrations.edi import x12
from integrations.edi.models import Document, TradingPartner
from integrations.edi.services import edi_receive
from integrations.models import Connector, InboundMessage, InboundState, OutboundMessage
from integrations.services import inbox_process
from receivables.models import Application, Payment, PaymentState, RemittanceAdvice
from receivables.parsers import parse_lockbox
from receivables.services import statement_store
from tests.edi.samples import interchange

pytestmark = pytest.mark.django_db

_reasons = importlib.import_module("cases.migrations.0002_seed_reasons")
_x12_codes = importlib.import_module("cases.migrations.0009_x12_adjustment_codes")
HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


@pytest.fixture(autouse=True)
def reasons(db):
    """The case reasons and code mappings, X12's among them (re-made after flushes)."""
    _reasons.seed(django_apps, None)
    _x12_codes.seed(django_apps, None)


@pytest.fixture
def partner(invoices, settings, tmp_path):
    settings.O2C_EDI_DIR = tmp_path
    connector = Connector.objects.create(name="edi", kind="edi", base_url="http://127.0.0.1:9")
    return TradingPartner.objects.create(
        name="acme", customer=invoices[0].customer, connector=connector, isa_qualifier="ZZ",
        isa_id="ACMEBUY", gs_id="ACMEBUY", sends_820=True, outbound_folder="acme/out",
    )  # fmt: skip


def ra_820(reference, amount, lines, *, method="CHK"):
    """An 820's segments: ``lines`` is [(invoice, paid, invoice amount, discount,
    [(ADX01, ADX02), ...])]."""
    segments = [
        ["BPR", "C", amount, "C", method, "", "", "", "", "", "", "", "", "", "", "", "20261205"],
        ["TRN", "1", reference],
        ["CUR", "PR", "USD"],
        ["N1", "PR", "ACME RETAIL"],
        ["N1", "PE", "O2C DISTRIBUTION"],
        ["ENT", "1"],
    ]
    for invoice, paid, billed, discount, adjustments in lines:
        segments.append(
            ["RMR", "IV", invoice, "PI", paid, billed] + ([discount] if discount else [])
        )
        segments += [["ADX", a, code] for a, code in adjustments]
    return segments


def _send(segments, capture, *, control="000000101", set_control="0001"):
    text = interchange([("RA", 7, [("820", set_control, segments)])], control=control)
    with capture(execute=False):
        return edi_receive(raw=text, via="test")


def _remittances(partner):
    return inbox_process(connector_id=partner.connector_id, stream="remittances")


def _check(check, amount, payer="ACME RETAIL"):
    """A lockbox check with no remittance of its own: the 820 says what it pays."""
    text = HEADER + (
        f"LBX-1,001,1,{check},{amount},USD,{payer},021000021/44556677,{timezone.now().date()},"
        ",,,,\n"
    )
    counts = {}
    for statement in parse_lockbox(text):
        counts |= statement_store(statement=statement, source="bank", actor=get_system_user())
    return counts


def _ack_rows(partner):
    [message] = OutboundMessage.objects.filter(topic="edi", connector=partner.connector)
    return [s.format("", "*", ">") for s in x12.read(message.payload["x12"]).sets[0].segments]


def test_an_820_before_its_payment_waits_then_puts_the_money_where_it_says(
    partner, invoices, django_capture_on_commit_callbacks
):
    first, _, third = invoices
    amount = first.total + third.total - Decimal("5.00")
    segments = ra_820(
        "1001",
        f"{amount:.2f}",
        [
            (first.number, f"{first.total:.2f}", f"{first.total:.2f}", "", []),
            (third.number, f"{third.total - 5:.2f}", f"{third.total:.2f}", "", [("-5.00", "01")]),
        ],
    )
    received = _send(segments, django_capture_on_commit_callbacks)
    assert received.interchange.state == "accepted"
    assert "AK5*A" in _ack_rows(partner) and "AK9*A*1*1*1" in _ack_rows(partner)
    assert _remittances(partner) == {"processed": 1}
    # stored, mapped to the payer, waiting for the bank
    advice = RemittanceAdvice.objects.get(source="edi820")
    assert advice.payment is None and advice.customer == partner.customer
    assert (advice.reference, advice.amount, advice.method) == ("1001", amount, "CHK")
    assert advice.note.startswith("Waiting for the bank")
    lines = sorted(
        (line.reference, line.paid, line.discount, line.adjustment, line.reason_code)
        for line in advice.lines.all()
    )
    assert lines == sorted(
        [
            (first.number, first.total, 0, 0, ""),
            (third.number, third.total - 5, 0, Decimal("5.00"), "01"),
        ]
    )
    assert Document.objects.get(code="820").reference == "1001"
    # the bank reports check 1001 with nothing but its amount: the 820 says what it pays
    counts = _check("1001", amount)
    assert counts.get("auto") == 1, counts
    payment = Payment.objects.get()
    advice.refresh_from_db()
    assert advice.payment == payment and payment.state == PaymentState.APPLIED
    applied = {
        a.invoice_id: (a.amount, a.short_amount, a.short_reason)
        for a in Application.objects.filter(payment=payment)
    }
    assert applied == {
        first.pk: (first.total, 0, ""),
        third.pk: (third.total - 5, Decimal("5.00"), "01"),
    }
    first.refresh_from_db()
    assert first.state == InvoiceState.PAID
    # what was kept back is a deduction under the reason code 01 maps to, pricing
    case = Case.objects.get(kind=Case.Kind.DEDUCTION)
    assert (case.invoice_id, case.amount, case.reason.code) == (
        third.pk,
        Decimal("5.00"),
        "PRICING",
    )


def test_a_payment_waiting_in_the_queue_is_matched_again_when_its_820_arrives(
    partner, invoices, django_capture_on_commit_callbacks
):
    _, second, third = invoices
    amount = second.total + third.total - Decimal("3.00")
    _check("2002", amount, payer="REMIT CENTER 7")
    payment = Payment.objects.get()
    assert payment.state != PaymentState.APPLIED  # the amount alone tells nothing
    segments = ra_820(
        "2002",
        f"{amount:.2f}",
        [
            (
                second.number,
                f"{second.total - 3:.2f}",
                f"{second.total:.2f}",
                "",
                [("-3.00", "59")],
            ),
            (third.number, f"{third.total:.2f}", f"{third.total:.2f}", "", []),
        ],
    )
    _send(segments, django_capture_on_commit_callbacks)
    assert _remittances(partner) == {"processed": 1, "payments_auto": 1}
    payment.refresh_from_db()
    assert payment.state == PaymentState.APPLIED and payment.customer == partner.customer
    advice = payment.remittances.get()
    assert advice.note.startswith("Tied to its payment on arrival")
    assert sorted(
        payment.applications.values_list("invoice_id", "amount", "short_amount")
    ) == sorted(
        [(second.pk, second.total - 3, Decimal("3.00")), (third.pk, third.total, Decimal("0"))]
    )
    case = Case.objects.get(kind=Case.Kind.DEDUCTION)
    assert (case.invoice_id, case.reason.code) == (second.pk, "SHORTAGE")


def test_an_820_that_does_not_add_up_is_rejected_and_stores_nothing(
    partner, invoices, django_capture_on_commit_callbacks
):
    first = invoices[0]
    segments = ra_820("3003", "100.00", [(first.number, "90.00", f"{first.total:.2f}", "", [])])
    received = _send(segments, django_capture_on_commit_callbacks)
    assert received.interchange.state == "rejected"
    assert received.outcomes[0].state == "rejected"
    dead = InboundMessage.objects.get(state=InboundState.DEAD)
    assert dead.stream == "sets"
    assert "BPR (segment 2, element 02)" in dead.last_error
    assert "adds up to 90.00, not to the payment's 100.00" in dead.last_error
    # its syntax was sound: the 997 accepts the set; o2c's refusal is its own (as for an 850)
    assert "AK9*A*1*1*1" in _ack_rows(partner)
    assert _remittances(partner) == {}
    assert not RemittanceAdvice.objects.exists()


def test_the_same_820_resent_is_one_advice(partner, invoices, django_capture_on_commit_callbacks):
    first = invoices[0]
    segments = ra_820(
        "4004", f"{first.total:.2f}", [(first.number, f"{first.total:.2f}", "", "", [])]
    )
    _send(segments, django_capture_on_commit_callbacks, control="000000201")
    _send(segments, django_capture_on_commit_callbacks, control="000000202")  # a resend
    assert _remittances(partner) == {"processed": 2}
    assert RemittanceAdvice.objects.filter(source="edi820").count() == 1
    # and once the check arrives it lands on the invoice once
    assert _check("4004", first.total).get("auto") == 1
    assert Application.objects.get().invoice_id == first.pk


def test_a_debit_is_no_payment(partner, invoices, django_capture_on_commit_callbacks):
    first = invoices[0]
    segments = ra_820("5005", "10.00", [(first.number, "10.00", "", "", [])])
    segments[0][3] = "D"
    received = _send(segments, django_capture_on_commit_callbacks)
    assert received.interchange.state == "rejected"
    dead = InboundMessage.objects.get(state=InboundState.DEAD)
    assert "BPR (segment 2, element 03)" in dead.last_error and "debit" in dead.last_error
    assert not RemittanceAdvice.objects.exists()


def test_an_analyst_ties_a_waiting_820_to_its_payment_in_the_browser(
    partner, invoices, client, django_capture_on_commit_callbacks
):
    from core.roles import Role
    from tests.fixtures.users import make_user

    first = invoices[0]
    # the bank reported the check under its deposit reference only, so nothing ties them
    _check("7007", first.total, payer="ACME RETAIL")
    payment = Payment.objects.get()
    segments = ra_820(
        "ACH-TRACE-9", f"{first.total:.2f}", [(first.number, f"{first.total:.2f}", "", "", [])]
    )
    _send(segments, django_capture_on_commit_callbacks)
    _remittances(partner)
    advice = RemittanceAdvice.objects.get()
    assert advice.payment is None
    client.force_login(make_user("cash", Role.CASH_APPLICATION))
    page = client.get("/cash/remittances/")
    assert page.status_code == 200
    assert b"ACH-TRACE-9" in page.content and b"Waiting for the bank" in page.content
    assert b"ACH-TRACE-9" not in client.get("/cash/remittances/?q=nothing-like-it").content
    tie = f"/cash/remittances/{advice.pk}/tie/"
    # a payment of another amount: a clear error, and nothing changes
    other = Payment.objects.create(
        key="OTHER", entry_reference="X", amount=first.total + 1, currency="USD",
        value_date=timezone.now().date(), method="check", received_at=timezone.now(),
    )  # fmt: skip
    response = client.post(tie, {"payment": other.pk, "reason": "trace written short"}, follow=True)
    assert f"Payment {other.pk} is for".encode() in response.content
    advice.refresh_from_db()
    assert advice.payment is None
    # a reason is required
    response = client.post(tie, {"payment": payment.pk, "reason": " "}, follow=True)
    advice.refresh_from_db()
    assert b"reason" in response.content.lower() and advice.payment is None
    # an analyst of another territory neither sees it nor may tie it
    from orders.models import TerritoryAssignment

    west = make_user("cash-west", Role.CASH_APPLICATION)
    TerritoryAssignment.objects.create(user=west, territory="NOWHERE")
    client.force_login(west)
    assert b"ACH-TRACE-9" not in client.get("/cash/remittances/").content
    refused = client.post(tie, {"payment": payment.pk, "reason": "mine"})
    assert refused.status_code == 403
    advice.refresh_from_db()
    assert advice.payment is None
    client.force_login(User.objects.get(username="cash"))
    # the right one: tied, and the payment lands on the invoice the 820 names
    response = client.post(
        tie, {"payment": payment.pk, "reason": "trace written short"}, follow=True
    )
    assert b"tied to payment" in response.content
    advice.refresh_from_db()
    payment.refresh_from_db()
    assert advice.payment == payment and "trace written short" in advice.note
    assert payment.state == PaymentState.APPLIED
    assert list(payment.applications.values_list("invoice_id", flat=True)) == [first.pk]
    assert b"No remittance waits" in client.get("/cash/remittances/").content
    # a second click: a clear conflict
    response = client.post(tie, {"payment": payment.pk, "reason": "again"}, follow=True)
    assert b"already tied to payment" in response.content


def test_payment_level_adjustments_count_toward_the_total(
    partner, invoices, django_capture_on_commit_callbacks
):
    first = invoices[0]
    segments = ra_820("6006", f"{first.total - 10:.2f}", [])
    segments[6:6] = [["ADX", "-5.00", "54"], ["ADX", "-5.00", "19"]]  # before the first RMR
    segments.append(["RMR", "IV", first.number, "PI", f"{first.total:.2f}", f"{first.total:.2f}"])
    received = _send(segments, django_capture_on_commit_callbacks)
    assert received.interchange.state == "accepted", received.outcomes
    assert _remittances(partner) == {"processed": 1}
    lines = list(RemittanceAdvice.objects.get().lines.order_by("pk"))
    assert [(line.reference, line.adjustment, line.reason_code) for line in lines] == [
        ("", Decimal("5.00"), "54"),
        ("", Decimal("5.00"), "19"),
        (first.number, Decimal("0"), ""),
    ]
    assert lines[0].text.startswith("payment-level ADX 54")


def test_an_820_for_a_payment_already_applied_waits_for_an_analyst(
    partner, invoices, django_capture_on_commit_callbacks
):
    first = invoices[0]
    # the check named its invoice itself and was applied at once
    text = HEADER + (
        f"LBX-1,001,1,8008,{first.total},USD,ACME RETAIL,021000021/44556677,"
        f"{timezone.now().date()},{first.number},{first.total},,,\n"
    )
    for statement in parse_lockbox(text):
        statement_store(statement=statement, source="bank", actor=get_system_user())
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPLIED
    segments = ra_820(
        "8008", f"{first.total:.2f}", [(first.number, f"{first.total:.2f}", "", "", [])]
    )
    _send(segments, django_capture_on_commit_callbacks)
    assert _remittances(partner) == {"processed": 1}
    advice = RemittanceAdvice.objects.get(source="edi820")
    assert advice.payment is None  # never tied behind the analyst's back
    assert "already" in advice.note or "Waiting" in advice.note
    assert list(payment.applications.values_list("invoice_id", flat=True)) == [first.pk]
