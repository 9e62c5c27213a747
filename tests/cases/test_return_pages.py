"""Returns in the browser: customer service picks an invoice and authorises quantities of its
lines (too many is refused in place, writing nothing); the list finds a return by its invoice
in a constant number of queries; finance approves a credit that waits, and the authoriser
cannot."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import BillingPolicy, InvoiceState
from billing.services import invoice_approve
from cases.models import ReturnAuthorisation, ReturnState
from cases.returns import return_authorise, return_receive
from core.roles import get_system_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def invoice(released_order, ship, finance_user):
    order = released_order(lines=[("A", "10")])
    ship(order, {1: "10"})
    invoice = order.invoices.get()
    if invoice.state == InvoiceState.PENDING_APPROVAL:
        invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
        invoice.refresh_from_db()
    return invoice


def test_customer_service_authorises_a_return_from_the_invoice_lines(client, cs_user, invoice):
    client.force_login(cs_user)
    line = invoice.lines.get()
    page = client.get(reverse("returns:new"), {"invoice": invoice.number})
    assert page.status_code == 200
    assert f'name="qty-{line.pk}"' in page.text and "of 10" in page.text
    too_many = client.post(
        reverse("returns:new"),
        {"invoice": invoice.number, f"qty-{line.pk}": "11", "reason": "damaged", "note": "x"},
    )
    assert too_many.status_code == 400
    assert "11 is more than may come back" in too_many.text
    assert 'value="11"' in too_many.text  # what they typed stays in the form
    assert not ReturnAuthorisation.objects.exists()
    done = client.post(
        reverse("returns:new"),
        {
            "invoice": invoice.number,
            f"qty-{line.pk}": "2",
            "reason": "damaged",
            "note": "Two arrived crushed",
        },
    )
    rma = ReturnAuthorisation.objects.get()
    assert done.status_code == 302 and done["Location"] == reverse("returns:detail", args=[rma.pk])
    detail = client.get(done["Location"])
    assert (
        "Authorised: waiting for the goods" in detail.text and "Two arrived crushed" in detail.text
    )


@pytest.mark.parametrize("typed", ["NaN", "-1", "1e400", "0.0004", "Infinity"])
def test_a_quantity_no_line_could_hold_is_refused_and_changes_nothing(
    client, cs_user, invoice, typed
):
    client.force_login(cs_user)
    line = invoice.lines.get()
    page = client.post(
        reverse("returns:new"),
        {"invoice": invoice.number, f"qty-{line.pk}": typed, "reason": "damaged", "note": "x"},
    )
    assert page.status_code == 400
    assert f"&#x27;{typed}&#x27; is not a quantity" in page.text
    assert not ReturnAuthorisation.objects.exists()


def test_an_unknown_invoice_says_so(client, cs_user, invoice):
    client.force_login(cs_user)
    page = client.get(reverse("returns:new"), {"invoice": "INV-NOPE"})
    assert page.status_code == 404 and "No invoice INV-NOPE that you can see." in page.text
    huge = client.get(reverse("returns:new"), {"invoice": "9" * 40})  # no id is that long
    assert huge.status_code == 404 and "No invoice 9999" in huge.text


def test_the_list_finds_a_return_by_invoice_in_constant_queries(
    client, cs_user, invoice, finance_user
):
    client.force_login(finance_user)
    empty = client.get(reverse("returns:list"))
    assert "No return yet." in empty.text
    line = invoice.lines.get()

    def authorise(n):
        for _ in range(n):
            return_authorise(
                actor=cs_user,
                invoice_id=invoice.pk,
                reason="damaged",
                quantities={line.pk: Decimal("1")},
                note="dent",
            )

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("returns:list"), {"q": invoice.number})
        assert response.status_code == 200
        return len(queries), response

    authorise(1)
    few, _ = count()
    authorise(5)
    many, response = count()
    assert few == many
    assert response.text.count(f"<td>{invoice.number}</td>") == 6


def test_finance_approves_a_credit_the_authoriser_cannot(
    client, cs_user, invoice, finance_user, manager_user
):
    BillingPolicy.objects.update(credit_memo_approval_amount=Decimal("10"))
    line = invoice.lines.get()
    rma = return_authorise(
        actor=manager_user,
        invoice_id=invoice.pk,
        reason="defective",
        quantities={line.pk: Decimal("5")},
        note="Faulty batch",
    )
    return_receive(
        actor=get_system_user(),
        number=rma.number,
        receipt_id="RCV-P",
        lines={1: (Decimal("5"), Decimal("0"))},
    )
    client.force_login(manager_user)
    page = client.get(reverse("returns:detail", args=[rma.pk]))
    assert "You authorised this return" in page.text
    refused = client.post(
        reverse("returns:decide", args=[rma.pk]), {"action": "approve", "reason": "ok"}
    )
    assert refused.status_code == 403 and "someone else must approve" in refused.text
    client.force_login(finance_user)
    approved = client.post(
        reverse("returns:decide", args=[rma.pk]), {"action": "approve", "reason": "Checked"}
    )
    assert approved.status_code == 302
    rma.refresh_from_db()
    assert rma.state == ReturnState.CREDITED and rma.credit_memo is not None
    again = client.post(
        reverse("returns:decide", args=[rma.pk]), {"action": "refuse", "reason": "late"}
    )
    assert again.status_code == 409 and "is credited" in again.text
