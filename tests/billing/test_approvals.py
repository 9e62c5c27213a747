"""Finance approval: thresholds and tiers, maker-checker (superusers included), conflicts that say
who acted and when, voiding, over-shipment, payment, and credit memos."""

from decimal import Decimal

import pytest

from billing.models import CreditMemo, Invoice, InvoiceState
from billing.services import (
    credit_memo_create,
    invoice_approve,
    invoice_bill_ordered_only,
    invoice_void,
    invoices_settle,
    shipments_invoice,
)
from core.errors import ApplicationError, Conflict, PermissionDenied
from orders.models import OrderState
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def second_finance(db):
    return make_user("finance2", "finance", first_name="Fin", last_name="Two")


@pytest.fixture
def known_customer(released_order, ship, finance_user):
    """A customer with one released invoice already, so the first-invoice rule is out of the way."""
    customer = CustomerFactory(credit_limit=Decimal("10000000"))
    order = released_order(lines=[("C", "1")], customer=customer)
    ship(order, {1: "1"})
    invoice_approve(
        invoice_id=Invoice.objects.get(customer=customer).pk, actor=finance_user, reason="ok"
    )
    return customer


def invoice_for(released_order, ship, customer, quantity, item="A", **kwargs):
    order = released_order(lines=[(item, quantity)], customer=customer, **kwargs)
    ship(order, {1: quantity})
    return Invoice.objects.filter(lines__order_line__order=order).distinct().get(), order


def test_below_thresholds_the_invoice_releases_itself(released_order, ship, known_customer):
    invoice, order = invoice_for(released_order, ship, known_customer, "100")  # 1,328.13
    assert invoice.state == InvoiceState.RELEASED and invoice.approval_tier == 0
    order.refresh_from_db()
    assert order.state == OrderState.INVOICED


def test_tier_one_needs_one_finance_approval(released_order, ship, known_customer, finance_user):
    invoice, order = invoice_for(released_order, ship, known_customer, "800")  # 10,625.00
    assert (invoice.state, invoice.approval_tier) == (InvoiceState.PENDING_APPROVAL, 1)
    assert invoice.approval_reasons == ["Total 10625.00 is at or above 10000.00"]
    order.refresh_from_db()
    assert order.state == OrderState.SHIPPED  # not invoiced until released

    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="Checked against PO")

    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED and invoice.first_approver == finance_user
    order.refresh_from_db()
    assert order.state == OrderState.INVOICED


def test_tier_two_needs_two_different_approvers(
    released_order, ship, known_customer, finance_user, second_finance
):
    invoice, _ = invoice_for(released_order, ship, known_customer, "4000")  # 53,125.00
    assert invoice.approval_tier == 2

    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="First look")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PENDING_APPROVAL and invoice.first_approver == finance_user

    with pytest.raises(PermissionDenied, match="different person"):
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="Again")

    invoice_approve(invoice_id=invoice.pk, actor=second_finance, reason="Second look")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED
    assert (invoice.first_approver, invoice.second_approver) == (finance_user, second_finance)


def test_approving_a_released_invoice_says_who_and_when_and_changes_nothing(
    released_order, ship, known_customer, finance_user, second_finance
):
    invoice, _ = invoice_for(released_order, ship, known_customer, "800")
    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="ok")
    rows = invoice.history.count()

    with pytest.raises(Conflict, match=r"already released by finance at \d{4}-\d\d-\d\d \d\d:\d\d"):
        invoice_approve(invoice_id=invoice.pk, actor=second_finance, reason="me too")

    invoice.refresh_from_db()
    assert invoice.history.count() == rows and invoice.second_approver is None


