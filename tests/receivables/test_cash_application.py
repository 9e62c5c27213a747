"""Cash application end to end on the services: a lockbox file stored as payments, matched and
applied to the right invoices with explained confidence; a file loaded twice applies once;
money is never applied beyond an invoice or a payment; reversal, write-off maker-checker, and two
analysts on one payment."""

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import InvoiceState
from billing.services import invoice_approve
from core.errors import ApplicationError, Conflict, PermissionDenied
from core.roles import Role, get_system_user
from receivables.models import (
    Application,
    CashPolicy,
    Payment,
    PaymentState,
    UnappliedCash,
    WriteOff,
)
from receivables.parsers import parse_lockbox
from receivables.services import (
    Allocation,
    application_reverse,
    payment_accept,
    payment_apply,
    statement_store,
    write_off_approve,
    write_off_create,
    write_off_reject,
)
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


def _row(check, amount, payer, reference="", paid="", *, item=1, account="021000021/44556677"):
    return (
        f"LBX-1,001,{item},{check},{amount},USD,{payer},{account},{timezone.now().date()},"
        f"{reference},{paid},,,\n"
    )


def _store(text: str):
    counts = {}
    for statement in parse_lockbox(HEADER + text):
        for key, value in statement_store(
            statement=statement, source="test-bank", actor=get_system_user()
        ).items():
            counts[key] = counts.get(key, 0) + value
    return counts


@pytest.fixture
def cash_user(db):
    return make_user("cash", Role.CASH_APPLICATION)


@pytest.fixture
def cash_user_2(db):
    return make_user("cash2", Role.CASH_APPLICATION)


@pytest.fixture
def invoices(released_order, ship, finance_user):
    """Three released invoices of one customer, for 10, 20 and 40 of item A (finance approves
    a new customer's first invoices)."""
    made = []
    customer = None
    for quantity in ("10", "20", "40"):
        order = released_order(lines=[("A", quantity)], customer=customer)
        customer = order.customer
        ship(order, {1: quantity})
        invoice = order.invoices.get()
        if invoice.state == InvoiceState.PENDING_APPROVAL:
            invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
            invoice.refresh_from_db()
        assert invoice.state == InvoiceState.RELEASED
        made.append(invoice)
    return made


def _invoice_totals(invoices):
    return [invoice.total for invoice in invoices]


def test_a_payment_naming_its_invoice_is_applied_automatically_with_its_reason(invoices):
    invoice = invoices[1]
    customer = invoice.customer
    # when the bank reports a check for that invoice's total, naming it
    counts = _store(_row(1001, invoice.total, customer.name, invoice.number, invoice.total))
    # then it is applied with no one involved, and the invoice is paid
    payment = Payment.objects.get()
    assert counts["new"] == 1 and counts.get("auto") == 1
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPLIED and payment.automatic
    assert payment.customer == customer
    application = Application.objects.get()
    assert (application.invoice, application.amount) == (invoice, invoice.total)
    assert invoice.number in payment.candidates[0]["explanation"]
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID and invoice.open_amount == 0
    # and the payer's account number is kept masked
    assert payment.payer_account == "••••6677"
    # and its history tells it as it happened, although the row is written once, matched:
    # received from the statement, then applied
    rows = list(payment.history.order_by("history_date", "history_id"))
    assert [(r.history_type, r.state) for r in rows] == [
        ("+", PaymentState.RECEIVED),
        ("~", PaymentState.APPLIED),
    ]
    assert rows[0].history_change_reason.startswith("Received in lockbox statement")
    assert rows[1].history_change_reason.startswith("Applied automatically at confidence")


def test_the_same_file_loaded_twice_applies_once(invoices):
    invoice = invoices[0]
    text = _row(1002, invoice.total, invoice.customer.name, invoice.number, invoice.total)
    _store(text)
    again = _store(text)
    assert again == {"new": 0, "repeated": 1}
    assert Payment.objects.count() == 1 and Application.objects.count() == 1
    invoice.refresh_from_db()
    assert invoice.settled_amount == invoice.total


