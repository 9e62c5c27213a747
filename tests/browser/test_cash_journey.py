"""A cash analyst in chromium: opens the cash application queue, accepts a suggested match, and
splits a bundled payment across two invoices; both rows leave the queue and the invoices read
Paid and Partially paid."""

import csv
import io
import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceState
from billing.services import invoice_approve
from core.roles import Role, get_system_user
from receivables.models import Application, CashPolicy, Payment, PaymentState
from receivables.parsers import parse_lockbox
from receivables.services import statement_store
from tests.browser.nav import nav
from tests.fixtures.users import make_user

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


def _deposit(*checks: tuple[str, Decimal, str, str]) -> None:
    """The bank's lockbox file of (check number, amount, payer, payer account), stored."""
    out = io.StringIO()
    out.write(HEADER)
    writer = csv.writer(out)
    today = str(timezone.now().date())
    for item, (number, amount, payer, account) in enumerate(checks, start=1):
        writer.writerow(
            ["LBX-7", "001", item, number, amount, "USD", payer, account, today] + [""] * 5
        )
    for statement in parse_lockbox(out.getvalue()):
        statement_store(statement=statement, source="test-bank", actor=get_system_user())


def test_cash_analyst_accepts_a_suggestion_and_splits_a_bundled_payment(
    page, live_server, login, released_order, ship, finance_user
):
    # given three released invoices of one customer
    invoices, customer = [], None
    for quantity in ("10", "20", "40"):
        order = released_order(lines=[("A", quantity)], customer=customer)
        customer = order.customer
        ship(order, {1: quantity})
        invoice = order.invoices.get()
        if invoice.state == InvoiceState.PENDING_APPROVAL:
            invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
        invoices.append(Invoice.objects.get(pk=invoice.pk))
    first, second, third = invoices
    make_user("cash", Role.CASH_APPLICATION, first_name="Cass", last_name="Analyst")
    # matching applies alone only when very sure: a payer paying one invoice's amount without
    # naming it is suggested to a person
    CashPolicy.objects.update_or_create(pk=1, defaults={"auto_threshold": Decimal("0.95")})
    # and the bank deposits that payment, and one check for the first invoice and part of the
    # second from a payer nobody knows
    _deposit(
        ("7001", third.total, customer.name, "021000021/55501234"),
        ("7002", first.total + Decimal("100.00"), "Qwxz Holdings Intl", "026009593/777"),
    )
    suggested = Payment.objects.get(bank_reference="7001")
    bundled = Payment.objects.get(bank_reference="7002")
    assert suggested.state == PaymentState.SUGGESTED, suggested.explanation
    assert bundled.state == PaymentState.UNMATCHED, bundled.explanation

    # when the analyst opens the queue
    login("cash")
    nav(page, "Cash")
    expect(page.get_by_role("heading", name="Cash application")).to_be_visible()
    tabs = page.get_by_role("navigation", name="Payments by state")
    expect(tabs).to_contain_text("All waiting 2")

    # the suggestion says why, and one click accepts it
    row = page.locator(f"#payment-{suggested.pk}")
    expect(row).to_contain_text(f"{third.total:,.2f} USD")
    expect(row).to_contain_text(f"amount equals {third.number}")
    expect(row).to_contain_text("••••1234")
    row.get_by_role("button", name="Accept suggestion 1").click()
    expect(row.get_by_role("status")).to_contain_text("Done: accepted.")
    expect(row).to_contain_text("Applied")
    expect(tabs).to_contain_text("All waiting 1")  # the counts refreshed themselves

    # the bundled check is split by hand across the two invoices
    row = page.locator(f"#payment-{bundled.pk}")
    expect(row).to_contain_text("Unmatched")
    row.get_by_text("Split across invoices").click()
    row.get_by_label("Invoice 1", exact=True).fill(first.number)
    row.get_by_label("Amount 1", exact=True).fill(str(first.total))
    # typed as the remittance had it: no prefix, no leading zeros
    row.get_by_label("Invoice 2", exact=True).fill(second.number.removeprefix("INV-").lstrip("0"))
    row.get_by_label("Amount 2", exact=True).fill("100.00")
    row.get_by_role("button", name="Apply split").click()
    expect(row.get_by_role("status")).to_contain_text("Done: applied.")
    expect(tabs).to_contain_text("All waiting 0")

    # then both rows have left the queue
    page.reload()
    expect(page.locator(f"#payment-{suggested.pk}")).to_have_count(0)
    expect(page.locator(f"#payment-{bundled.pk}")).to_have_count(0)
    expect(page.get_by_text("No payment waits for a person")).to_be_visible()

    # and the invoices say what was paid
    page.goto(f"{live_server.url}/cash/invoices/{third.pk}/")
    expect(page.get_by_role("heading", name=re.compile(third.number))).to_contain_text("Paid")
    page.goto(f"{live_server.url}/cash/invoices/{first.pk}/")
    expect(page.get_by_role("heading", name=re.compile(first.number))).to_contain_text("Paid")
    page.goto(f"{live_server.url}/cash/invoices/{second.pk}/")
    heading = page.get_by_role("heading", name=re.compile(second.number))
    expect(heading).to_contain_text("Partially paid")
    owed = page.get_by_label("What is owed")
    expect(owed).to_contain_text(f"{second.total - Decimal('100.00'):,.2f} USD")
    # the payment page tells who applied it
    page.get_by_role("link", name=f"Payment {bundled.pk}").click()
    expect(page.get_by_label("History")).to_contain_text("Applied by cash")
    assert Application.objects.filter(payment=bundled).count() == 2