def test_whoever_overrode_a_price_cannot_approve_even_as_superuser(
    released_order, ship, known_customer, finance_user
):
    boss = make_user("boss", "finance", "customer_service", is_superuser=True, is_staff=True)
    # the superuser enters an order and prices its line by hand: an override
    order = released_order(lines=[("B", "2", "8.5000")], customer=known_customer, actor=boss)
    ship(order, {1: "2"})
    overridden = Invoice.objects.filter(lines__order_line__order=order).distinct().get()
    assert overridden.state == InvoiceState.PENDING_APPROVAL
    assert overridden.approval_reasons == ["Line 1: price 8.5000 set by boss"]

    with pytest.raises(PermissionDenied, match="you set the price of line 1"):
        invoice_approve(invoice_id=overridden.pk, actor=boss, reason="Looks fine")
    invoice_approve(invoice_id=overridden.pk, actor=finance_user, reason="Checked")
    overridden.refresh_from_db()
    assert overridden.state == InvoiceState.RELEASED


def test_who_edited_the_invoice_cannot_approve_it(
    released_order, ship, known_customer, finance_user, second_finance
):
    # an over-shipment: 12 shipped of 10 ordered
    order = released_order(lines=[("B", "10")], customer=known_customer)
    ship(order, {1: "12"})
    invoice = Invoice.objects.filter(lines__order_line__order=order).distinct().get()
    assert invoice.state == InvoiceState.PENDING_APPROVAL
    assert invoice.approval_reasons == ["Line 1: 2.000 shipped beyond the 10.000 ordered"]
    assert invoice.lines.get().quantity == Decimal("12")

    invoice_bill_ordered_only(invoice_id=invoice.pk, actor=finance_user, reason="Not agreed")

    invoice.refresh_from_db()
    line = invoice.lines.get()
    assert (line.quantity, line.amount, line.over_shipped_qty) == (
        Decimal("10"),
        Decimal("79.90"),
        Decimal("0"),
    )
    assert invoice.total == Decimal("84.89")  # 79.90 + 4.99
    with pytest.raises(PermissionDenied, match="you edited this invoice"):
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="mine")
    invoice_approve(invoice_id=invoice.pk, actor=second_finance, reason="ok")
    order.refresh_from_db()
    assert order.state == OrderState.INVOICED


def test_only_finance_approves(released_order, ship, known_customer, cs_user, warehouse_user):
    invoice, _ = invoice_for(released_order, ship, known_customer, "800")
    for user in (cs_user, warehouse_user):
        with pytest.raises(PermissionDenied):
            invoice_approve(invoice_id=invoice.pk, actor=user, reason="please")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PENDING_APPROVAL


def test_void_needs_confirmation_frees_the_shipment_and_cannot_touch_released(
    released_order, ship, known_customer, finance_user
):
    invoice, _ = invoice_for(released_order, ship, known_customer, "800")
    with pytest.raises(ApplicationError, match="Confirm"):
        invoice_void(invoice_id=invoice.pk, actor=finance_user, reason="wrong", confirm=False)

    invoice_void(invoice_id=invoice.pk, actor=finance_user, reason="Wrong terms", confirm=True)

    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.VOID
    # the shipment is billable again: the catch-up invoices it afresh
    again = shipments_invoice()
    assert len(again) == 1 and again[0].pk != invoice.pk
    invoice_approve(invoice_id=again[0].pk, actor=finance_user, reason="ok")
    with pytest.raises(Conflict, match="corrected by a credit memo"):
        invoice_void(invoice_id=again[0].pk, actor=finance_user, reason="x", confirm=True)


def test_cash_settles_released_invoices_only_and_never_beyond_what_is_open(
    released_order, ship, known_customer, finance_user
):
    invoice, _ = invoice_for(released_order, ship, known_customer, "800")
    with pytest.raises(Conflict, match="cash applies only to a released invoice"):
        invoices_settle(changes={invoice.pk: Decimal("1")}, actor=finance_user, reason="wire 1")
    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="ok")
    invoice.refresh_from_db()
    with pytest.raises(Conflict, match="cannot be applied"):
        invoices_settle(
            changes={invoice.pk: invoice.total + Decimal("0.01")}, actor=finance_user, reason="x"
        )
    invoices_settle(changes={invoice.pk: Decimal("100")}, actor=finance_user, reason="wire 1")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PARTIALLY_PAID and invoice.paid_at is None
    invoices_settle(changes={invoice.pk: invoice.open_amount}, actor=finance_user, reason="wire 2")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID and invoice.paid_at is not None
    assert invoice.open_amount == 0
    # a reversal reopens it, and nothing can be credited beyond what is open
    invoices_settle(changes={invoice.pk: Decimal("-100")}, actor=finance_user, reason="reversed")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PARTIALLY_PAID and invoice.open_amount == Decimal("100")


