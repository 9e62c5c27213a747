"""A pricing analyst in chromium: a customer paid short with a pricing code; the deduction waits
in pricing's case queue; the analyst claims it, opens it in the drawer, sees the invoice line and
the price in force, and resolves it valid with a credit memo for one unit; the invoice is settled
by the credit and the case says by which memo."""

import importlib
import re
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from playwright.sync_api import expect

from billing.models import CreditReason, InvoiceState
from billing.services import invoice_approve
from cases.models import Case, CaseState
from core.roles import Role
from tests.browser.nav import nav
from tests.cases.test_deductions import _one_unit, _pay_short, cash_user
from tests.fixtures.users import make_user

__all__ = ["cash_user"]  # the cash applier's fixture, shared with the service tests

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

_seed = importlib.import_module("cases.migrations.0002_seed_reasons")


def test_a_pricing_analyst_resolves_a_pricing_deduction_with_a_credit_memo(
    page, live_server, login, released_order, ship, finance_user, cash_user
):
    # given an invoice of 10 units, and a payment one unit short with the customer's code PRC
    _seed.seed(django_apps, None)  # the taxonomy, as the migration seeds it
    order = released_order(lines=[("A", "10")], contract={"A": "12.5000"})
    ship(order, {1: "10"})
    invoice = order.invoices.get()
    if invoice.state == InvoiceState.PENDING_APPROVAL:
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
        invoice.refresh_from_db()
    short = _one_unit(invoice)
    _pay_short(invoice, short, "PRC", cash_user)
    case = Case.objects.get()
    make_user("pricer", Role.PRICING, first_name="Pat", last_name="Pricer")

    # when the pricing analyst opens the case queue, the deduction is there
    login("pricer")
    nav(page, "Cases")
    rows = page.get_by_role("table", name="Open cases")
    expect(rows).to_contain_text(invoice.number)
    expect(rows).to_contain_text("Price difference")
    expect(rows).to_contain_text(f"{short:,.2f} USD")

    # and claims it in place, then opens it in the drawer: the invoice line and the price in force
    rows.get_by_role("button", name="Claim").click()
    expect(rows).to_contain_text("Claimed")
    rows.get_by_role("link", name=f"Deduction {case.pk}").click()
    drawer = page.get_by_role("complementary", name="Case details")
    expect(drawer.get_by_role("heading", name=f"Deduction {case.pk}")).to_contain_text(
        invoice.number
    )
    lines = drawer.get_by_role("table", name="Invoice lines")
    expect(lines).to_contain_text("BILL-A")
    expect(lines).to_contain_text("contract from")

    # the analyst finds the price was right on the customer's contract... and credits one unit
    drawer.get_by_label("Outcome").select_option("valid")
    drawer.get_by_label(re.compile(r"^Line 1 \(10(\.0+)? billed\)")).fill("1")
    drawer.get_by_label("Root cause").select_option("price_file")
    drawer.get_by_label("What was found").fill("Contract price loaded late in the ERP")
    drawer.get_by_role("button", name="Resolve").click()

    # then the case's row says so, and the drawer shows it valid, credited by a memo
    row = page.locator(f"#case-{case.pk}")
    expect(row.get_by_role("status")).to_contain_text("Done: resolved.")
    expect(row).to_contain_text("Valid")
    expect(drawer.locator("dl.facts")).to_contain_text("Valid")
    expect(drawer.locator("dl.facts")).to_contain_text("CM-")
    case.refresh_from_db()
    invoice.refresh_from_db()
    assert case.state == CaseState.VALID and case.credit_memo.total == short
    assert case.credit_memo.reason_code == CreditReason.PRICING
    assert invoice.open_amount == Decimal("0.00")
