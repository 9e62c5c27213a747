"""Order pages as a user meets them: access, filters, paging, timeline, actions and form errors."""

import re
from decimal import Decimal
from urllib.parse import unquote

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order, OrderState
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_user(client):
    def login(user):
        client.force_login(user)
        return client

    return login


def test_pages_need_login(client, make_order):
    order = make_order()
    for url in [
        reverse("home"),
        reverse("orders:list"),
        reverse("orders:detail", args=[order.pk]),
        reverse("orders:create"),
    ]:
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_then_home(client, cs_user):
    response = client.post(
        reverse("login"), {"username": "cs", "password": "correct-horse-battery"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("home")
    assert b"Orders by status" in response.content
    assert b'href="/orders/new/"' in response.content  # customer service may enter orders


def test_user_without_role_is_refused_orders(as_user, roleless_user, make_order):
    client = as_user(roleless_user)
    assert client.get(reverse("orders:list")).status_code == 403
    assert b"no role yet" in client.get(reverse("home")).content


def test_list_filters_by_state_channel_and_search(as_user, cs_user, make_order, system_user):
    from orders.services import order_release

    acme = CustomerFactory(name="Acme Supply")
    globex = CustomerFactory(name="Globex")
    held = make_order(customer=acme, channel="edi")
    released = make_order(customer=globex, channel="portal")
    order_release(actor=system_user, order_id=released.pk, reason="touchless")
    client = as_user(cs_user)

    assert _numbers(client.get(reverse("orders:list"), {"state": "released"})) == [released.number]
    assert _numbers(client.get(reverse("orders:list"), {"channel": "edi"})) == [held.number]
    assert _numbers(client.get(reverse("orders:list"), {"q": "acme"})) == [held.number]
    assert _numbers(client.get(reverse("orders:list"), {"q": released.number})) == [released.number]
    assert _numbers(client.get(reverse("orders:list"), {"customer": globex.pk})) == [
        released.number
    ]
    empty = client.get(reverse("orders:list"), {"q": "no-such-order"})
    assert b"No orders match these filters" in empty.content


def test_bad_filter_shows_an_error(as_user, cs_user):
    response = as_user(cs_user).get(reverse("orders:list"), {"received_from": "not-a-date"})
    assert response.status_code == 200
    assert b"Enter a valid date" in response.content


def _numbers(response):
    assert response.status_code == 200
    rows = response.context["page"].rows
    return [order.number for order in rows]


def test_keyset_pages_cover_every_order_once_and_cost_the_same(
    as_user, manager_user, make_order, settings
):
    # given 7 orders and pages of 3
    settings.O2C_PAGE_SIZE = 3
    created = {make_order().number for _ in range(7)}
    client = as_user(manager_user)

    # when the user pages through with "Show more"
    seen, cursor, query_counts = [], None, []
    while True:
        if cursor:  # "Show more" asks htmx for the next rows only
            with CaptureQueriesContext(connection) as queries:
                response = client.get(
                    reverse("orders:list"), {"after": cursor}, HTTP_HX_REQUEST="true"
                )
            assert "<html" not in response.content.decode()
        else:
            with CaptureQueriesContext(connection) as queries:
                response = client.get(reverse("orders:list"))
        query_counts.append(len(queries))
        body = response.content.decode()
        seen += re.findall(r">(SO-\d+)</a>", body)
        match = re.search(r'hx-get="\?after=([^"]+)"', body)
        cursor = unquote(match.group(1)) if match else None
        if not cursor:
            break

    # then every order appears exactly once, and later pages cost no more queries than the first
    assert sorted(seen) == sorted(created) and len(seen) == 7
    assert max(query_counts[1:]) <= query_counts[0]


def test_list_query_count_does_not_grow_with_rows(as_user, manager_user, make_order):
    client = as_user(manager_user)
    make_order()
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("orders:list"))
    for _ in range(12):
        make_order(customer=CustomerFactory())
    with CaptureQueriesContext(connection) as many:
        response = client.get(reverse("orders:list"))
    assert len(response.context["page"].rows) == 13
    assert len(many) == len(few)


def test_htmx_filter_returns_only_the_results_fragment(as_user, cs_user, make_order):
    make_order()
    response = as_user(cs_user).get(
        reverse("orders:list"), {"state": "received"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="results">') and "<html" not in body
    assert response["Vary"] and "HX-Request" in response["Vary"]


def test_territory_user_sees_only_their_rows_and_cannot_guess_others(
    as_user, west_cs_user, make_order, customer, west_customer
):
    east_order = make_order(customer=customer)
    west_order = make_order(customer=west_customer)
    client = as_user(west_cs_user)
    assert _numbers(client.get(reverse("orders:list"))) == [west_order.number]
    assert client.get(reverse("orders:detail", args=[east_order.pk])).status_code == 403
    assert client.get(reverse("orders:detail", args=[west_order.pk])).status_code == 200


def test_detail_shows_lines_and_a_timeline_of_order_and_lines(
    as_user, cs_user, cs_user_2, make_order
):
    from orders.services import order_update_line

    order = make_order()
    line = order.lines.get(line_number=2)
    order_update_line(
        actor=cs_user_2,
        order_id=order.pk,
        line_id=line.pk,
        quantity=Decimal("6"),
        unit_price=line.unit_price,
        reason="customer added two",
    )
    response = as_user(cs_user).get(reverse("orders:detail", args=[order.pk]))
    body = response.content.decode()
    assert "SKU-A" in body and "SKU-B" in body
    timeline = response.context["timeline"]
    # newest first: the edit on line 2 by the second agent, with its reason and the change
    edit = next(e for e in timeline if e.subject == "Line 2" and e.action == "changed")
    assert edit.reason == "customer added two" and edit.who == "cs2"
    assert ("ordered qty", Decimal("4.000"), Decimal("6.000")) in edit.changes
    assert {e.subject for e in timeline} >= {f"Order {order.number}", "Line 1", "Line 2"}
    assert "customer added two" in body


def test_transition_from_page_moves_the_order(as_user, cs_user, make_order):
    order = make_order()
    client = as_user(cs_user)
    response = client.post(
        reverse("orders:transition", args=[order.pk]),
        {"transition": "cancel", "reason": "duplicate of SO-1"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "orders-changed" in response["HX-Trigger"]
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    assert b"is now cancelled" in response.content


def test_invalid_transition_from_page_says_why_and_changes_nothing(as_user, cs_user, make_order):
    order = make_order()
    client = as_user(cs_user)
    client.post(
        reverse("orders:transition", args=[order.pk]), {"transition": "cancel", "reason": "dup"}
    )
    history = Order.history.filter(id=order.pk).count()

    # a second cancel on the cancelled order
    response = client.post(
        reverse("orders:transition", args=[order.pk]),
        {"transition": "cancel", "reason": "again"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 409
    assert "is cancelled" in response.content.decode()
    assert Order.history.filter(id=order.pk).count() == history


def test_transition_without_reason_is_a_field_error(as_user, cs_user, make_order):
    order = make_order()
    response = as_user(cs_user).post(
        reverse("orders:transition", args=[order.pk]),
        {"transition": "cancel", "reason": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400
    assert b"This field is required" in response.content
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED


def test_transition_by_a_role_without_permission_is_forbidden(as_user, finance_user, make_order):
    order = make_order()
    response = as_user(finance_user).post(
        reverse("orders:transition", args=[order.pk]), {"transition": "cancel", "reason": "no"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED


def test_entry_form_creates_an_order(as_user, cs_user, customer, items):
    client = as_user(cs_user)
    response = client.post(
        reverse("orders:create"),
        {
            "customer": customer.pk,
            "channel": "inside_sales",
            "requested_date": "",
            "lines-TOTAL_FORMS": "2",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-sku": "sku-a",
            "lines-0-quantity": "3",
            "lines-0-unit_price": "",
            "lines-1-sku": "",
            "lines-1-quantity": "",
            "lines-1-unit_price": "",
        },
    )
    order = Order.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse(
        "orders:detail", args=[order.pk]
    )
    assert order.lines.get().ordered_qty == Decimal("3")


@pytest.mark.parametrize(
    "sku, quantity, price, error",
    [
        ("NOPE-1", "1", "", "Unknown SKU “NOPE-1”"),
        ("SKU-A", "-1", "", "greater than or equal to 0.001"),
        ("SKU-A", "1,5", "", "Enter a number"),
        ("SKU-A", "1", "12.3.4", "Enter a number"),
        ("SKU-A", "1", "-3", "greater than or equal to 0"),
    ],
)
def test_entry_form_rejects_bad_lines_with_field_errors(
    as_user, cs_user, customer, items, sku, quantity, price, error
):
    response = as_user(cs_user).post(
        reverse("orders:create"),
        {
            "customer": customer.pk,
            "channel": "inside_sales",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-sku": sku,
            "lines-0-quantity": quantity,
            "lines-0-unit_price": price,
        },
    )
    assert response.status_code == 400
    assert error in response.content.decode()
    assert not Order.objects.exists()


def test_entry_form_needs_a_line(as_user, cs_user, customer):
    response = as_user(cs_user).post(
        reverse("orders:create"),
        {
            "customer": customer.pk,
            "channel": "edi",
            "lines-TOTAL_FORMS": "1",
            "lines-INITIAL_FORMS": "0",
            "lines-MIN_NUM_FORMS": "0",
            "lines-MAX_NUM_FORMS": "200",
            "lines-0-sku": "",
            "lines-0-quantity": "",
            "lines-0-unit_price": "",
        },
    )
    assert response.status_code == 400 and b"Add at least one line" in response.content


def test_entry_is_refused_to_other_roles(as_user, credit_user):
    assert as_user(credit_user).get(reverse("orders:create")).status_code == 403


def test_line_edit_form_errors_change_nothing(as_user, cs_user, make_order):
    order = make_order()
    line = order.lines.first()
    response = as_user(cs_user).post(
        reverse("orders:line-edit", args=[order.pk, line.pk]),
        {"quantity": "-4", "unit_price": "abc", "reason": ""},
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "Enter a number" in body and "This field is required" in body
    line.refresh_from_db()
    assert line.ordered_qty == Decimal("10")


def test_unsafe_requests_need_csrf(cs_user, make_order):
    order = make_order()
    client = Client(enforce_csrf_checks=True)
    client.force_login(cs_user)
    response = client.post(
        reverse("orders:transition", args=[order.pk]), {"transition": "cancel", "reason": "x"}
    )
    assert response.status_code == 403
    order.refresh_from_db()
    assert order.state == OrderState.RECEIVED