def test_a_stored_entry_sent_again_with_other_money_is_a_dead_letter_and_applies_nothing(
    invoices,
):
    from integrations.models import Connector, InboundMessage, InboundState
    from integrations.services import inbox_process, inbox_store

    first, second, _ = invoices
    customer = first.customer
    bank = Connector.objects.create(name="test-bank", kind="bank", base_url="http://127.0.0.1:9")

    def send(external_id: str, text: str) -> InboundMessage:
        inbox_store(
            connector=bank,
            stream="statements",
            records=[
                {"id": external_id, "version": 1, "format": "lockbox", "content": HEADER + text}
            ],
        )
        inbox_process(connector_id=bank.pk, stream="statements")
        return InboundMessage.objects.get(connector=bank, external_id=external_id)

    check = _row(1003, first.total, customer.name, first.number, first.total)
    assert send("file-1", check).state == InboundState.PROCESSED
    # when a file carries a payment for the second invoice on another lockbox, and the first
    # file's check again with another amount
    other = _row(1004, second.total, customer.name, second.number, second.total).replace(
        "LBX-1,", "LBX-2,"
    )
    changed = check.replace(f",{first.total},USD,", f",{first.total + 1},USD,")
    assert changed != check
    message = send("file-2", other + changed)
    # then the file is a dead letter naming the entry and both amounts
    assert message.state == InboundState.DEAD
    assert "was stored from an earlier file as USD" in message.last_error
    assert f"this file says USD {first.total + 1}" in message.last_error
    # and nothing of it is applied, not even its other lockbox's payment
    assert Payment.objects.count() == 1
    second.refresh_from_db()
    assert second.settled_amount == 0


def test_a_payments_bank_text_is_stored_with_the_payers_account_masked(db):
    from pathlib import Path

    from receivables.parsers import parse_bai2

    fixture = Path(__file__).parent / "fixtures" / "bai2_prior_day.txt"
    # given a BAI2 file whose wire names the payer's account in its 88 records
    usd = parse_bai2(fixture.read_text())[0]
    assert any("000123456789" in entry.free_text for entry in usd.entries)
    statement_store(statement=usd, source="test-bank", actor=get_system_user())
    # then the payment and its history keep the text with the account masked
    texts = [
        *Payment.objects.values_list("free_text", flat=True),
        *Payment.history.values_list("free_text", flat=True),
    ]
    assert not any("000123456789" in text for text in texts)
    wire = Payment.objects.get(entry_reference="FED260311-77")
    assert "DACT: ••••6789" in wire.free_text and "DBNM: NORTHWIND TRADING LLC" in wire.free_text
    assert wire.payer_account == "••••6789"
    # and a text stored whole before intake masked it is masked by the migration
    import importlib

    from django.apps import apps

    raw = next(entry.free_text for entry in usd.entries if "000123456789" in entry.free_text)
    Payment.objects.filter(pk=wire.pk).update(free_text=raw)
    migration = importlib.import_module("receivables.migrations.0009_mask_accounts_in_payment_text")
    migration.mask(apps, None)
    wire.refresh_from_db()
    assert "000123456789" not in wire.free_text and "DACT: ••••6789" in wire.free_text


def test_a_bundled_payment_applies_to_each_named_invoice(invoices):
    first, second, third = invoices
    total = first.total + second.total + third.total
    lines = "".join(
        _row(1003, total, first.customer.name, inv.number, inv.total) for inv in invoices
    )
    _store(lines)
    applied = dict(Application.objects.values_list("invoice_id", "amount"))
    assert applied == {inv.pk: inv.total for inv in invoices}


def test_an_overpayment_leaves_the_rest_on_the_customers_account(invoices):
    invoice = invoices[0]
    _store(_row(1004, invoice.total + 40, invoice.customer.name, invoice.number, invoice.total))
    payment = Payment.objects.get()
    if payment.state == PaymentState.APPLIED:
        assert UnappliedCash.objects.get().amount == Decimal("40.00")
    else:  # not confident enough to apply alone: an analyst accepts the suggestion
        assert payment.state == PaymentState.SUGGESTED
    invoice.refresh_from_db()
    assert invoice.open_amount >= 0


def test_an_analyst_cannot_apply_more_than_an_invoice_owes_or_the_payment_holds(
    invoices, cash_user
):
    small, big = invoices[0], invoices[2]
    _store(_row(1005, "900.00", "Nobody We Know Ltd", "", "", account="1/2"))
    payment = Payment.objects.get()
    assert payment.state == PaymentState.UNMATCHED
    with pytest.raises(Conflict, match="open"):
        payment_apply(
            actor=cash_user,
            payment_id=payment.pk,
            allocations=[Allocation(invoice_id=small.pk, amount=small.total + 1)],
        )
    with pytest.raises(ApplicationError, match="more than the payment"):
        payment_apply(
            actor=cash_user,
            payment_id=payment.pk,
            allocations=[
                Allocation(invoice_id=big.pk, amount=big.total),
                Allocation(invoice_id=small.pk, amount=Decimal("401.00")),
            ],
        )
    # nothing changed
    payment.refresh_from_db()
    assert payment.state == PaymentState.UNMATCHED and not Application.objects.exists()
    small.refresh_from_db()
    assert small.settled_amount == 0


