"""The cash queue's drawer: a row is light (accept the best candidate, or split when matching
found none; the rest in a menu), the payment's link opens its page as a fragment (htmx) or a
whole page through the same role check, and an action from the drawer re-renders the row."""

import re

import pytest
from django.urls import reverse

from receivables.models import PaymentState
from tests.receivables.test_queue_views import cash_user, invoices, suggested, unmatched

__all__ = ["cash_user", "invoices", "suggested", "unmatched"]  # fixtures shared

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def _row(client, payment) -> str:
    page = client.get(reverse("receivables:queue")).content.decode()
    return re.search(rf'<tbody id="payment-{payment.pk}".*?</tbody>', page, re.S).group(0)


def _outside_menu(row: str) -> str:
    return re.sub(r'<details class="row-menu".*</details>', "", row, flags=re.S)


def test_a_suggested_row_offers_its_best_candidate_and_a_menu(client, suggested, cash_user):
    client.force_login(cash_user)
    row = _row(client, suggested)
    # one button outside the menu: the best candidate; the candidates still say what they do
    assert re.findall(r"<button[^>]*>([^<]*)</button>", _outside_menu(row)) == [
        "Accept suggestion 1"
    ]
    assert suggested.candidates[0]["allocations"][0]["invoice"] in _outside_menu(row)
    menu = re.search(r'<details class="row-menu".*</details>', row, re.S).group(0)
    for label in ("Split across invoices", "Put on account", "Mark for refund"):
        assert f"<summary>{label}</summary>" in menu
    # and the payment's link opens the drawer
    url = reverse("receivables:payment", args=[suggested.pk])
    assert f'href="{url}" hx-get="{url}" hx-target="#drawer-body"' in row


def test_an_unmatched_row_offers_the_split(client, unmatched, cash_user):
    client.force_login(cash_user)
    row = _row(client, unmatched)
    # no candidate: the split is the primary action, on account and refund in the menu
    assert "<summary>Split across invoices</summary>" in _outside_menu(row)
    menu = re.search(r'<details class="row-menu".*</details>', row, re.S).group(0)
    assert "Split across" not in menu and "<summary>Put on account</summary>" in menu


def test_the_drawer_is_a_fragment_and_the_page_is_whole(client, suggested, cash_user):
    client.force_login(cash_user)
    url = reverse("receivables:payment", args=[suggested.pk])
    drawer = client.get(url, **HTMX)
    body = drawer.content.decode()
    # the drawer: the payment's remittance, matching and actions, aimed at its row in the list
    assert drawer.status_code == 200 and "<html" not in body
    assert "data-drawer-title" in body and 'aria-label="Matching"' in body
    assert f'hx-post="{url}accept/" hx-target="#payment-{suggested.pk}"' in body
    assert f'hx-post="{url}split/"' in body  # the drawer's forms are there, not fetched
    assert "HX-Request" in drawer["Vary"]
    page = client.get(url).content.decode()
    assert "<html" in page and "hx-post" not in page


def test_a_payment_is_refused_to_those_outside_cash_in_the_drawer_too(
    client, suggested, credit_user
):
    client.force_login(credit_user)
    url = reverse("receivables:payment", args=[suggested.pk])
    for headers in ({}, HTMX):
        response = client.get(url, **headers)
        assert response.status_code == 403
        assert suggested.payer_name not in response.content.decode()


def test_an_accept_from_the_drawer_renders_the_row(client, suggested, cash_user):
    client.force_login(cash_user)
    url = reverse("receivables:payment", args=[suggested.pk])
    response = client.post(f"{url}accept/", {"candidate": "0", "next": url}, **HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tbody id="payment-{suggested.pk}"')
    assert "Done: accepted." in body and "payments-changed" in response["HX-Trigger"]
    suggested.refresh_from_db()
    assert suggested.state == PaymentState.APPLIED
