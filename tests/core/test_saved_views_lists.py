"""Saved views of the cash and receivables lists: the case queue, the finance approval queue, the
invoice list, the payment queue and the collections worklist each save their filters, count
exactly the rows their page shows under the person's own access, open as a default, and count
nothing for a person the list now turns away."""

from datetime import timedelta
from html import unescape

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from cases.models import Case
from core.models import SavedView
from core.roles import Role
from dunning.services import accounts_refresh
from tests.cases.test_case_pages import _cases
from tests.cases.test_deductions import invoice, reasons
from tests.fixtures.billing import past_due_invoice
from tests.fixtures.factories import CustomerFactory
from tests.receivables.test_queue_views import cash_user, invoices, suggested

__all__ = ["cash_user", "invoice", "invoices", "reasons", "suggested"]  # fixtures used here

pytestmark = pytest.mark.django_db


def _save(client, path, query, name, **extra):
    response = client.post(
        reverse("saved-view-save"), {"path": path, "query": query, "name": name, **extra}
    )
    assert response.status_code == 302, response
    assert SavedView.objects.filter(name=name).exists(), unescape(
        client.get(response["Location"], follow=True).content.decode()
    )
    return response


def _menu(client) -> str:
    return unescape(client.get(reverse("saved-views-menu")).content.decode())


def _count_in_menu(client, name: str) -> str | None:
    """The count the navigation shows beside the view ``name`` (None: shown without one)."""
    menu = _menu(client)
    start = menu.index(f">{name}")
    entry = menu[start : menu.index("</a>", start)]
    return entry.split('<span class="count">')[1].split("<")[0] if "count" in entry else None


def test_a_case_view_counts_the_overdue_cases_its_queue_shows(client, invoice, pricing_user):
    _cases(3, invoice)
    late = Case.objects.order_by("pk").first()
    Case.objects.filter(pk=late.pk).update(due_at=timezone.now() - timedelta(hours=2))
    client.force_login(pricing_user)
    _save(client, "/cases/", "overdue=on", "Overdue pricing", is_default="on")
    assert _count_in_menu(client, "Overdue pricing") == "1"
    page = client.get("/cases/?overdue=on").content.decode()
    assert page.count('class="case work-row"') == 1  # the count is the page's own rows
    opened = client.get("/cases/")  # the default opens the bare queue
    assert opened.status_code == 302 and opened["Location"] == "/cases/?overdue=on"
    cleared = client.get("/cases/?all=1").content.decode()
    assert cleared.count('class="case work-row"') == 3 and 'href="/cases/?all=1">Clear' in cleared


def test_invoice_views_count_for_finance_and_nothing_once_the_role_is_gone(client, finance_user):
    customer = CustomerFactory(name="Granite Foods")
    waiting = past_due_invoice(customer, "100.00", days_past_due=3)
    past_due_invoice(customer, "250.00", days_past_due=3)
    Invoice.objects.filter(pk=waiting.pk).update(state="pending_approval")
    client.force_login(finance_user)
    _save(client, "/billing/invoices/", "state=released", "Released")
    _save(client, "/billing/finance/", "min_total=50", "Approvals over 50")
    assert _count_in_menu(client, "Released") == "1"
    assert _count_in_menu(client, "Approvals over 50") == "1"
    listed = client.get("/billing/finance/?min_total=50").content.decode()
    assert waiting.number in listed
    # a person who has left finance keeps their views, but they count nothing
    finance_user.groups.remove(Group.objects.get(name=Role.FINANCE))
    assert _count_in_menu(client, "Released") is None
    assert _count_in_menu(client, "Approvals over 50") is None


def test_a_payment_view_counts_the_payments_of_its_state(client, suggested, cash_user):
    client.force_login(cash_user)
    _save(client, "/cash/", "state=suggested", "Suggested")
    _save(client, "/cash/", "state=unmatched", "Unmatched")
    assert (_count_in_menu(client, "Suggested"), _count_in_menu(client, "Unmatched")) == ("1", "0")


@pytest.mark.usefixtures("dunning_defaults")
def test_a_collections_view_counts_the_accounts_its_search_finds(client, collections_user):
    past_due_invoice(CustomerFactory(name="Granite Foods"), "300.00", days_past_due=40)
    past_due_invoice(CustomerFactory(name="Harbor Supply"), "80.00", days_past_due=10)
    accounts_refresh()
    client.force_login(collections_user)
    _save(client, "/collections/", "q=Granite", "Granite", shared_role=Role.COLLECTIONS)
    assert _count_in_menu(client, "Granite") == "1"
    page = client.get("/collections/?q=Granite").content.decode()
    assert "Granite Foods" in page and "Harbor Supply" not in page
    refused = client.post(
        reverse("saved-view-save"),
        {"path": "/collections/", "query": "standing=nonsense", "name": "Bad"},
        follow=True,
    )
    assert "Fix the filters before saving them as a view." in unescape(refused.content.decode())
    assert not SavedView.objects.filter(name="Bad").exists()
