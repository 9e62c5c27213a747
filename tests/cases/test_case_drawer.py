"""The case queue's drawer: a case's link opens its page as a fragment (htmx) or a whole page,
through the same row access; the drawer's forms re-render the case's row in the list, say so,
and a case routed out of the user's queues leaves the list and closes the drawer."""

import json
import re

import pytest
from django.urls import reverse

from cases.models import Case, CaseState
from tests.cases.test_case_pages import _cases
from tests.cases.test_deductions import invoice, reasons

__all__ = ["invoice", "reasons"]  # fixtures shared with the service tests

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def case(invoice):
    _cases(1, invoice)  # in pricing's queue
    return Case.objects.get()


def _triggers(response) -> set[str]:
    return set(json.loads(response["HX-Trigger"]))


def test_a_row_is_light_and_opens_the_drawer(client, case, pricing_user):
    client.force_login(pricing_user)
    page = client.get(reverse("cases:queue")).content.decode()
    row = re.search(rf'<tbody id="case-{case.pk}".*?</tbody>', page, re.S).group(0)
    url = reverse("cases:case", args=[case.pk])
    # the case's link is both a page and the drawer's source; Claim is the one button
    assert f'href="{url}" hx-get="{url}" hx-target="#drawer-body"' in row
    assert re.findall(r"<button[^>]*>([^<]*)</button>", row) == ["Claim"]
    assert 'data-key="claim"' in row and 'tabindex="-1"' in row
    # and the page carries the drawer and the keys' help
    assert 'aria-label="Case details" data-refresh-on="cases-changed"' in page
    assert 'id="keys-help"' in page


def test_the_drawer_is_a_fragment_and_the_page_is_whole(client, case, pricing_user):
    client.force_login(pricing_user)
    url = reverse("cases:case", args=[case.pk])
    drawer = client.get(url, **HTMX)
    body = drawer.content.decode()
    # the drawer gets the case, its forms posting over htmx back into the drawer
    assert drawer.status_code == 200 and "<html" not in body
    assert "data-drawer-title" in body and "HX-Request" in drawer["Vary"]
    note_url = reverse("cases:note", args=[case.pk])
    assert f'hx-post="{note_url}" hx-target="#drawer-body"' in body
    claim_url = reverse("cases:claim", args=[case.pk])
    assert f'hx-post="{claim_url}" hx-target="#case-{case.pk}"' in body
    # without JavaScript the same URL is a whole page with plain forms
    page = client.get(url).content.decode()
    assert "<html" in page and "data-drawer-title" in page and "hx-post" not in page


@pytest.mark.parametrize("who", ["warehouse_user", "credit_user"])
def test_a_case_the_user_may_not_open_is_refused_in_the_drawer_too(client, case, who, request):
    # the warehouse works cases, but not pricing's; credit works none
    client.force_login(request.getfixturevalue(who))
    url = reverse("cases:case", args=[case.pk])
    for headers in ({}, HTMX):
        response = client.get(url, **headers)
        assert response.status_code == 403
        assert case.reason.name not in response.content.decode()


def test_a_note_from_the_drawer_renders_the_row(client, case, pricing_user):
    client.force_login(pricing_user)
    response = client.post(
        reverse("cases:note", args=[case.pk]), {"text": "Asked for the price list"}, **HTMX
    )
    # the answer is the case's row, aimed at the list, and the drawer reloads itself
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<tbody id="case-{case.pk}"')
    assert "Done: note added." in body
    assert response["HX-Retarget"] == f"#case-{case.pk}"
    assert response["HX-Reswap"] == "outerHTML"
    assert _triggers(response) == {"cases-changed"}
    assert case.notes.get().text == "Asked for the price list"


def test_a_refusal_in_the_drawer_stays_in_the_drawer(client, case, pricing_user):
    client.force_login(pricing_user)
    response = client.post(
        reverse("cases:resolve", args=[case.pk]),
        {"outcome": "valid", "amount": "999999", "root_cause": "price_file", "note": "x"},
        **HTMX,
    )
    # the drawer again, beside the inputs: not aimed at the row, and nothing changed
    assert response.status_code == 400
    body = response.content.decode()
    assert "<html" not in body and 'role="alert"' in body and "data-drawer-title" in body
    assert "HX-Retarget" not in response
    case.refresh_from_db()
    assert case.state == CaseState.OPEN and case.credit_memo is None


def test_a_case_routed_out_of_the_users_queues_leaves_the_list_and_closes_the_drawer(
    client, case, pricing_user
):
    client.force_login(pricing_user)
    response = client.post(
        reverse("cases:route", args=[case.pk]),
        {"reason": "DAMAGE", "note": "Damaged in transit, not a price"},
        **HTMX,
    )
    assert response.status_code == 200 and response.content == b""
    assert response["HX-Retarget"] == f"#case-{case.pk}"
    # only drawer-close: a reload on cases-changed would fetch a page now refused
    assert _triggers(response) == {"drawer-close"}
    case.refresh_from_db()
    assert case.queue == "warehouse"
    assert client.get(reverse("cases:case", args=[case.pk]), **HTMX).status_code == 403
