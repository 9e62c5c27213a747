"""The work queues as analysts use them: access per role, actions in place, conflicts, bulk, counts."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.errors import PermissionDenied
from exceptions import selectors
from exceptions.models import Hold, HoldState
from orders.models import OrderState
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

QUEUES = ["credit", "pricing", "warehouse", "customer_service"]
ROLE_QUEUES = {
    "customer_service": {"customer_service"},
    "credit": {"credit"},
    "pricing": {"pricing"},
    "warehouse": {"warehouse"},
    "finance": set(),
    "integration_admin": set(),
    "manager": set(QUEUES),
}


@pytest.fixture
def credit_hold(enter):
    return enter(quantity="60").holds.get()


@pytest.mark.parametrize("role", list(ROLE_QUEUES))
def test_queue_access_for_every_role(client, role, credit_hold):
    client.force_login(make_user(f"u_{role}", role))
    for queue in QUEUES:
        response = client.get(reverse("exceptions:queue", args=[queue]))
        assert response.status_code == (200 if queue in ROLE_QUEUES[role] else 403), (role, queue)


@pytest.mark.parametrize(
    "action",
    [
        "claim",
        "unclaim",
        "release",
        "approve",
        "reject",
        "escalate",
        "correct_price",
        "approve_partial",
        "fix_master_data",
        "reevaluate",
        "cancel_line",
        "substitute",
        "reassign",
    ],
)
@pytest.mark.parametrize("role", list(ROLE_QUEUES) + ["anonymous"])
def test_credit_hold_actions_for_every_role(client, role, action, credit_hold):
    if role != "anonymous":
        client.force_login(make_user(f"u_{role}", role))
    response = client.post(
        reverse("exceptions:action", args=[credit_hold.pk, action]),
        {"reason": "test", "confirm_cancel": "on"},
        HTTP_HX_REQUEST="true",
    )
    if role == "anonymous":
        assert response.status_code == 302 and "/login/" in response["Location"]
    elif "credit" not in ROLE_QUEUES[role]:
        assert response.status_code == 403
    else:
        assert response.status_code in (200, 400, 409)  # allowed to try; the state decides
    if role == "anonymous" or "credit" not in ROLE_QUEUES[role]:
        credit_hold.refresh_from_db()
        assert credit_hold.state == HoldState.OPEN and credit_hold.escalation_level == 0


def test_anonymous_users_are_sent_to_login(client):
    for url in [
        reverse("exceptions:queue", args=["credit"]),
        reverse("exceptions:mine"),
        reverse("exceptions:counts"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and "/login/" in response["Location"]


def test_hold_appears_in_the_credit_queue_with_its_numbers(client, credit_user, credit_hold):
    client.force_login(credit_user)
    body = client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    assert credit_hold.order.number in body and "Exposure above credit limit" in body
    detail = client.get(
        reverse("exceptions:hold", args=[credit_hold.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "6,000.00 USD" in detail and "<html" not in detail  # exposure, as a fragment


def test_release_in_place_returns_the_row_and_refreshes_counts(client, credit_user, credit_hold):
    client.force_login(credit_user)
    response = client.post(
        reverse("exceptions:action", args=[credit_hold.pk, "release"]),
        {"reason": "Paid by wire"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and body.lstrip().startswith(
        f'<tbody id="hold-{credit_hold.pk}"'
    )
    assert "Released" in body and "holds-changed" in response["HX-Trigger"]
    credit_hold.refresh_from_db()
    assert credit_hold.state == HoldState.RELEASED
    assert credit_hold.order.state == OrderState.RELEASED
    counts = client.get(reverse("exceptions:counts")).content.decode()
    assert re.search(
        r'data-queue="credit">Credit <span class="count" aria-label="0 open">0</span>', counts
    )


def test_second_click_gets_a_clear_conflict(client, credit_user, credit_hold):
    client.force_login(credit_user)
    url = reverse("exceptions:action", args=[credit_hold.pk, "release"])
    client.post(url, {"reason": "first"}, HTTP_HX_REQUEST="true")
    second = client.post(url, {"reason": "second"}, HTTP_HX_REQUEST="true")
    assert second.status_code == 409
    assert re.search(
        r"Already released by credit at \d{4}-\d\d-\d\d \d\d:\d\d", second.content.decode()
    )


def test_action_without_reason_is_a_field_error(client, credit_user, credit_hold):
    client.force_login(credit_user)
    response = client.post(
        reverse("exceptions:action", args=[credit_hold.pk, "release"]),
        {"reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400 and "This field is required" in response.content.decode()
    credit_hold.refresh_from_db()
    assert credit_hold.state == HoldState.OPEN


def test_plain_form_post_works_without_javascript(client, credit_user, credit_hold):
    client.force_login(credit_user)
    next_url = reverse("exceptions:queue", args=["credit"])
    response = client.post(
        reverse("exceptions:action", args=[credit_hold.pk, "claim"]), {"next": next_url}
    )
    assert response.status_code == 302 and response["Location"] == next_url
    credit_hold.refresh_from_db()
    assert credit_hold.assignee == credit_user


def test_a_row_form_posted_without_javascript_carries_a_token_the_server_accepts(
    credit_user, credit_hold
):
    # given a browser without JavaScript, under real CSRF checks
    client = Client(enforce_csrf_checks=True)
    client.force_login(credit_user)
    url = reverse("exceptions:queue", args=["credit"])
    page = client.get(url).content.decode()
    row = page[page.index(f'<tbody id="hold-{credit_hold.pk}"') :]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', row).group(1)
    # when the analyst claims the hold with the row's own form
    response = client.post(
        reverse("exceptions:action", args=[credit_hold.pk, "claim"]),
        {"csrfmiddlewaretoken": token, "next": url, "reason": ""},
    )
    # then the claim is accepted and they are back on the queue
    assert response.status_code == 302 and response["Location"] == url
    credit_hold.refresh_from_db()
    assert credit_hold.assignee == credit_user


def test_rows_escape_what_upstream_systems_send(client, credit_user, enter):
    # given a customer whose name arrived from the ERP with markup in it
    name = '<img src=x onerror="alert(1)">'
    hold = enter(
        customer=CustomerFactory(name=name, credit_limit=Decimal("100")), quantity="60"
    ).holds.get()
    client.force_login(credit_user)
    # when the queue page and a re-rendered row show it
    page = client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    row = client.post(
        reverse("exceptions:action", args=[hold.pk, "claim"]), HTTP_HX_REQUEST="true"
    ).content.decode()
    # then it is shown as text, never as markup
    for body in (page, row):
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in body
        assert name not in body


def test_bulk_release_reports_each_row(client, credit_user, enter, superuser):
    held = [enter(quantity="60").holds.get() for _ in range(2)]
    big = enter(quantity="200").holds.get(reason__code="CREDIT_LIMIT")  # needs a second approver
    client.force_login(credit_user)
    response = client.post(
        reverse("exceptions:bulk", args=["credit"]),
        {
            "action": "release",
            "reason": "Month-end review",
            "holds": [h.pk for h in [*held, big]],
            "confirm": "on",  # after the preview (test_queue_drawer.py)
        },
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert response.status_code == 200 and "3 holds processed" in body
    assert {h.state for h in Hold.objects.filter(pk__in=[h.pk for h in held])} == {
        HoldState.RELEASED
    }
    assert Hold.objects.get(pk=big.pk).state == HoldState.AWAITING_SECOND_APPROVAL


def test_bulk_rows_outside_scope_fail_alone(client, credit_user, enter, west_customer):
    mine = enter(quantity="60").holds.get()
    west = make_user("credit_west", "credit")
    from orders.models import TerritoryAssignment

    TerritoryAssignment.objects.create(user=west, territory="WEST")
    client.force_login(west)
    west_hold = enter(
        customer=CustomerFactory(territory="WEST", credit_limit=Decimal("100"))
    ).holds.get()
    response = client.post(
        reverse("exceptions:bulk", args=["credit"]),
        {"action": "claim", "holds": [mine.pk, west_hold.pk]},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert (
        f"Hold {mine.pk}: Hold not found or not in your queues" in body
        and f"Hold {west_hold.pk}: done" in body
    )
    assert Hold.objects.get(pk=mine.pk).assignee is None


def test_territory_user_sees_only_their_territory(client, enter):
    west_user = make_user("credit_west", "credit")
    from orders.models import TerritoryAssignment

    TerritoryAssignment.objects.create(user=west_user, territory="WEST")
    east = enter(quantity="60").holds.get()
    west = enter(
        customer=CustomerFactory(territory="WEST", credit_limit=Decimal("100"))
    ).holds.get()
    client.force_login(west_user)
    page = client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    assert west.order.number in page and east.order.number not in page
    assert client.get(reverse("exceptions:hold", args=[east.pk])).status_code == 403
    with pytest.raises(PermissionDenied):  # nor is its row ever rendered for them
        selectors.queue_row(user=west_user, hold_id=east.pk)


def test_filters_sorting_and_my_work(client, credit_user, enter):
    small = enter(quantity="53").holds.get()
    large = enter(quantity="90").holds.get()
    client.force_login(credit_user)
    url = reverse("exceptions:queue", args=["credit"])
    by_value = client.get(url, {"sort": "value"}).content.decode()
    assert by_value.index(large.order.number) < by_value.index(small.order.number)
    assert small.order.number not in client.get(url, {"min_value": "6000"}).content.decode()
    client.post(reverse("exceptions:action", args=[small.pk, "claim"]), HTTP_HX_REQUEST="true")
    mine = client.get(reverse("exceptions:mine")).content.decode()
    assert small.order.number in mine and large.order.number not in mine
    unclaimed = client.get(url, {"unclaimed": "on"}).content.decode()
    assert large.order.number in unclaimed and small.order.number not in unclaimed
    assert (
        "must not exceed" in client.get(url, {"min_value": "5", "max_value": "1"}).content.decode()
    )


def test_queue_page_queries_do_not_grow_with_rows(client, manager_user, enter):
    enter(quantity="60")
    client.force_login(manager_user)
    url = reverse("exceptions:queue", args=["credit"])
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(8):
        enter(quantity="70")
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()
    assert body.count('class="hold work-row state-open"') == 9
    assert len(many) == len(few)


def test_order_page_shows_holds_and_their_history(client, cs_user, credit_user, credit_hold):
    from exceptions.services import hold_release

    hold_release(hold_id=credit_hold.pk, actor=credit_user, reason="Paid by wire")
    client.force_login(cs_user)
    body = client.get(reverse("orders:detail", args=[credit_hold.order_id])).content.decode()
    assert "Exposure above credit limit" in body and "OVERRIDE by credit" in body
    assert "Hold CREDIT_LIMIT" in body and "Paid by wire" in body


def test_customer_service_fixes_master_data_from_the_queue(client, cs_user_2, enter):
    customer = CustomerFactory(credit_limit=Decimal("5000"), payment_terms="", tax_region="")
    order = enter(customer=customer, ship_to=False)
    hold = order.holds.get()
    assert hold.context["missing"] == ["ship_to", "payment_terms", "tax_region"]
    from tests.fixtures.factories import ShipToFactory

    dock = ShipToFactory(customer=customer, name="North dock")
    client.force_login(cs_user_2)
    detail = client.get(
        reverse("exceptions:hold", args=[hold.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "Fix master data" in detail and "North dock" in detail

    # a bad value is refused and changes nothing
    bad = client.post(
        reverse("exceptions:action", args=[hold.pk, "fix_master_data"]),
        {"payment_terms": "NET999", "reason": "x"},
        HTTP_HX_REQUEST="true",
    )
    assert bad.status_code == 400 and "Select a valid choice" in bad.content.decode()

    response = client.post(
        reverse("exceptions:action", args=[hold.pk, "fix_master_data"]),
        {
            "payment_terms": "NET30",
            "tax_region": "us-ny",
            "ship_to": dock.pk,
            "reason": "Confirmed with the buyer",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200 and "Released" in response.content.decode()
    order.refresh_from_db()
    assert order.state == OrderState.RELEASED and order.ship_to == dock
    assert Hold.objects.get(pk=hold.pk).resolution_code == "CLEARED"


def test_managers_read_escalation_notices_in_the_app(client, manager_user, enter):
    from datetime import timedelta

    from exceptions.services import holds_escalate_overdue

    hold = enter(quantity="60").holds.get()
    holds_escalate_overdue(now=hold.due_at + timedelta(minutes=5))
    client.force_login(manager_user)
    home = client.get(reverse("home")).content.decode()
    assert "Notifications (1)" in home
    page = client.get(reverse("exceptions:notifications")).content.decode()
    assert "escalated to level 1" in page and hold.order.number in page
    client.post(reverse("exceptions:notifications"))
    assert "Notifications (1)" not in client.get(reverse("home")).content.decode()


def test_reassign_from_the_expanded_row(client, credit_user, credit_hold):
    colleague = make_user("credit_b", "credit")
    client.force_login(credit_user)
    detail = client.get(
        reverse("exceptions:hold", args=[credit_hold.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "AR aging" in detail and "Stock by warehouse" in detail and "credit_b" in detail
    response = client.post(
        reverse("exceptions:action", args=[credit_hold.pk, "reassign"]),
        {"to_user": colleague.pk, "reason": "Her account"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    credit_hold.refresh_from_db()
    assert credit_hold.assignee == colleague and credit_hold.state == HoldState.CLAIMED


def test_queue_page_summarises_open_holds_by_age_and_sla(client, credit_user, enter):
    from datetime import timedelta

    from django.utils import timezone

    fresh = enter(quantity="60").holds.get()
    old = enter(quantity="70").holds.get()
    # test setup: age one hold by two days (past its 24 h SLA)
    Hold.objects.filter(pk=old.pk).update(
        raised_at=timezone.now() - timedelta(days=2), due_at=timezone.now() - timedelta(days=1)
    )
    client.force_login(credit_user)
    # The page loads its header after the rows (and again when holds change): counting a whole
    # queue grows with it, the page must not.
    page = client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    url = reverse("exceptions:summary", args=["credit"])
    assert f'hx-get="{url}"' in page and "holds-changed from:body" in page
    assert 'aria-label="Queue summary"' not in page
    body = client.get(url, HTTP_HX_REQUEST="true").content.decode()
    summary = body.split('aria-label="Queue summary"')[1].split("</p>")[0]
    assert "<strong>2</strong> open" in summary
    assert '<strong class="warn">1</strong> past SLA' in summary
    assert "0–4 h <strong>1</strong>" in summary and "1–3 d <strong>1</strong>" in summary
    assert fresh.pk != old.pk


def test_queue_summary_keeps_to_the_users_queues(client, credit_user, enter):
    hold = enter(quantity="60").holds.get()
    client.force_login(credit_user)
    assert client.get(reverse("exceptions:summary", args=["pricing"])).status_code == 403
    assert client.get(reverse("exceptions:summary", args=["nosuch"])).status_code == 404
    # "My work" counts only what the user has claimed
    mine = reverse("exceptions:mine_summary")
    assert "<strong>0</strong> open" in client.get(mine).content.decode()
    client.post(reverse("exceptions:action", args=[hold.pk, "claim"]), HTTP_HX_REQUEST="true")
    assert "<strong>1</strong> open" in client.get(mine).content.decode()
