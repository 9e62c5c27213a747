"""Deductions and disputes on the services: a short payment becomes a deduction routed by its
reason with its evidence; an unmapped code opens one under "other" naming it; valid, invalid and
too-large resolutions; and the role gates."""

import importlib
from datetime import timedelta
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core import mail
from django.utils import timezone

from billing.models import CreditMemo, InvoiceState
from billing.services import invoice_approve
from cases.models import Case, CaseQueue, CaseReason, CaseState, ReasonCodeMapping, RootCause
from cases.selectors import case_evidence, case_get, reasons_for_codes
from cases.services import (
    Outcome,
    case_claim,
    case_resolve,
    cases_escalate_overdue,
    cases_from_payment,
    dispute_open,
)
from core.errors import ApplicationError, PermissionDenied
from core.money import round_money
from core.roles import Role, get_system_user
from dunning.models import CollectionContact, CollectionTask, ContactLog
from exceptions.models import Notification
from receivables.models import Payment, PaymentState
from receivables.parsers import parse_lockbox
from receivables.services import payment_accept, statement_store
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

_seed = importlib.import_module("cases.migrations.0002_seed_reasons")

HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


@pytest.fixture(autouse=True)
def reasons(db):
    """The seeded taxonomy and general code mappings (re-made after transactional flushes)."""
    _seed.seed(django_apps, None)


@pytest.fixture
def invoice(released_order, ship, finance_user):
    """A released invoice for 10 of item A, with a contract price in force for A."""
    order = released_order(lines=[("A", "10")], contract={"A": "12.5000"})
    ship(order, {1: "10"})
    invoice = order.invoices.get()
    if invoice.state == InvoiceState.PENDING_APPROVAL:
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
        invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED
    return invoice


def _one_unit(invoice) -> Decimal:
    """What crediting one unit of the invoice's first line comes to, tax included."""
    line = invoice.lines.get()
    amount = round_money(line.unit_price)
    return amount + round_money(amount * line.tax_rate)


def _pay_short(invoice, short: Decimal, code: str, cash_user) -> Payment:
    """The bank reports a lockbox check paying the invoice less ``short``, with ``code``."""
    paid = invoice.total - short
    row = (
        f"LBX-1,001,1,5001,{paid},USD,{invoice.customer.name},021000021/44556677,"
        f"{timezone.now().date()},{invoice.number},{paid},,{short},{code}\n"
    )
    for statement in parse_lockbox(HEADER + row):
        statement_store(statement=statement, source="test-bank", actor=get_system_user())
    payment = Payment.objects.get()
    if payment.state != PaymentState.APPLIED:  # suggested: an analyst accepts it
        payment_accept(actor=cash_user, payment_id=payment.pk)
        payment.refresh_from_db()
    assert payment.state == PaymentState.APPLIED
    return payment


@pytest.fixture
def cash_user(db):
    return make_user("cash", Role.CASH_APPLICATION)


def test_a_short_payment_with_a_mapped_code_is_a_deduction_in_its_queue_with_evidence(
    invoice, cash_user, pricing_user, django_assert_max_num_queries
):
    # given the customer pays one unit short, saying "price difference" (PRC)
    short = _one_unit(invoice)
    payment = _pay_short(invoice, short, "PRC", cash_user)
    # then a deduction waits in the pricing queue for that amount, due by the reason's SLA
    case = Case.objects.get()
    assert (case.kind, case.invoice, case.payment, case.amount) == (
        Case.Kind.DEDUCTION,
        invoice,
        payment,
        short,
    )
    assert (case.reason.code, case.queue, case.remittance_code) == ("PRICING", "pricing", "PRC")
    assert case.due_at - case.opened_at == timezone.timedelta(hours=case.reason.sla_hours)
    # and the money it is about stays owed on the invoice
    invoice.refresh_from_db()
    assert invoice.open_amount == short
    # and its evidence: the invoice line, the shipment behind it, the contract price in force
    case = case_get(user=pricing_user, case_id=case.pk)
    with django_assert_max_num_queries(5):
        evidence = case_evidence(case)
    line = evidence.invoice_lines[0]
    assert line.invoice_id == invoice.pk
    assert [s.pk for s in evidence.shipments] == [line.shipment_line.shipment_id]
    assert evidence.prices[line.order_line.item_id].contract_price == Decimal("12.5000")
    assert evidence.earlier_cases == []
    # and opening the payment's cases again opens nothing more
    assert cases_from_payment(payment) == [] and Case.objects.count() == 1


