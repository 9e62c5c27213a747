"""The finance queue's drawer: a row is light (Approve with its reason, the rest in a menu), the
invoice's link opens its page as a fragment (htmx) or a whole page through the same row access,
and an approval from the drawer re-renders the invoice's row in the list."""

import re

import pytest
from django.urls import reverse

from billing.models import Invoice, InvoiceState
from orders.models import Customer, TerritoryAssignment
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pending(released_order, ship):
    """A customer's first invoice, waiting for finance."""
    order = released_order(lines=[("B", "4")])
    ship(order, {1: "4"})
    return Invoice.objects.get(lines__order_line__order=order)


def _outside_menu(row: str) -> str:
    return re.sub(r"<details.*?</details>", "", row, flags=re.S)


def test_a_row_offers_approve_and_a_menu(client, pending, finance_user):
    client.force_login(finance_user)
    page = client.get(reverse("billing:queue")).content.decode()
    row = re.search(rf'<tbody id="invoice-{pending.pk}".*?</tbody>', page, re.S).group(0)
    # one button outside the menu, the approval with its reason; voiding sits in the menu
    assert re.findall(r"<button[^>]*>([^<]*)</button>", _outside_menu(row)) == [
        "Approve and release"
    ]
    assert f'aria-label="Reason for invoice {pending.number}"' in _outside_menu(row)
    menu = re.search(r"<details.*?</details>", row, re.S).group(0)
    assert ">Void</button>" in menu and "yes, void it" in menu
    # the invoice's link opens the drawer; the page has it and the keys' help
    url = reverse("billing:invoice", args=[pending.pk])
    assert f'href="{url}" hx-get="{url}" hx-target="#drawer-body"' in row
    assert 'aria-label="Invoice details" data-refresh-on="invoices-changed"' in page
    assert 'id="keys-help"' in page


def test_the_drawer_is_a_fragment_and_the_page_is_whole(client, pending, finance_user):
    client.force_login(finance_user)
    url = reverse("billing:invoice", args=[pending.pk])
    approve = reverse("billing:action", args=[pending.pk, "approve"])
    drawer = client.get(url, **HTMX)
    body = drawer.content.decode()
    # the drawer: the invoice's lines and approvals, its actions aimed at its row in the list
    assert drawer.status_code == 200 and "<html" not in body
    assert 'aria-label="Invoice lines"' in body and "data-drawer-title" in body
    assert f'hx-post="{approve}" hx-target="#invoice-{pending.pk}"' in body
    assert "HX-Request" in drawer["Vary"]
    # without JavaScript: a whole page whose approval posts and comes back to it
    page = client.get(url).content.decode()
    assert "<html" in page and f'action="{approve}"' in page and "hx-post" not in page
    assert f'name="next" value="{url}"' in page


def test_an_invoice_the_user_may_not_open_is_refused_in_the_drawer_too(client, pending, cs_user):
    # customer service may not open invoices; finance of another territory may not open this one
    Customer.objects.filter(pk=pending.customer_id).update(territory="NORTHEAST")
    west = make_user("finance_west", "finance")
    TerritoryAssignment.objects.create(user=west, territory="WEST")
    url = reverse("billing:invoice", args=[pending.pk])
    for user in (cs_user, west):
        client.force_login(user)
        for headers in ({}, HTMX):
            response = client.get(url, **headers)
            assert response.status_code in (403, 404), (user, headers)
            assert pending.number not in response.content.decode()


def test_an_approval_from_the_drawer_renders_the_row(client, pending, finance_user):
    client.force_login(finance_user)
    url = reverse("billing:invoice", args=[pending.pk])
    response = client.post(
        reverse("billing:action", args=[pending.pk, "approve"]),
        {"reason": "PO verified", "next": url},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tbody id="invoice-{pending.pk}"')
    assert "Done: approve." in body and "invoices-changed" in response["HX-Trigger"]
    pending.refresh_from_db()
    assert pending.state != InvoiceState.PENDING_APPROVAL