def test_credit_memos_never_exceed_the_invoiced_amount(
    released_order, ship, known_customer, finance_user
):
    order = released_order(lines=[("C", "3"), ("B", "1")], customer=known_customer)
    ship(order, {1: "3", 2: "1"})
    invoice = Invoice.objects.filter(lines__order_line__order=order).distinct().get()
    c_line, b_line = invoice.lines.order_by("line_number")
    # 3 × 0.3333 = 0.9999 → 1.00 (+0.06); 7.99 (+0.50)
    assert (c_line.amount, c_line.tax_amount) == (Decimal("1.00"), Decimal("0.06"))

    one = credit_memo_create(
        invoice_id=invoice.pk,
        actor=finance_user,
        quantities={c_line.pk: Decimal("1")},
        reason="1 damaged",
    )
    assert (one.subtotal, one.tax_total, one.total) == (
        Decimal("0.33"),
        Decimal("0.02"),
        Decimal("0.35"),
    )

    with pytest.raises(ApplicationError, match="cannot exceed the invoiced amount"):
        credit_memo_create(
            invoice_id=invoice.pk,
            actor=finance_user,
            quantities={c_line.pk: Decimal("2.5")},
            reason="too much",
        )
    # the rest of the line credits its exact remainder: 1.00 − 0.33 and 0.06 − 0.02
    rest = credit_memo_create(
        invoice_id=invoice.pk,
        actor=finance_user,
        quantities={c_line.pk: Decimal("2"), b_line.pk: Decimal("1")},
        reason="returned",
    )
    assert (rest.subtotal, rest.tax_total) == (Decimal("8.66"), Decimal("0.54"))
    assert one.total + rest.total == invoice.total
    with pytest.raises(ApplicationError):
        credit_memo_create(
            invoice_id=invoice.pk,
            actor=finance_user,
            quantities={b_line.pk: Decimal("0.001")},
            reason="x",
        )
    assert CreditMemo.objects.count() == 2
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED and invoice.total == Decimal("9.55")


def test_a_pending_invoice_takes_no_credit_memo(released_order, ship, known_customer, finance_user):
    invoice, _ = invoice_for(released_order, ship, known_customer, "800")
    with pytest.raises(Conflict, match="only a released invoice takes a credit memo"):
        credit_memo_create(
            invoice_id=invoice.pk,
            actor=finance_user,
            quantities={invoice.lines.get().pk: Decimal("1")},
            reason="x",
        )
    assert not CreditMemo.objects.exists()


def test_an_over_shipment_split_over_two_shipments_still_needs_finance(released_order, ship):
    order = released_order(lines=[("B", "10")])
    ship(order, {1: "6"})  # the customer's first invoice: it waits for finance
    ship(order, {1: "6"})  # 12 shipped of 10 while the first invoice is still pending
    second = Invoice.objects.filter(lines__order_line__order=order).distinct().order_by("pk").last()
    assert second.state == InvoiceState.PENDING_APPROVAL
    assert second.approval_reasons == ["Line 1: 2.000 shipped beyond the 10.000 ordered"]


