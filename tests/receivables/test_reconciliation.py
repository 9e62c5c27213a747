"""The daily AR reconciliation: a customer whose ERP snapshot holds more than o2c's invoices
explain is flagged with the right figures; one within the tolerance is not, whatever cash o2c
applied since the snapshot; the page shows the differences first to finance, exports them, lets
managers run it now, and refuses credit."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from billing.models import InvoiceState
from billing.services import invoice_approve, invoice_mark_posted
from core.roles import get_system_user
from orders.models import ARBalance, TerritoryAssignment
from receivables import tasks
from receivables.models import ArReconciliation
from receivables.parsers import parse_lockbox
from receivables.reconciliation import ar_reconciliation, ar_reconciliation_run
from receivables.services import statement_store

pytestmark = pytest.mark.django_db

HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


@pytest.fixture
def invoice_for(released_order, ship, finance_user):
    """A released invoice of ``customer`` (a new one when None) for ``quantity`` of item A."""

    def make(quantity: str, customer=None):
        order = released_order(lines=[("A", quantity)], customer=customer)
        ship(order, {1: quantity})
        invoice = order.invoices.get()
        if invoice.state == InvoiceState.PENDING_APPROVAL:
            invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
            invoice.refresh_from_db()
        assert invoice.state == InvoiceState.RELEASED
        return invoice

    return make


def _posted(invoice):
    """The ERP acknowledged the invoice (before its AR snapshot below)."""
    return invoice_mark_posted(number=invoice.number, reference=f"ERP-{invoice.number}")


def _snapshot(customer, open_amount: Decimal) -> None:
    ARBalance.objects.update_or_create(
        customer=customer, defaults={"open_amount": open_amount, "as_of": timezone.now()}
    )


def _pay(invoice) -> None:
    """The bank reports a check for the invoice's total, naming it: applied automatically."""
    row = (
        f"LBX-7,001,1,5001,{invoice.total},USD,{invoice.customer.name},021000021/99887766,"
        f"{timezone.now().date()},{invoice.number},{invoice.total},,,\n"
    )
    for statement in parse_lockbox(HEADER + row):
        statement_store(statement=statement, source="test-bank", actor=get_system_user())
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID


@pytest.fixture
def books(invoice_for):
    """Agrees: three invoices posted, the ERP holds their total and 0.50 of rounding, and o2c
    has since applied a payment to one. Differs: one posted invoice and one not yet posted; the
    ERP holds 250.00 more than the posted one."""
    first = _posted(invoice_for("10"))
    customer = first.customer
    agrees = [first, _posted(invoice_for("20", customer)), _posted(invoice_for("40", customer))]
    posted = _posted(invoice_for("5"))
    other = posted.customer
    in_transit = invoice_for("3", other)
    _snapshot(customer, sum(i.total for i in agrees) + Decimal("0.50"))
    _snapshot(other, posted.total + Decimal("250.00"))
    _pay(agrees[0])
    return {
        "agrees": agrees,
        "customer": customer,
        "other": other,
        "posted": posted,
        "in_transit": in_transit,
    }


def test_a_customer_whose_erp_snapshot_disagrees_beyond_the_tolerance_is_flagged(books):
    rows = {row.customer_id: row for row in ar_reconciliation()}
    differs = rows[books["other"].pk]
    posted, in_transit = books["posted"], books["in_transit"]
    assert differs.flagged
    assert differs.erp_open == posted.total + Decimal("250.00")
    assert differs.own_open == posted.total + in_transit.total  # both open in o2c
    assert differs.erp_counted == posted.total  # the ERP had not posted the second yet
    assert differs.difference == Decimal("250.00")
    assert differs.currency == "USD"


def test_a_customer_that_agrees_within_the_tolerance_is_not_flagged(books):
    first, second, third = books["agrees"]
    rows = ar_reconciliation()
    agrees = next(row for row in rows if row.customer_id == books["customer"].pk)
    # the payment applied since the snapshot is timing, not a difference
    assert not agrees.flagged
    assert agrees.own_open == second.total + third.total
    assert agrees.erp_counted == first.total + second.total + third.total
    assert agrees.difference == Decimal("0.50")
    assert agrees.erp_counted - agrees.own_open == first.total
    # differences first
    assert rows[0].customer_id == books["other"].pk


def test_a_tighter_tolerance_flags_the_rounding_too(books):
    rows = ar_reconciliation(tolerance=Decimal("0.25"))
    assert all(row.flagged for row in rows)


def test_the_daily_task_stores_a_run_with_its_lines(books):
    # beat has it scheduled
    assert PeriodicTask.objects.get(task="receivables.tasks.ar_reconciliation_daily").enabled
    assert tasks.ar_reconciliation_daily.apply().get() == 1
    run = ArReconciliation.objects.get()
    assert (run.customers, run.flagged, run.run_by) == (2, 1, None)
    line = run.lines.get(customer=books["other"])
    assert (line.difference, line.gap, line.flagged) == (Decimal("250.00"), Decimal("250.00"), True)
    assert line.explained == -books["in_transit"].total


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_finance_sees_the_differences_first_and_exports_them(client, books, finance_user):
    ar_reconciliation_run(actor=get_system_user())
    client.force_login(finance_user)
    response = client.get(reverse("receivables:reconciliation"))
    assert response.status_code == 200
    body = response.content.decode()
    other, customer = books["other"], books["customer"]
    assert "1 differ" in body
    assert body.index(f'id="line-{other.number}" class="flagged"') < body.index(
        f'id="line-{customer.number}"'
    )
    assert "250.00 USD" in body
    assert "Run now" not in body  # managers only
    rows = _csv(client.get(reverse("receivables:reconciliation"), {"format": "csv"}))
    assert rows[0][:4] == ["customer number", "customer", "currency", "ERP open"]
    assert [row[0] for row in rows[1:]] == [other.number, customer.number]
    assert rows[1][8:10] == ["250.00", "yes"]


def test_credit_is_refused_and_only_managers_run_it_now(
    client, books, credit_user, finance_user, manager_user
):
    client.force_login(credit_user)
    assert client.get(reverse("receivables:reconciliation")).status_code == 403
    client.force_login(finance_user)
    assert client.post(reverse("receivables:reconciliation_run")).status_code == 403
    assert not ArReconciliation.objects.exists()
    client.force_login(manager_user)
    response = client.post(reverse("receivables:reconciliation_run"), follow=True)
    assert "Reconciled 2 customers with the ERP: 1 differ beyond 1.00." in (
        response.content.decode()
    )
    assert ArReconciliation.objects.get().run_by == manager_user


def test_before_any_run_the_page_says_so(client, manager_user):
    client.force_login(manager_user)
    body = client.get(reverse("receivables:reconciliation")).content.decode()
    assert "No reconciliation has run yet" in body and "Run now" in body


def test_a_territory_limited_reader_sees_only_their_customers(client, books, finance_user):
    ar_reconciliation_run(actor=get_system_user())
    TerritoryAssignment.objects.create(user=finance_user, territory="NOWHERE")
    client.force_login(finance_user)
    body = client.get(reverse("receivables:reconciliation")).content.decode()
    assert "The ERP reported no AR for any customer you can see." in body
    assert books["other"].number not in body
    rows = _csv(client.get(reverse("receivables:reconciliation"), {"format": "csv"}))
    assert len(rows) == 1  # the header alone