def test_an_unmapped_code_opens_a_case_under_other_naming_the_code(invoice, cash_user):
    _pay_short(invoice, Decimal("5.00"), "ZZ9", cash_user)
    case = Case.objects.get()
    assert case.reason.code == "OTHER" and case.queue == CaseQueue.CASH_APPLICATION
    assert case.remittance_code == "ZZ9"
    assert "code ZZ9 is not mapped" in case.notes.get().text


def test_codes_map_to_the_customers_own_reason_first_whatever_their_case(invoice):
    # given the customer maps "prc" to a duplicate billing of their own; others keep the general
    customer = invoice.customer
    stranger = CustomerFactory()
    duplicate = CaseReason.objects.get(code="DUPLICATE")
    ReasonCodeMapping.objects.create(customer=customer, code="prc", reason=duplicate)
    # when many (customer, code) pairs are looked up at once
    found = reasons_for_codes(
        {(customer.pk, " PRC "), (customer.pk, "Prc"), (stranger.pk, "prc"), (customer.pk, ""),
         (customer.pk, "ZZ9")}
    )  # fmt: skip
    # then the customer's own mapping wins, the stranger gets the general one, the rest nothing
    assert {pair: reason.code for pair, reason in found.items()} == {
        (customer.pk, " PRC "): "DUPLICATE",
        (customer.pk, "Prc"): "DUPLICATE",
        (stranger.pk, "prc"): "PRICING",
    }


def test_a_deduction_opened_with_a_bank_file_has_its_history_and_note(invoice, cash_user):
    payment = _pay_short(invoice, Decimal("5.00"), "DMG", cash_user)
    case = Case.objects.get()
    [opened] = case.history.all()
    assert (opened.history_type, opened.history_user, opened.state) == (
        "+",
        get_system_user(),
        CaseState.OPEN,
    )
    assert opened.history_change_reason.startswith("Deduction of 5.00 USD on " + invoice.number)
    note = case.notes.get()
    assert note.text.endswith("code DMG: Damaged goods.") and note.author == get_system_user()
    assert note.history.get().history_change_reason == "Note added"
    assert (case.payment, case.application.payment) == (payment, payment)


def test_a_valid_deduction_is_credited_by_a_memo_and_closed_with_its_root_cause(
    invoice, cash_user, pricing_user
):
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    line = invoice.lines.get()
    # when the pricing analyst claims it and agrees one unit's credit
    case_claim(actor=pricing_user, case_id=case.pk)
    case = case_resolve(
        actor=pricing_user,
        case_id=case.pk,
        outcome=Outcome.VALID,
        amount=short,
        root_cause=RootCause.PRICE_FILE,
        note="Contract price was not loaded in time",
        quantities={line.pk: Decimal("1")},
    )
    # then a credit memo of that amount is linked to the case, and the invoice owes nothing
    memo = CreditMemo.objects.get()
    assert case.credit_memo == memo and memo.total == short
    assert memo.lines.get().invoice_line == line
    invoice.refresh_from_db()
    assert invoice.open_amount == 0 and invoice.state == InvoiceState.PAID
    assert (case.state, case.resolved_by, case.root_cause, case.outcome_amount) == (
        CaseState.VALID,
        pricing_user,
        RootCause.PRICE_FILE,
        short,
    )


