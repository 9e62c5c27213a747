"""Saved views: a list's filters kept under a name, private or shared with a role, a person's
default for a list, shown in the navigation menu with live counts under each person's own row
access; refusals change nothing."""

from datetime import timedelta
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from core.models import SavedView
from core.roles import Role
from exceptions.models import Hold
from orders.models import TerritoryAssignment
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


def _save(client, path, query, name, **extra):
    return client.post(
        reverse("saved-view-save"), {"path": path, "query": query, "name": name, **extra}
    )


def test_a_view_shared_with_a_role_counts_each_persons_own_rows(client, make_order):
    east, west = CustomerFactory(territory="EAST"), CustomerFactory(territory="WEST")
    for customer in (east, east, west):
        make_order(customer=customer)
    author = make_user("cs-all", Role.CUSTOMER_SERVICE)
    colleague = make_user("cs-east", Role.CUSTOMER_SERVICE)
    TerritoryAssignment.objects.create(user=colleague, territory="EAST")
    outsider = make_user("wh", Role.WAREHOUSE)

    client.force_login(author)
    saved = _save(client, "/orders/", "state=received&after=xyz&channel=", "New ones",
                  shared_role=Role.CUSTOMER_SERVICE)  # fmt: skip
    assert saved.status_code == 302 and saved["Location"] == "/orders/?state=received"
    view = SavedView.objects.get()
    assert (view.route, view.query, view.owner) == ("orders:list", "state=received", author)
    assert view.history.get().history_user == author

    menu = unescape(client.get(reverse("saved-views-menu")).content.decode())
    assert "New ones" in menu and '<span class="count">3</span>' in menu
    client.force_login(colleague)  # the same view, through the colleague's territories
    menu = unescape(client.get(reverse("saved-views-menu")).content.decode())
    assert "New ones" in menu and '<span class="count">2</span>' in menu
    page = client.get(reverse("saved-views")).content.decode()
    assert "by cs-all" in page and "Delete" not in page  # not theirs to delete
    client.force_login(outsider)
    assert "New ones" not in client.get(reverse("saved-views-menu")).content.decode()


def test_a_default_view_opens_the_bare_list(client, credit_user):
    client.force_login(credit_user)
    _save(client, "/queues/credit/", "overdue=on&sort=value", "Overdue", is_default="on")
    opened = client.get("/queues/credit/")
    assert (
        opened.status_code == 302 and opened["Location"] == "/queues/credit/?overdue=on&sort=value"
    )
    # a list opened with filters is left alone, and so is one cleared (its Clear link)
    assert client.get("/queues/credit/?sort=age").status_code == 200
    cleared = client.get("/queues/credit/?all=1")
    assert (
        cleared.status_code == 200
        and 'href="/queues/credit/?all=1">Clear' in cleared.content.decode()
    )
    _save(client, "/queues/credit/", "sort=age", "By age", is_default="on")
    assert SavedView.objects.filter(is_default=True).get().name == "By age"  # one default


def test_a_hold_queue_view_counts_the_holds_it_shows(client, credit_user, enter):
    late, fresh = enter(quantity="60"), enter(quantity="70")
    Hold.objects.filter(order=late).update(due_at=timezone.now() - timedelta(hours=1))
    client.force_login(credit_user)
    _save(client, "/queues/credit/", "overdue=on", "Overdue credit")
    menu = unescape(client.get(reverse("saved-views-menu")).content.decode())
    assert '<span class="count">1</span>' in menu
    Hold.objects.filter(order=fresh).update(due_at=timezone.now() - timedelta(hours=1))
    menu = unescape(client.get(reverse("saved-views-menu")).content.decode())
    assert '<span class="count">2</span>' in menu  # live


@pytest.mark.parametrize(
    "path, query, name, extra, message",
    [
        ("/cash/write-offs/", "", "Cash", {}, "This page cannot be saved as a view."),
        ("/orders/", "received_from=2026-02-01&received_to=2026-01-01", "Bad", {},
         "Fix the filters before saving them as a view."),
        ("/orders/", "state=received", "Shared", {"shared_role": Role.FINANCE},
         "You can share a view only with a role you have."),
        ("/orders/", "state=received", "   ", {}, "Give the view a name."),
    ],
)  # fmt: skip
def test_refusals_say_why_and_save_nothing(client, cs_user, path, query, name, extra, message):
    client.force_login(cs_user)
    response = _save(client, path, query, name, **extra)
    assert response.status_code == 302
    shown = unescape(client.get(response["Location"], follow=True).content.decode())
    assert message in shown
    assert not SavedView.objects.exists()


def test_only_the_owner_deletes_a_view(client, cs_user, cs_user_2):
    client.force_login(cs_user)
    _save(client, "/orders/", "state=received", "Mine", shared_role=Role.CUSTOMER_SERVICE)
    view = SavedView.objects.get()
    client.force_login(cs_user_2)
    shown = client.post(reverse("saved-view-delete", args=[view.pk]), follow=True)
    assert "Only the person who saved a view may delete it." in unescape(shown.content.decode())
    assert SavedView.objects.filter(pk=view.pk).exists()
    client.force_login(cs_user)
    client.post(reverse("saved-view-delete", args=[view.pk]))
    assert not SavedView.objects.exists()


def test_the_save_form_carries_the_filters_shown(client, cs_user):
    """Filters change by htmx without reloading the page: the form that saves them is swapped
    with the results, so it saves the filters on screen, not those the page opened with."""
    client.force_login(cs_user)
    swapped = client.get("/orders/?state=received&channel=edi", HTTP_HX_REQUEST="true")
    assert 'name="query" value="state=received&amp;channel=edi"' in swapped.content.decode()