def test_a_split_by_hand_then_a_reversal_reopens_the_invoice_and_the_payment(invoices, cash_user):
    first, second, _ = invoices
    _store(_row(1006, first.total + second.total, "Unknown Payer", "", "", account="3/4"))
    payment = Payment.objects.get()
    payment_apply(
        actor=cash_user,
        payment_id=payment.pk,
        allocations=[
            Allocation(invoice_id=first.pk, amount=first.total),
            Allocation(invoice_id=second.pk, amount=second.total),
        ],
    )
    payment.refresh_from_db()
    assert payment.state == PaymentState.APPLIED and payment.applied_amount == payment.amount
    application = Application.objects.get(invoice=second)
    application_reverse(actor=cash_user, application_id=application.pk, reason="wrong customer")
    second.refresh_from_db()
    payment.refresh_from_db()
    assert second.state in (InvoiceState.RELEASED, InvoiceState.POSTED)
    assert second.open_amount == second.total
    assert payment.state == PaymentState.SUGGESTED and payment.open_amount == second.total
    with pytest.raises(Conflict, match="already reversed"):
        application_reverse(actor=cash_user, application_id=application.pk, reason="again")


def test_a_refund_sends_back_only_what_is_open_and_a_reversal_takes_it_back(
    invoices, cash_user, client
):
    from django.urls import reverse

    from receivables.services import on_account_apply, payment_mark_refund

    first, second, third = invoices
    amount = first.total + second.total + Decimal("100.00")
    _store(_row(1010, amount, "Unknown Payer", "", "", account="7/8"))
    payment = Payment.objects.get()
    # given a payment applied to two invoices, its 100.00 left on the customer's account
    payment_apply(
        actor=cash_user,
        payment_id=payment.pk,
        allocations=[
            Allocation(invoice_id=first.pk, amount=first.total),
            Allocation(invoice_id=second.pk, amount=second.total),
        ],
        customer_id=first.customer_id,
    )
    held = UnappliedCash.objects.get(payment=payment)
    assert held.amount == Decimal("100.00")
    # and the second application reversed: that much waits in the queue again
    application_reverse(
        actor=cash_user,
        application_id=Application.objects.get(invoice=second).pk,
        reason="not theirs",
    )
    # when the analyst opens the refund form, it offers what is open, not the whole payment
    client.force_login(cash_user)
    form = client.get(reverse("receivables:action_form", args=[payment.pk, "refund"]))
    text = form.content.decode()
    assert f"{second.total:,.2f}" in text and "the rest stays where it is applied" in text
    payment_mark_refund(actor=cash_user, payment_id=payment.pk, reason="customer asked")
    payment.refresh_from_db()
    assert payment.state == PaymentState.REFUND and payment.open_amount == second.total
    reason = payment.history.latest("history_date").history_change_reason
    assert f"({second.total:,.2f} USD of {amount:,.2f})" in reason
    # then the money on the customer's account is still theirs to apply, the refund unchanged
    on_account_apply(
        actor=cash_user,
        unapplied_id=held.pk,
        allocations=[Allocation(invoice_id=third.pk, amount=Decimal("100.00"))],
    )
    payment.refresh_from_db()
    assert payment.state == PaymentState.REFUND and payment.open_amount == second.total
    third.refresh_from_db()
    assert third.settled_amount == Decimal("100.00")
    # and a wrong application can still be reversed: the refund, for less, is taken back and
    # the payment waits in the queue with all that is open
    application_reverse(
        actor=cash_user,
        application_id=Application.objects.get(invoice=first).pk,
        reason="wrong invoice",
    )
    payment.refresh_from_db()
    assert payment.state == PaymentState.SUGGESTED
    assert payment.open_amount == first.total + second.total
    reason = payment.history.latest("history_date").history_change_reason
    assert reason.endswith("the refund is taken back, the payment waits in the queue")