def test_an_invalid_deduction_leaves_the_amount_owed_and_says_what_the_customer_was_told(
    invoice, cash_user, pricing_user
):
    _pay_short(invoice, Decimal("7.00"), "PRC", cash_user)
    case = Case.objects.get()
    case = case_resolve(
        actor=pricing_user,
        case_id=case.pk,
        outcome=Outcome.INVALID,
        amount=None,
        root_cause=RootCause.CUSTOMER_ERROR,
        note="The contract price was applied; their system has the old one",
    )
    invoice.refresh_from_db()
    assert case.state == CaseState.INVALID and invoice.open_amount == Decimal("7.00")
    assert not CreditMemo.objects.exists()
    assert "Customer told why: The contract price" in case.notes.order_by("-pk")[0].text
    # with no collections contact on file, a collector is asked to tell them
    task = CollectionTask.objects.get(customer=invoice.customer, kind=CollectionTask.Kind.NOTICE)
    assert f"Deduction on {invoice.number} not accepted" in task.text
    assert "their system has the old one" in task.text


def test_an_invalid_deduction_is_mailed_to_the_collections_contact(
    invoice, cash_user, pricing_user, mailoutbox, django_capture_on_commit_callbacks,
    send_deliveries,
):  # fmt: skip
    CollectionContact.objects.create(customer=invoice.customer, email="ap@customer.example")
    _pay_short(invoice, Decimal("7.00"), "PRC", cash_user)
    case = Case.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        case_resolve(
            actor=pricing_user,
            case_id=case.pk,
            outcome=Outcome.INVALID,
            amount=None,
            root_cause=RootCause.CUSTOMER_ERROR,
            note="Promotion ended on 1 November",
        )
    assert send_deliveries() == ["sent"]
    (mail,) = mailoutbox
    assert mail.to == ["ap@customer.example"]
    assert mail.subject == f"Deduction on {invoice.number} not accepted"
    assert "7.00 USD" in mail.body and "Promotion ended on 1 November" in mail.body
    entry = ContactLog.objects.get(customer=invoice.customer)
    assert entry.channel == ContactLog.Channel.NOTICE and "ap@customer.example" in entry.summary
    assert not CollectionTask.objects.exists()


def test_a_credit_above_the_case_is_refused_with_the_numbers_and_changes_nothing(
    invoice, cash_user, pricing_user
):
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    line = invoice.lines.get()
    # an amount above the case
    with pytest.raises(ApplicationError) as refused:
        case_resolve(
            actor=pricing_user,
            case_id=case.pk,
            outcome=Outcome.VALID,
            amount=short + Decimal("10"),
            root_cause=RootCause.PRICE_FILE,
            note="",
            quantities={line.pk: Decimal("1")},
        )
    assert f"{short + 10:,.2f} is more than this case allows: {short:,.2f} USD" in str(
        refused.value.message
    )
    # quantities crediting more than agreed
    with pytest.raises(ApplicationError) as refused:
        case_resolve(
            actor=pricing_user,
            case_id=case.pk,
            outcome=Outcome.VALID,
            amount=short,
            root_cause=RootCause.PRICE_FILE,
            note="",
            quantities={line.pk: Decimal("2")},
        )
    assert f"more than the {short:,.2f} USD agreed" in refused.value.message
    case.refresh_from_db()
    invoice.refresh_from_db()
    assert case.state == CaseState.OPEN and not CreditMemo.objects.exists()
    assert invoice.open_amount == short and invoice.credited_amount == 0


def test_cases_are_worked_only_from_their_queue_and_disputes_by_customer_service(
    invoice, cash_user, warehouse_user, pricing_user, cs_user
):
    _pay_short(invoice, Decimal("3.00"), "PRC", cash_user)
    case = Case.objects.get()
    # the warehouse does not work pricing's cases
    with pytest.raises(PermissionDenied):
        case_claim(actor=warehouse_user, case_id=case.pk)
    # pricing cannot open a dispute; customer service can, routed by its reason
    with pytest.raises(PermissionDenied):
        dispute_open(
            actor=pricing_user,
            invoice_id=invoice.pk,
            amount=Decimal("1"),
            reason_code="DAMAGE",
            note="x",
        )
    dispute = dispute_open(
        actor=cs_user,
        invoice_id=invoice.pk,
        amount=Decimal("2.00"),
        reason_code="DAMAGE",
        note="Two cartons crushed, photos by email",
    )
    assert (dispute.kind, dispute.queue, dispute.payment) == (
        Case.Kind.DISPUTE,
        CaseQueue.WAREHOUSE,
        None,
    )


