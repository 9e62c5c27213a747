"""Maker-checker through the front doors: a superuser (every role, every queue) still cannot
approve their own price override, their own order edit, their own invoice change or their own
first approval, neither in the browser's forms nor over the API; and a refusal changes nothing."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.test import APIClient

from billing.models import Invoice, InvoiceState
from billing.services import invoice_bill_ordered_only
from exceptions.models import Hold, HoldState
from exceptions.services import hold_release
from orders.services import order_update_line
from tests.fixtures.users import make_user
from tests.summary import summary

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(db):
    return make_user("boss", is_superuser=True, is_staff=True)


def _doors(boss):
    ui = Client()
    ui.force_login(boss)
    api = APIClient()
    api.force_authenticate(boss)
    return ui, api


def _refused_everywhere(boss, *, ui_url: str, api_url: str, obj, says: str) -> None:
    ui, api = _doors(boss)
    rows = obj.history.count()
    # the queue's button (an htmx post): refused in place, saying why
    clicked = ui.post(ui_url, {"reason": "It is mine, and fine"}, HTTP_HX_REQUEST="true")
    assert clicked.status_code == 403, clicked.status_code
    assert says in clicked.content.decode()
    # the plain form (no JavaScript): back to the page, with the same message
    page = ui.post(ui_url, {"reason": "It is mine, and fine"}, follow=True)
    assert says in page.content.decode()
    response = api.post(api_url, {"reason": "It is mine, and fine"}, format="json")
    assert response.status_code == 403, response.content
    assert response.json()["code"] == "forbidden" and says in response.json()["message"]
    assert obj.history.count() == rows  # nothing written, not even a failed attempt


def test_own_price_override(boss, released_order, ship, finance_user):
    order = released_order(lines=[("B", "2", "8.5000")], actor=boss)  # priced by hand
    ship(order, {1: "2"})
    invoice = Invoice.objects.get(lines__order_line__order=order)
    assert invoice.state == InvoiceState.PENDING_APPROVAL
    _refused_everywhere(
        boss,
        ui_url=reverse("billing:action", args=[invoice.pk, "approve"]),
        api_url=f"/api/v1/invoices/{invoice.pk}/approve/",
        obj=invoice,
        says="you set the price of line 1",
    )
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PENDING_APPROVAL and invoice.first_approver is None
    summary("maker-checker: own price override", load="UI + API", result="pass")


def test_own_order_edit(boss, enter, django_capture_on_commit_callbacks):
    order = enter(quantity="60")  # a credit hold, entered by customer service
    line = order.lines.get()
    with django_capture_on_commit_callbacks(execute=True):
        order_update_line(
            actor=boss,
            order_id=order.pk,
            line_id=line.pk,
            quantity=Decimal("55"),
            unit_price=line.unit_price,
            reason="Customer asked for less",
        )
    hold = Hold.objects.get(order=order, state=HoldState.OPEN)
    _refused_everywhere(
        boss,
        ui_url=reverse("exceptions:action", args=[hold.pk, "release"]),
        api_url=f"/api/v1/holds/{hold.pk}/release/",
        obj=hold,
        says="entered or edited",
    )
    assert Hold.objects.get(pk=hold.pk).state == HoldState.OPEN
    summary("maker-checker: own order edit", load="UI + API", result="pass")


def test_own_invoice_change(boss, released_order, ship, finance_user):
    order = released_order(lines=[("B", "10")])
    ship(order, {1: "12"})  # over-shipped: finance decides
    invoice = Invoice.objects.get(lines__order_line__order=order)
    invoice_bill_ordered_only(invoice_id=invoice.pk, actor=boss, reason="Bill what was ordered")
    _refused_everywhere(
        boss,
        ui_url=reverse("billing:action", args=[invoice.pk, "approve"]),
        api_url=f"/api/v1/invoices/{invoice.pk}/approve/",
        obj=invoice,
        says="you edited this invoice",
    )
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PENDING_APPROVAL
    summary("maker-checker: own invoice change", load="UI + API", result="pass")


def test_own_first_approval(boss, enter):
    hold = enter(quantity="200").holds.get(reason__code="CREDIT_LIMIT")  # above maker-checker
    hold = hold_release(hold_id=hold.pk, actor=boss, reason="Strategic deal")
    assert hold.state == HoldState.AWAITING_SECOND_APPROVAL
    _refused_everywhere(
        boss,
        ui_url=reverse("exceptions:action", args=[hold.pk, "approve"]),
        api_url=f"/api/v1/holds/{hold.pk}/approve/",
        obj=hold,
        says="a different person must approve",
    )
    assert Hold.objects.get(pk=hold.pk).state == HoldState.AWAITING_SECOND_APPROVAL
    summary("maker-checker: own first approval", load="UI + API", result="pass")