def test_two_analysts_accepting_one_payment_get_one_success_and_one_conflict(
    invoices, cash_user, cash_user_2
):
    invoice = invoices[2]
    # a known payer, no invoice named, under a stricter automatic threshold: matching suggests,
    # an analyst confirms
    CashPolicy.objects.update_or_create(pk=1, defaults={"auto_threshold": Decimal("0.95")})
    _store(_row(1007, invoice.total, invoice.customer.name, "", "", account="5/6"))
    payment = Payment.objects.get()
    assert payment.state == PaymentState.SUGGESTED, payment.explanation
    assert payment.candidates[0]["allocations"][0]["invoice"] == invoice.number
    payment_accept(actor=cash_user, payment_id=payment.pk, candidate=0)
    with pytest.raises(Conflict, match="already applied"):
        payment_accept(actor=cash_user_2, payment_id=payment.pk, candidate=0)
    assert Application.objects.count() == len(payment.candidates[0]["allocations"])


def test_a_write_off_above_the_limit_needs_a_second_person_superusers_included(invoices, cash_user):
    invoice = invoices[2]
    boss = make_user("boss", is_superuser=True)
    small = write_off_create(
        actor=cash_user, invoice_id=invoice.pk, amount=Decimal("10"), reason="rounding"
    )
    assert small.state == WriteOff.State.APPLIED
    big = write_off_create(
        actor=boss, invoice_id=invoice.pk, amount=Decimal("200"), reason="goodwill"
    )
    assert big.state == WriteOff.State.PENDING
    with pytest.raises(PermissionDenied, match="someone else"):
        write_off_approve(actor=boss, write_off_id=big.pk, reason="mine")
    write_off_approve(actor=cash_user, write_off_id=big.pk, reason="checked")
    invoice.refresh_from_db()
    assert invoice.settled_amount == Decimal("210.00")
    assert invoice.state == InvoiceState.PARTIALLY_PAID


def test_write_offs_split_under_the_limit_add_up_to_it_and_wait_for_a_second_person(
    invoices, cash_user, cash_user_2
):
    invoice = invoices[2]
    limit = CashPolicy.objects.get_or_create(pk=1)[0].write_off_limit
    part = (limit / 2).quantize(Decimal("0.01"))
    # given one analyst writes off half the limit twice: together, the limit, applied at once
    for _ in range(2):
        done = write_off_create(actor=cash_user, invoice_id=invoice.pk, amount=part, reason="r")
        assert done.state == WriteOff.State.APPLIED
    # when they write off a cent more
    more = write_off_create(
        actor=cash_user, invoice_id=invoice.pk, amount=Decimal("0.01"), reason="one more"
    )
    # then it waits for a second person, saying why
    assert more.state == WriteOff.State.PENDING
    reason = more.history.latest("history_date").history_change_reason
    assert f"({2 * part + Decimal('0.01'):,.2f} with the invoice's other write-offs)" in reason
    # and what waits counts against what is open: no second write-off past the invoice's balance
    invoice.refresh_from_db()
    with pytest.raises(ApplicationError, match="waiting for approval"):
        write_off_create(
            actor=cash_user_2, invoice_id=invoice.pk, amount=invoice.open_amount, reason="all"
        )
    write_off_approve(actor=cash_user_2, write_off_id=more.pk, reason="checked")
    invoice.refresh_from_db()
    assert invoice.settled_amount == 2 * part + Decimal("0.01")


def test_cash_applied_lowers_exposure_at_once_and_releases_a_credit_hold(
    invoices, catalog, cs_user, django_capture_on_commit_callbacks
):
    from orders.models import OrderState
    from orders.services import LineInput, order_create

    customer = invoices[0].customer
    owed = sum(invoice.total for invoice in invoices)
    # given a customer whose open invoices leave no room under the limit for a new order
    customer.credit_limit = owed + Decimal("200")
    customer.save()
    with django_capture_on_commit_callbacks(execute=True):
        order = order_create(
            actor=cs_user,
            customer_id=customer.pk,
            channel="inside_sales",
            ship_to_id=customer.ship_tos.first().pk,
            lines=[LineInput(sku=catalog["A"].sku, quantity=Decimal("30"))],
        )
    order.refresh_from_db()
    hold = order.holds.get(reason__code="CREDIT_LIMIT")
    assert order.state == OrderState.ON_HOLD
    assert Decimal(hold.context["exposure"]) == owed + order.total
    # when the customer pays its largest invoice this morning
    largest = invoices[2]
    with django_capture_on_commit_callbacks(execute=True):
        _store(_row(1010, largest.total, customer.name, largest.number, largest.total))
    # then its exposure falls at once and the held order is released
    order.refresh_from_db()
    hold.refresh_from_db()
    assert order.state == OrderState.RELEASED, hold.context
    assert hold.resolution_code == "CLEARED"