def test_a_credit_above_the_policy_limit_waits_for_a_second_person_superusers_too(
    invoice, cash_user, finance_user
):
    from billing.models import BillingPolicy
    from cases.services import case_credit_approve
    from tests.fixtures.factories import UserFactory

    # given a policy letting credits up to 5.00 through, and a one-unit (13.28) deduction
    BillingPolicy.objects.update(credit_memo_approval_amount=Decimal("5.00"))
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    line = invoice.lines.get()
    root = UserFactory(username="root", is_superuser=True)
    # when a superuser agrees it valid
    case = case_resolve(
        actor=root,
        case_id=case.pk,
        outcome=Outcome.VALID,
        amount=short,
        root_cause=RootCause.PRICE_FILE,
        note="contract missing",
        quantities={line.pk: Decimal("1")},
    )
    # then nothing is credited yet: the credit waits, and its maker cannot approve it
    assert case.state == CaseState.AWAITING and not CreditMemo.objects.exists()
    with pytest.raises(PermissionDenied, match="someone else must approve"):
        case_credit_approve(actor=root, case_id=case.pk, reason="mine")
    assert not CreditMemo.objects.exists()
    # finance approves: the memo is issued as agreed and the case closes valid
    case = case_credit_approve(actor=finance_user, case_id=case.pk, reason="checked the file")
    assert case.state == CaseState.VALID and case.credit_memo.total == short
    assert case.resolved_by == root and case.root_cause == RootCause.PRICE_FILE
    invoice.refresh_from_db()
    assert invoice.open_amount == 0


def test_reversing_the_short_application_withdraws_its_open_case(invoice, cash_user):
    from receivables.models import Application
    from receivables.services import application_reverse

    _pay_short(invoice, Decimal("4.00"), "PRC", cash_user)
    application = Application.objects.get()
    # when cash application takes the application back off the invoice
    application_reverse(actor=cash_user, application_id=application.pk, reason="wrong customer")
    # then its deduction no longer waits in a queue, and says why
    case = Case.objects.get()
    assert case.state == CaseState.WITHDRAWN
    assert "reversed (wrong customer)" in case.notes.order_by("-pk")[0].text


def test_an_overdue_case_escalates_once_per_sla_period_and_tells_the_managers(
    invoice, cash_user, manager_user
):
    _pay_short(invoice, Decimal("7.00"), "PRC", cash_user)
    case = Case.objects.get()
    sla = timedelta(hours=case.reason.sla_hours)  # pricing: 72 h
    assert cases_escalate_overdue(now=case.due_at - timedelta(minutes=1)) == 0
    assert cases_escalate_overdue(now=case.due_at + timedelta(minutes=1)) == 1
    assert cases_escalate_overdue(now=case.due_at + timedelta(minutes=2)) == 0  # idempotent
    case.refresh_from_db()
    assert case.escalation_level == 1
    (notice,) = Notification.objects.filter(user=manager_user)
    assert f"Deduction {case.pk}" in notice.message and "escalated to level 1" in notice.message
    assert cases_escalate_overdue(now=case.due_at + 2 * sla + timedelta(minutes=1)) == 1
    case.refresh_from_db()
    assert case.escalation_level == 3  # two more periods passed: level follows the time overdue
    assert "Escalated to level 3" in case.history.latest().history_change_reason
    # a resolved case no longer escalates
    case_resolve(
        actor=make_user("pricer-esc", Role.PRICING),
        case_id=case.pk,
        outcome=Outcome.INVALID,
        amount=None,
        root_cause=RootCause.CUSTOMER_ERROR,
        note="Old price on their side",
    )
    assert cases_escalate_overdue(now=case.due_at + 10 * sla) == 0