def test_releasing_an_under_price_hold_makes_the_analyst_the_price_owner(
    enter, pricing_user, finance_user
):
    from exceptions.services import hold_release

    order = enter(price="80")  # list 100: a pricing hold on the line
    hold = order.holds.get(reason__code="PRICE_BELOW_CONTRACT")
    hold_release(hold_id=hold.pk, actor=pricing_user, reason="Promotion agreed with the customer")
    line = order.lines.get()
    assert line.price_overridden_by == pricing_user
    assert line.history.first().history_change_reason == "Promotion agreed with the customer"


def test_the_editor_and_the_first_approver_hear_the_invoice_is_released(
    released_order, ship, known_customer, finance_user, second_finance
):
    from exceptions.models import Notification

    # given an over-shipped invoice finance_user edited (billed as ordered)
    order = released_order(lines=[("B", "10")], customer=known_customer)
    ship(order, {1: "12"})
    invoice = Invoice.objects.filter(lines__order_line__order=order).distinct().get()
    invoice_bill_ordered_only(invoice_id=invoice.pk, actor=finance_user, reason="Not agreed")
    assert not Notification.objects.filter(kind="approval").exists()
    # when another approver releases it
    invoice_approve(invoice_id=invoice.pk, actor=second_finance, reason="ok")
    # then the editor (the maker) is told; the approver is not told of their own approval
    (notice,) = Notification.objects.filter(kind="approval")
    assert notice.user == finance_user
    assert notice.message == f"Invoice {invoice.number} was approved and released by Fin Two: ok"


def test_the_bulk_preview_bars_a_price_setter_in_the_same_queries_for_any_selection(
    released_order, ship, known_customer, finance_user
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.services import invoices_approve_preview

    boss = make_user("boss", "finance", "customer_service", is_superuser=True, is_staff=True)
    invoices = []
    for _ in range(9):  # the boss prices each order's line by hand: each invoice waits
        order = released_order(lines=[("B", "2", "8.5000")], customer=known_customer, actor=boss)
        ship(order, {1: "2"})
        invoices.append(Invoice.objects.filter(lines__order_line__order=order).distinct().get())
    assert {i.state for i in invoices} == {InvoiceState.PENDING_APPROVAL}
    ids = [i.pk for i in invoices]
    with CaptureQueriesContext(connection) as few:
        invoices_approve_preview(invoice_ids=ids[:2], actor=boss)
    with CaptureQueriesContext(connection) as many:
        preview = invoices_approve_preview(invoice_ids=ids, actor=boss)
    assert len(many) == len(few)
    assert len(preview.rows) == 9 and all(
        f"you set the price of line 1, so someone else must approve {row.label}" in row.message
        for row in preview.rows
    )
    # another analyst may approve every one
    other = invoices_approve_preview(invoice_ids=ids, actor=finance_user).rows
    assert [row.message for row in other] == [""] * 9


def test_a_first_approval_is_withdrawn_when_the_invoice_is_cut_after_it(
    released_order, ship, known_customer, finance_user, second_finance
):
    third = make_user("finance3", "finance")
    # given a tier-2 invoice that bills 10 beyond the 4,000 ordered
    order = released_order(lines=[("A", "4000")], customer=known_customer)
    ship(order, {1: "4010"})
    invoice = Invoice.objects.filter(lines__order_line__order=order).distinct().get()
    assert invoice.approval_tier == 2
    # when one person approves it, and another then cuts it back to what was ordered
    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="First look")
    invoice_bill_ordered_only(invoice_id=invoice.pk, actor=second_finance, reason="Not agreed")
    invoice.refresh_from_db()
    # then the first approval is gone, the history saying whose it was
    assert invoice.first_approver is None and invoice.first_approved_at is None
    latest = invoice.history.latest("history_date").history_change_reason
    assert latest.startswith("Over-shipment not billed: Not agreed (the first approval, by ")
    assert latest.endswith(", is withdrawn)")
    # and a third person's approval is the first of two again, not the release
    invoice_approve(invoice_id=invoice.pk, actor=third, reason="Looks right")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PENDING_APPROVAL and invoice.first_approver == third
    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="Second look")
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.RELEASED
