"""Invoicing from shipments: quantities, agreed prices, tax, rounding, due dates, partial invoices
and the order's state, tax failures, and the calculator being pluggable."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Invoice, InvoiceState, TaxRate
from billing.services import invoice_approve
from exceptions.models import Hold
from exceptions.services import hold_release
from orders.models import OrderState
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db


class FlatTenPercent:
    """A stand-in tax engine for the pluggability test: 10 % everywhere."""

    def rate_for(self, *, customer, on):
        return Decimal("0.10")


def lines_of(invoice):
    return [
        (line.order_line.line_number, line.quantity, line.unit_price, line.amount, line.tax_amount)
        for line in invoice.lines.select_related("order_line").order_by("line_number")
    ]


def test_invoice_bills_shipped_quantity_at_contract_price_with_half_up_rounding(
    released_order, ship
):
    order = released_order(
        lines=[("A", "10"), ("B", "1"), ("C", "2")],
        contract={"A": "11.3333", "B": "0.3250", "C": "0.2000"},
    )

    ship(order, {1: "10", 2: "1", 3: "2"})

    invoice = Invoice.objects.get()
    # 10 × 11.3333 = 113.333 → 113.33, tax 7.0831… → 7.08; 0.325 → 0.33 (half-up, not 0.32),
    # tax 0.0206 → 0.02; 0.40 with tax 0.025 → 0.03 (half-up, not 0.02).
    assert lines_of(invoice) == [
        (1, Decimal("10.000"), Decimal("11.3333"), Decimal("113.33"), Decimal("7.08")),
        (2, Decimal("1.000"), Decimal("0.3250"), Decimal("0.33"), Decimal("0.02")),
        (3, Decimal("2.000"), Decimal("0.2000"), Decimal("0.40"), Decimal("0.03")),
    ]
    assert (invoice.subtotal, invoice.tax_total, invoice.total) == (
        Decimal("114.06"),
        Decimal("7.13"),
        Decimal("121.19"),
    )
    assert invoice.tax_region == "US-MA" and invoice.lines.first().tax_rate == Decimal("0.06250")


def test_partial_shipments_give_partial_invoices_and_move_the_order(
    released_order, ship, finance_user
):
    order = released_order(lines=[("A", "10"), ("B", "3")])

    ship(order, {1: "4", 2: "3"})
    first = Invoice.objects.get()
    # the customer's first invoice always waits for finance
    assert first.state == InvoiceState.PENDING_APPROVAL
    assert first.approval_reasons == ["The customer's first invoice"]
    assert order.state == OrderState.PARTIALLY_SHIPPED

    ship(order, {1: "6"})
    second = Invoice.objects.exclude(pk=first.pk).get()
    assert second.state == InvoiceState.RELEASED  # below every threshold: touchless
    assert lines_of(second) == [
        (1, Decimal("6.000"), Decimal("12.5000"), Decimal("75.00"), Decimal("4.69"))
    ]
    order.refresh_from_db()
    assert order.state == OrderState.PARTIALLY_INVOICED
    assert [line.invoiced_qty for line in order.lines.all()] == [Decimal("6"), Decimal("0")]

    invoice_approve(invoice_id=first.pk, actor=finance_user, reason="Known customer")

    order.refresh_from_db()
    assert order.state == OrderState.INVOICED
    assert [line.invoiced_qty for line in order.lines.all()] == [Decimal("10"), Decimal("3")]
    # 4 × 12.50 = 50.00 + 3.13 tax; 3 × 7.99 = 23.97 + 1.50 tax
    first.refresh_from_db()
    assert first.total == Decimal("78.60") and first.state == InvoiceState.RELEASED


def test_due_date_follows_payment_terms(released_order, ship):
    order = released_order(
        lines=[("B", "1")],
        customer=CustomerFactory(credit_limit=Decimal("1e6"), payment_terms="NET45"),
    )
    ship(order, {1: "1"})
    invoice = Invoice.objects.get()
    assert invoice.due_date == invoice.issued_on + timedelta(days=45)


def test_shipment_to_invoice_latency_is_recorded(released_order, ship):
    order = released_order(lines=[("B", "1")])
    ship(order, {1: "1"}, shipped_at=timezone.now() - timedelta(hours=2))
    seconds = Invoice.objects.get().shipment_to_invoice_seconds
    assert 7200 <= seconds < 7300


def test_a_shipment_is_never_invoiced_twice(released_order, ship):
    from billing.services import shipments_invoice

    order = released_order(lines=[("B", "2")])
    ship(order, {1: "2"})

    assert shipments_invoice() == []  # the catch-up finds nothing left to bill
    assert Invoice.objects.count() == 1


def test_tax_failure_raises_a_billing_hold_then_invoices_once_fixed(
    released_order, ship, finance_user, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(credit_limit=Decimal("1e6"), tax_region="US-ZZ")
    order = released_order(lines=[("B", "2")], customer=customer)

    ship(order, {1: "2"})

    assert not Invoice.objects.exists()
    hold = Hold.objects.get(order=order, reason__code="TAX_FAILED")
    assert hold.queue == "finance" and hold.blocks == "invoice"
    assert "No active tax rate for region “US-ZZ”" in hold.context["error"]

    TaxRate.objects.create(region="US-ZZ", rate=Decimal("0.05"))
    with django_capture_on_commit_callbacks(execute=True):
        hold_release(hold_id=hold.pk, actor=finance_user, reason="Rate added in admin")

    invoice = Invoice.objects.get()
    assert invoice.tax_total == Decimal("0.80")  # 15.98 × 5 % = 0.799 → 0.80


def test_the_tax_calculator_is_pluggable(released_order, ship, settings):
    settings.O2C_TAX_CALCULATOR = "tests.billing.test_invoicing.FlatTenPercent"
    order = released_order(lines=[("A", "2")])
    ship(order, {1: "2"})
    assert Invoice.objects.get().tax_total == Decimal("2.50")