def test_a_tier_two_credit_needs_two_approvers_other_than_its_maker(
    invoice, cash_user, pricing_user, finance_user
):
    from billing.models import BillingPolicy
    from cases.services import case_credit_approve, case_credit_reject

    # given credits above 5.00 need two approvers (tier 2 from 5.00), and a one-unit deduction
    BillingPolicy.objects.update(
        credit_memo_approval_amount=Decimal("1.00"),
        credit_memo_second_approval_amount=Decimal("5.00"),
    )
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    line = invoice.lines.get()
    case = case_resolve(
        actor=pricing_user,
        case_id=case.pk,
        outcome=Outcome.VALID,
        amount=short,
        root_cause=RootCause.PRICE_FILE,
        note="contract missing",
        quantities={line.pk: Decimal("1")},
    )
    assert case.state == CaseState.AWAITING and case.proposal["tier"] == 2
    # the first approval issues nothing, and its giver cannot give the second
    case = case_credit_approve(actor=finance_user, case_id=case.pk, reason="checked")
    assert case.state == CaseState.AWAITING and case.first_approver == finance_user
    assert not CreditMemo.objects.exists()
    with pytest.raises(PermissionDenied, match="first approval; someone else"):
        case_credit_approve(actor=finance_user, case_id=case.pk, reason="again")
    # a rejection sends it back and forgets the first approval
    second = make_user("finance-two", Role.FINANCE)
    case = case_credit_reject(actor=second, case_id=case.pk, reason="wrong line")
    assert case.state == CaseState.CLAIMED and case.first_approver is None
    assert not CreditMemo.objects.exists()


def test_finance_by_hand_issues_only_credits_below_tier_one(invoice, finance_user):
    from billing.models import BillingPolicy
    from billing.services import credit_memo_create

    BillingPolicy.objects.update(credit_memo_approval_amount=Decimal("20.00"))
    line = invoice.lines.get()
    with pytest.raises(PermissionDenied) as refused:
        credit_memo_create(
            invoice_id=invoice.pk,
            actor=finance_user,
            quantities={line.pk: Decimal("2")},
            reason="goodwill",
        )
    assert "is above the 20.00 one person may issue; open a dispute" in refused.value.message
    assert not CreditMemo.objects.exists()
    memo = credit_memo_create(
        invoice_id=invoice.pk,
        actor=finance_user,
        quantities={line.pk: Decimal("1")},
        reason="goodwill",
    )
    assert memo.total == _one_unit(invoice) and memo.reason_code == "other"


def test_a_routed_case_tells_the_people_of_its_new_queue_not_the_router(
    invoice, cash_user, pricing_user, warehouse_user, send_deliveries
):
    from cases.services import case_route

    # given a pricing deduction, and a warehouse analyst with an email address
    warehouse_user.email = "wh@o2c.example"
    warehouse_user.save()
    _pay_short(invoice, Decimal("7.00"), "PRC", cash_user)
    case = Case.objects.get()
    # when pricing routes it to shortages (the warehouse's queue)
    case_route(actor=pricing_user, case_id=case.pk, reason_code="SHORTAGE", note="short shipped")
    # then the warehouse analyst now owning it is told, in the app and by mail; the router is not
    (notice,) = Notification.objects.filter(kind="assignment")
    assert notice.user == warehouse_user
    assert f"Deduction {case.pk}" in notice.message and "routed to warehouse" in notice.message
    send_deliveries()
    assert [m.to for m in mail.outbox] == [["wh@o2c.example"]]


def test_the_maker_of_a_credit_hears_the_checker_approve_it(invoice, cash_user, finance_user):
    from billing.models import BillingPolicy
    from cases.services import case_credit_approve

    BillingPolicy.objects.update(credit_memo_approval_amount=Decimal("5.00"))
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    maker = make_user("pricer-maker", Role.PRICING)
    case = case_resolve(
        actor=maker,
        case_id=Case.objects.get().pk,
        outcome=Outcome.VALID,
        amount=short,
        root_cause=RootCause.PRICE_FILE,
        note="contract missing",
        quantities={invoice.lines.get().pk: Decimal("1")},
    )
    assert not Notification.objects.filter(user=maker).exists()
    case_credit_approve(actor=finance_user, case_id=case.pk, reason="checked the file")
    (notice,) = Notification.objects.filter(user=maker)
    assert notice.kind == "approval" and "was approved by" in notice.message
    assert "checked the file" in notice.message
    assert not Notification.objects.filter(user=finance_user).exists()
