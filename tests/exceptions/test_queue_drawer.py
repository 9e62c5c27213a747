"""The analyst's queue, light rows and a drawer: a row carries one primary action and a menu, a
hold's link opens its drawer (its page without JavaScript), and a bulk release is previewed,
changing nothing, before it is confirmed."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from exceptions.models import Hold, HoldState
from exceptions.services import hold_claim
from orders.models import Order
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


def _row(body: str, hold: Hold) -> str:
    match = re.search(rf'<tbody id="hold-{hold.pk}".*?</tbody>', body, re.S)
    assert match, f"no row for hold {hold.pk}"
    return match.group(0)


def _outside_menu(row: str) -> str:
    return re.sub(r"<details.*?</details>", "", row, flags=re.S)


def test_an_open_row_offers_claim_and_a_menu(client, credit_user, enter):
    # given an open credit hold
    hold = enter(quantity="60").holds.get()
    client.force_login(credit_user)
    # when the analyst opens the queue
    row = _row(client.get(reverse("exceptions:queue", args=["credit"])).content.decode(), hold)
    # then the row shows one action, Claim, and the rest sits in its menu
    visible = _outside_menu(row)
    assert re.findall(r"<button[^>]*>([^<]*)</button>", visible) == ["Claim"]
    assert f'aria-label="More actions for hold {hold.pk}"' in row
    menu = re.search(r"<details.*?</details>", row, re.S).group(0)
    for label in ("Release", "Escalate", "Reject"):
        assert f">{label}</button>" in menu
    # and the hold's link opens its drawer, with its own URL for a page without JavaScript
    url = reverse("exceptions:hold", args=[hold.pk])
    assert f'href="{url}" hx-get="{url}" hx-target="#drawer-body"' in row
    assert "hold-detail" not in row  # the numbers are no longer expanded in the row


def test_a_claimed_row_offers_its_decision(client, credit_user, enter):
    # given a hold the analyst has claimed, and one a colleague has
    mine, theirs = enter(quantity="60").holds.get(), enter(quantity="70").holds.get()
    hold_claim(hold_id=mine.pk, actor=credit_user)
    hold_claim(hold_id=theirs.pk, actor=make_user("credit_2", "credit"))
    client.force_login(credit_user)
    body = client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    # then the analyst's own row shows the release, with its reason, and no claim
    visible = _outside_menu(_row(body, mine))
    assert re.findall(r"<button[^>]*>([^<]*)</button>", visible) == ["Release"]
    assert f'aria-label="Reason for hold {mine.pk}"' in visible
    # and a colleague's claim shows no primary action at all: it is theirs to decide
    assert re.findall(r"<button[^>]*>([^<]*)</button>", _outside_menu(_row(body, theirs))) == []


def test_the_drawer_is_a_fragment_with_the_actions_and_the_page_is_whole(
    client, credit_user, enter
):
    hold = enter(quantity="60").holds.get()
    client.force_login(credit_user)
    url = reverse("exceptions:hold", args=[hold.pk])
    # when the drawer asks for the hold (htmx)
    drawer = client.get(url, HTTP_HX_REQUEST="true")
    body = drawer.content.decode()
    # then it gets the hold's context and its actions, aimed at the hold's row in the list
    assert drawer.status_code == 200 and "<html" not in body
    assert 'id="hold-title"' in body and 'aria-label="Numbers behind the hold"' in body
    assert f'hx-post="{url}release/" hx-target="#hold-{hold.pk}"' in body
    assert "HX-Request" in drawer["Vary"]
    # and without JavaScript the same URL is a whole page, whose forms post and come back
    page = client.get(url).content.decode()
    assert "<html" in page and 'id="hold-title"' in page
    actions = page.split('id="hold-title"')[1].split("</header>")[0]
    assert f'action="{url}release/"' in actions and "hx-post" not in actions
    assert f'name="next" value="{url}"' in page


def test_an_action_from_the_drawer_renders_the_row(client, credit_user, enter):
    hold = enter(quantity="60").holds.get()
    client.force_login(credit_user)
    response = client.post(
        reverse("exceptions:action", args=[hold.pk, "claim"]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tbody id="hold-{hold.pk}"')
    assert Hold.objects.get(pk=hold.pk).state == HoldState.CLAIMED


@pytest.fixture
def selection(enter, credit_user):
    """Five credit holds: two that release, one above the maker-checker amount, one a colleague
    has claimed, and one on an order the analyst entered (maker-checker)."""
    plain = [enter(quantity="60").holds.get(), enter(quantity="70").holds.get()]
    big = enter(quantity="200").holds.get(reason__code="CREDIT_LIMIT")
    theirs = enter(quantity="80").holds.get()
    hold_claim(hold_id=theirs.pk, actor=make_user("credit_2", "credit"))
    own = enter(quantity="90").holds.get()
    # as if the analyst had entered it (a credit analyst cannot enter orders here)
    Order.objects.filter(pk=own.order_id).update(entered_by=credit_user)
    return {"plain": plain, "big": big, "theirs": theirs, "own": own}


def _post_bulk(client, holds, **extra):
    return client.post(
        reverse("exceptions:bulk", args=["credit"]),
        {"action": "release", "reason": "Month-end review", "holds": holds, **extra},
        HTTP_HX_REQUEST="true",
    )


def _snapshot():
    return (
        sorted(Hold.objects.values_list("pk", "state", "assignee_id", "approval_amount")),
        Hold.history.count(),
    )


def test_bulk_release_preview_lists_what_would_happen_and_changes_nothing(
    client, credit_user, selection
):
    plain, big, theirs, own = (selection[k] for k in ("plain", "big", "theirs", "own"))
    ids = [*(h.pk for h in plain), big.pk, theirs.pk, own.pk, 999999]
    client.force_login(credit_user)
    before = _snapshot()
    # when the analyst asks to release the selection
    with CaptureQueriesContext(connection) as queries:
        response = _post_bulk(client, ids)
    body = response.content.decode()
    # then nothing was written: no statement but reads, the holds and their history as they were
    writes = [q["sql"] for q in queries if re.match(r"\s*(INSERT|UPDATE|DELETE)", q["sql"], re.I)]
    assert writes == [] and _snapshot() == before
    assert "HX-Trigger" not in response  # nothing changed, so no counter refreshes
    # and the preview says which rows act, which are refused and why, and the value
    assert response.status_code == 200 and "Nothing has changed yet" in body
    acting = body.split('aria-label="Will act"')[1].split("</table>")[0]
    refused = body.split('aria-label="Will be refused"')[1].split("</table>")[0]
    for hold in plain:
        assert f"<td>Hold {hold.pk} · order" in acting
    assert f"<td>Hold {big.pk} · order" in acting and "waits for a second approver" in acting
    assert f"<td>Hold {theirs.pk} · order" in refused and "Claimed by credit_2" in refused
    assert f"<td>Hold {own.pk} · order" in refused and "someone else must release" in refused
    assert "<td>999999</td>" in refused and "not in your queues" in refused
    assert "<strong>3</strong> will act, <strong>3</strong> will be refused" in body
    total = sum(h.value_at_risk for h in [*plain, big])
    assert f"{total:,.2f} USD" in body.split('class="bulk-total"')[1].split("</p>")[0]
    # and "Confirm" carries only the rows that act
    confirm = body.split("<form")[1]
    assert sorted(int(v) for v in re.findall(r'name="holds" value="(\d+)"', confirm)) == sorted(
        [*(h.pk for h in plain), big.pk]
    )
    assert 'name="confirm" value="on"' in confirm


def test_bulk_release_confirmed_acts_as_previewed(client, credit_user, selection):
    plain, big = selection["plain"], selection["big"]
    client.force_login(credit_user)
    # when the analyst confirms the preview's rows
    response = _post_bulk(client, [*(h.pk for h in plain), big.pk], confirm="on")
    # then they act: released, or waiting for a second approver, as the preview said
    assert response.status_code == 200 and "3 holds processed" in response.content.decode()
    assert "holds-changed" in response["HX-Trigger"]
    states = dict(Hold.objects.values_list("pk", "state"))
    assert [states[h.pk] for h in plain] == [HoldState.RELEASED, HoldState.RELEASED]
    assert states[big.pk] == HoldState.AWAITING_SECOND_APPROVAL
    assert states[selection["theirs"].pk] == HoldState.CLAIMED


def test_bulk_release_preview_without_javascript_is_a_page(client, credit_user, selection):
    client.force_login(credit_user)
    before = _snapshot()
    response = client.post(
        reverse("exceptions:bulk", args=["credit"]),
        {"action": "release", "reason": "Month-end", "holds": [selection["plain"][0].pk]},
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and "Confirm: release 1" in body
    assert _snapshot() == before


def test_bulk_release_preview_needs_a_reason_first(client, credit_user, selection):
    client.force_login(credit_user)
    before = _snapshot()
    response = _post_bulk(client, [selection["plain"][0].pk], reason="")
    assert response.status_code == 400 and "A reason is required" in response.content.decode()
    assert _snapshot() == before


def test_the_full_hold_page_forms_post_back_to_it(client, credit_user, enter):
    """Opened as a page (no drawer, no row to swap), the hold's own forms are plain posts that
    come back to the page; in the drawer they swap the hold's row in the list."""
    hold = enter(quantity="60").holds.get()
    colleague = make_user("credit2", "credit")
    client.force_login(credit_user)
    url = reverse("exceptions:hold", args=[hold.pk])
    page = client.get(url).content.decode()
    form = re.search(r"<form[^>]*'?reassign/?'?[^>]*>.*?</form>", page, re.S).group(0)
    assert "hx-post" not in form and f'name="next" value="{url}"' in form
    drawer = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    form = re.search(r"<form[^>]*reassign[^>]*>.*?</form>", drawer, re.S).group(0)
    assert f'hx-target="#hold-{hold.pk}"' in form and 'name="next"' not in form

    done = client.post(
        reverse("exceptions:action", args=[hold.pk, "reassign"]),
        {"to_user": colleague.pk, "reason": "She knows the customer", "next": url},
    )
    assert done.status_code == 302 and done["Location"] == url
    hold.refresh_from_db()
    assert hold.assignee == colleague
