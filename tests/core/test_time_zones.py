"""Each person reads times in their own zone: chosen under Preferences, else
O2C_DEFAULT_TIME_ZONE; pages convert, the API stays as it was."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core.models import UserPreference
from core.timezones import SESSION_KEY
from tests.fixtures.factories import OrderFactory

pytestmark = pytest.mark.django_db

#: 15:30 UTC on a winter day: 10:30 in New York (EST), 00:30 the next day in Tokyo.
KNOWN = datetime(2026, 1, 15, 15, 30, tzinfo=ZoneInfo("UTC"))


def choose(user, zone: str) -> None:
    UserPreference.objects.create(user=user, time_zone=zone)


def test_order_list_shows_times_in_the_users_zone(client, manager_user):
    # given a manager in New York and an order received at a known UTC time
    choose(manager_user, "America/New_York")
    OrderFactory(received_at=KNOWN)
    client.force_login(manager_user)
    # when they open the order list
    body = client.get(reverse("orders:list")).content.decode()
    # then the time is New York's, and the header says which zone times are in
    assert "2026-01-15 10:30" in body and "2026-01-15 15:30" not in body
    assert "Times in America/New_York (EST)" in body


def test_without_a_preference_the_default_zone_applies(client, manager_user, settings):
    # given no preference and a default zone of Tokyo
    settings.O2C_DEFAULT_TIME_ZONE = "Asia/Tokyo"
    OrderFactory(received_at=KNOWN)
    client.force_login(manager_user)
    # when the manager opens the order list
    body = client.get(reverse("orders:list")).content.decode()
    # then the time is Tokyo's
    assert "2026-01-16 00:30" in body and "Times in Asia/Tokyo (JST)" in body


def test_the_default_default_is_utc(client, manager_user):
    OrderFactory(received_at=KNOWN)
    client.force_login(manager_user)
    body = client.get(reverse("orders:list")).content.decode()
    assert "2026-01-15 15:30" in body and "Times in UTC<" in body


def test_choosing_a_zone_applies_from_the_next_page_and_keeps_history(client, manager_user):
    # given a manager reading times in UTC
    OrderFactory(received_at=KNOWN)
    client.force_login(manager_user)
    url = reverse("preferences")
    assert 'value="UTC" selected' in client.get(url).content.decode()
    # when they choose New York
    response = client.post(url, {"time_zone": "America/New_York"}, follow=True)
    # then they are told, the order list shows New York's time, and history names them
    assert "Times are now shown in America/New_York." in response.content.decode()
    assert "2026-01-15 10:30" in client.get(reverse("orders:list")).content.decode()
    preference = UserPreference.objects.get(user=manager_user)
    assert str(preference.time_zone) == "America/New_York"
    (row,) = preference.history.all()
    assert row.history_user == manager_user
    assert row.history_change_reason == "Time zone set to America/New_York"


def test_an_unknown_zone_is_refused_clearly_and_changes_nothing(client, manager_user):
    # given a manager in New York
    choose(manager_user, "America/New_York")
    client.force_login(manager_user)
    # when they post a zone that does not exist
    response = client.post(reverse("preferences"), {"time_zone": "Mars/Olympus_Mons"})
    # then the form says so, and their zone is still New York, on the record and on the page
    assert response.status_code == 400
    assert "“Mars/Olympus_Mons” is not a time zone o2c knows" in response.content.decode()
    assert str(UserPreference.objects.get(user=manager_user).time_zone) == "America/New_York"
    assert UserPreference.history.count() == 1  # the row the test made; none from the post
    assert client.session[SESSION_KEY] == "America/New_York"
    assert "Times in America/New_York" in client.get(reverse("home")).content.decode()


def test_an_empty_choice_is_refused(client, manager_user):
    client.force_login(manager_user)
    response = client.post(reverse("preferences"), {"time_zone": ""})
    assert response.status_code == 400 and "Choose a time zone." in response.content.decode()
    assert not UserPreference.objects.exists()


def test_the_preferences_page_needs_sign_in_and_csrf(client, manager_user):
    assert client.get(reverse("preferences")).status_code == 302
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(manager_user)
    response = strict.post(reverse("preferences"), {"time_zone": "Europe/Berlin"})
    assert response.status_code == 403 and not UserPreference.objects.exists()


def test_finding_the_zone_costs_a_page_no_query(client, manager_user):
    # given a manager who chose a zone and signed in (sign-in puts it on the session)
    choose(manager_user, "Europe/Berlin")
    client.force_login(manager_user)
    assert client.session[SESSION_KEY] == "Europe/Berlin"
    # when they open a page, then no query reads their preference
    with CaptureQueriesContext(connection) as queries:
        body = client.get(reverse("orders:list")).content.decode()
    assert "Times in Europe/Berlin" in body
    table = UserPreference._meta.db_table
    assert not [q for q in queries if table in q["sql"]]


def test_a_session_without_the_zone_reads_it_once(client, manager_user):
    # given a session from before zones were remembered at sign-in
    choose(manager_user, "Europe/Berlin")
    client.force_login(manager_user)
    session = client.session
    del session[SESSION_KEY]
    session.save()
    table = UserPreference._meta.db_table
    # when two pages are opened, then the first reads the preference and the second does not
    for expected in (1, 0):
        with CaptureQueriesContext(connection) as queries:
            body = client.get(reverse("home")).content.decode()
        assert "Times in Europe/Berlin" in body
        assert len([q for q in queries if table in q["sql"]]) == expected


def test_the_api_keeps_its_times_as_they_were(client, manager_user):
    # given a manager in New York
    choose(manager_user, "America/New_York")
    order = OrderFactory(received_at=KNOWN)
    client.force_login(manager_user)
    # when they read the order over the API (signed in with their session)
    body = client.get(f"/api/v1/orders/{order.pk}/").json()
    # then its time is the same instant as before, in the server's zone
    assert datetime.fromisoformat(body["received_at"].replace("Z", "+00:00")) == KNOWN
    assert body["received_at"].endswith(("Z", "+00:00"))


def test_business_days_stay_time_zones_whoever_is_reading(settings):
    # given the server's days in UTC, and a request from a reader far east (already 16 January)
    from billing.services.invoicing import Window, consolidation_window
    from insights.kpis import KpiFilters
    from orders.models import Customer

    settings.TIME_ZONE = "UTC"
    utc = ZoneInfo("UTC")
    with timezone.override(ZoneInfo("Pacific/Kiritimati")):
        # when a daily billing window and a dashboard day are worked out during their request
        window = consolidation_window(Customer.BillingRule.CONSOLIDATED_DAILY, KNOWN)
        day = KpiFilters(start=KNOWN.date(), end=KNOWN.date())
    # then both are UTC days: yesterday's window is 14 January, the day starts at midnight UTC
    assert window == Window(
        start=datetime(2026, 1, 14, tzinfo=utc), end=datetime(2026, 1, 15, tzinfo=utc)
    )
    assert day.since == datetime(2026, 1, 15, tzinfo=utc)
