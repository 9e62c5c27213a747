"""The queue page's rows (``HoldRow``, read as values): the same holds, in the same order and with
the same figures as the holds themselves, paged without repeats, within the user's scope."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.errors import PermissionDenied
from exceptions import selectors
from exceptions.models import Hold
from exceptions.services import hold_claim

pytestmark = pytest.mark.django_db


def _rows(user, queue, size=50, **filters):
    return selectors.queue_rows(
        user=user, queue=queue, filters=selectors.HoldFilters(**filters), cursor=None, size=size
    )


def test_a_row_carries_what_its_hold_says(enter, manager_user, pricing_user):
    line_hold = enter(price="80").holds.get(reason__code="PRICE_BELOW_CONTRACT")
    hold_claim(hold_id=line_hold.pk, actor=pricing_user)
    hold = Hold.objects.select_related("order__customer", "line__item", "reason", "assignee").get(
        pk=line_hold.pk
    )
    assert hold.line_id is not None  # a line's hold: the row names the line and its item

    (row,) = _rows(manager_user, "pricing").rows

    assert (row.id, row.state, row.state_label, row.is_active) == (
        hold.pk,
        "claimed",
        "Claimed",
        True,
    )
    assert (row.order_id, row.order_number) == (hold.order_id, hold.order.number)
    assert (row.customer_name, row.customer_territory) == (
        hold.order.customer.name,
        hold.order.customer.territory,
    )
    assert (row.line_id, row.line_number, row.sku) == (
        hold.line_id,
        hold.line.line_number,
        hold.line.item.sku,
    )
    assert (row.reason, row.assignee_id, str(row.assignee)) == (
        hold.reason,
        pricing_user.pk,
        pricing_user.username,
    )
    assert (row.value_at_risk, row.priority_score, row.raised_at, row.due_at) == (
        hold.value_at_risk,
        hold.priority_score,
        hold.raised_at,
        hold.due_at,
    )
    assert (row.category, row.queue, row.escalation_level) == (
        hold.category,
        hold.queue,
        hold.escalation_level,
    )


@pytest.mark.parametrize("sort", list(selectors.SORTS))
def test_rows_come_in_the_queues_order_and_page_through_every_hold_once(enter, credit_user, sort):
    for quantity in ("53", "90", "61", "75", "58"):
        enter(quantity=quantity)
    expected = [
        hold.pk
        for hold in selectors.holds_for_queue(
            user=credit_user,
            queue="credit",
            filters=selectors.HoldFilters(sort=sort),
            cursor=None,
            size=50,
        ).rows
    ]
    assert len(expected) == 5

    seen, cursor = [], None
    while True:
        page = selectors.queue_rows(
            user=credit_user,
            queue="credit",
            filters=selectors.HoldFilters(sort=sort),
            cursor=cursor,
            size=2,
        )
        seen += [row.id for row in page.rows]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == expected


def test_a_row_outside_the_users_queues_is_refused(enter, credit_user):
    pricing_hold = enter(price="80").holds.get(reason__code="PRICE_BELOW_CONTRACT")
    with pytest.raises(PermissionDenied):
        selectors.queue_row(user=credit_user, hold_id=pricing_hold.pk)
    assert _rows(credit_user, "credit").rows == []


def test_the_page_shows_a_claimed_line_holds_line_item_and_assignee(client, enter, pricing_user):
    hold = enter(price="80").holds.get(reason__code="PRICE_BELOW_CONTRACT")
    client.force_login(pricing_user)
    response = client.post(
        reverse("exceptions:action", args=[hold.pk, "claim"]), HTTP_HX_REQUEST="true"
    )
    row = response.content.decode()
    assert response.status_code == 200 and "Done: claim." in row
    page = client.get(reverse("exceptions:queue", args=["pricing"])).content.decode()
    for body in (row, page):
        assert f"line 1 · {hold.line.item.sku}" in body
        assert f"<small>{pricing_user.username}</small>" in body
        assert "Correct to contract" in body and 'class="badge hold-claimed">Claimed<' in body


@pytest.mark.parametrize(
    ("sort", "bound"),
    [
        ("priority", '"priority_score" <='),
        ("age", '"raised_at" >='),
        ("value", '"value_at_risk" <='),
    ],
)
def test_a_later_page_starts_its_index_scan_at_the_cursor(enter, credit_user, sort, bound):
    """The cursor's leading value bounds the sort column, so PostgreSQL starts the partial
    index scan there; the "a < x OR (a = x AND id < y)" test alone is a filter over every
    earlier page's rows."""
    for quantity in ("53", "90", "61"):
        enter(quantity=quantity)
    first = _rows(credit_user, "credit", size=1, sort=sort)
    with CaptureQueriesContext(connection) as captured:
        later = selectors.queue_rows(
            user=credit_user,
            queue="credit",
            filters=selectors.HoldFilters(sort=sort),
            cursor=first.next_cursor,
            size=1,
        )
    (sql,) = [q["sql"] for q in captured if 'FROM "exceptions_hold"' in q["sql"]]
    assert bound in sql.split("WHERE", 1)[1]
    assert later.rows[0].id != first.rows[0].id