def test_two_payments_of_one_file_for_the_same_invoice_apply_once_and_suggest_the_other(
    invoices,
):
    invoice = invoices[1]
    name = invoice.customer.name
    # given a file with two checks each paying the same invoice in full
    _store(
        _row(1020, invoice.total, name, invoice.number, invoice.total)
        + _row(1021, invoice.total, name, invoice.number, invoice.total, item=2)
    )
    # then the invoice is settled once, and the second payment waits with the reason
    invoice.refresh_from_db()
    assert invoice.settled_amount == invoice.total
    states = sorted(Payment.objects.values_list("state", flat=True))
    assert states == [PaymentState.APPLIED, PaymentState.SUGGESTED]
    waiting = Payment.objects.get(state=PaymentState.SUGGESTED)
    assert f"not applied: Invoice {invoice.number} has 0.00" in waiting.explanation


def test_exposure_counts_o2c_cash_once_whether_or_not_the_erp_snapshot_has_seen_it(invoices):
    from billing.services import invoice_mark_posted
    from orders.extensions import ar_adjustments
    from orders.models import ARBalance
    from receivables.services import payment_mark_posted

    customer = invoices[0].customer
    for invoice in invoices:
        invoice_mark_posted(number=invoice.number, reference=f"AR-{invoice.number}")
    paid = invoices[2]
    _store(_row(1030, paid.total, customer.name, paid.number, paid.total))
    payment = Payment.objects.get()
    assert payment.state == PaymentState.APPLIED
    owed = sum(i.total for i in invoices) - paid.total  # what o2c says is open

    def exposure_ar() -> Decimal:
        ar = ARBalance.objects.get(customer=customer)
        return ar.open_amount + ar_adjustments({customer.pk: ar}).get(customer.pk, 0)

    # an ERP snapshot taken after the invoices were posted but before the cash reached it
    ARBalance.objects.filter(customer=customer).update(
        open_amount=sum(i.total for i in invoices), as_of=timezone.now()
    )
    assert exposure_ar() == owed
    # the ERP acknowledges the cash, and its next snapshot takes it off
    payment_mark_posted(payment_id=payment.pk)
    ARBalance.objects.filter(customer=customer).update(open_amount=owed, as_of=timezone.now())
    assert exposure_ar() == owed


def test_a_partly_invoiced_order_counts_once_in_exposure(released_order, ship, finance_user):
    from billing.models import Invoice
    from billing.selectors import own_receivables
    from exceptions.facts import _exposure
    from orders.models import ARBalance, OrderState

    # given an order of 20, half shipped and invoiced, the invoice released
    order = released_order(lines=[("A", "20")])
    customer = order.customer
    ship(order, {1: "10"})
    invoice = Invoice.objects.get(customer=customer)
    if invoice.state == InvoiceState.PENDING_APPROVAL:
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
        invoice.refresh_from_db()
    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_INVOICED
    assert order.invoiced_amount == invoice.total
    # when the credit rule reads the customer's exposure (a new order of theirs judged)
    ar = ARBalance.objects.get(customer=customer)
    receivable = ar.open_amount + own_receivables({customer.pk: ar}).get(customer.pk, 0)
    released = _exposure({customer.pk})[customer.pk]
    # then the invoiced half is in receivables and the other half in released orders: the
    # order's value once, not one and a half times
    assert receivable == invoice.total
    assert released == order.total - invoice.total
    assert receivable + released == order.total


def test_whoever_asked_for_a_write_off_hears_it_was_rejected(invoices, cash_user, cash_user_2):
    from exceptions.models import Notification

    big = write_off_create(
        actor=cash_user, invoice_id=invoices[2].pk, amount=Decimal("200"), reason="goodwill"
    )
    assert big.state == WriteOff.State.PENDING
    write_off_reject(actor=cash_user_2, write_off_id=big.pk, reason="the customer can pay")
    (notice,) = Notification.objects.all()
    assert notice.user == cash_user and notice.kind == "approval"
    assert "was rejected by cash2: the customer can pay" in notice.message
