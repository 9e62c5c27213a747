"""The home page per person: each role sees its own work, every figure links to the list that
shows those items, "new" counts from the previous visit, managers see the SLA breaches across
queues, and the page's query count does not grow with the rows."""

import importlib
import re
from datetime import date, timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from cases.models import Case, CaseReason
from core.models import HomeVisit
from core.roles import Role
from core.visits import SAME_VISIT
from exceptions.models import Hold, HoldReason
from tests.fixtures.factories import CustomerFactory, OrderFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

_case_reasons = importlib.import_module("cases.migrations.0002_seed_reasons")
H = timedelta(hours=1)


def _hold(code="CREDIT_LIMIT", *, due, raised=None, assignee=None, state=None, **extra):
    now = timezone.now()
    reason = HoldReason.objects.get(code=code)
    order = OrderFactory(customer=CustomerFactory(), state="on_hold")
    return Hold.objects.create(
        order=order,
        reason=reason,
        category=reason.category,
        queue=reason.queue,
        state=state or ("claimed" if assignee else "open"),
        assignee=assignee,
        raised_at=raised or now - 10 * H,
        due_at=now + due,
        value_at_risk=Decimal("100.00"),
        **extra,
    )


@pytest.fixture
def invoice(db):
    customer = CustomerFactory()
    return Invoice.objects.create(
        number="INV-H1",
        customer=customer,
        billing_rule="immediate",
        issued_on=date.today(),
        due_date=date.today() + timedelta(days=30),
        created_at=timezone.now(),
        state="released",
        total=Decimal("100.00"),
    )


def _case(invoice, code="PRICING", *, due, opened=None, claimed_by=None):
    _case_reasons.seed(django_apps, None)
    reason = CaseReason.objects.get(code=code)
    now = timezone.now()
    return Case.objects.create(
        kind=Case.Kind.DEDUCTION,
        customer=invoice.customer,
        invoice=invoice,
        amount=Decimal("5.00"),
        currency="USD",
        reason=reason,
        queue=reason.queue,
        opened_at=opened or now - 10 * H,
        due_at=now + due,
        state="claimed" if claimed_by else "open",
        claimed_by=claimed_by,
    )


def _home(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home"))
    assert response.status_code == 200
    return response.content.decode()


def _figure_link(page: str, label: str) -> str:
    """The href of the figure whose aria-label reads ``label`` (e.g. "1 overdue in holds ·
    Credit")."""
    match = re.search(r'<a href="([^"]+)"[^>]*aria-label="' + re.escape(label) + '"', page)
    assert match, f"no figure {label!r} on the page"
    return unescape(match.group(1))


def test_an_overdue_credit_hold_counts_for_credit_links_to_the_overdue_filter_and_not_pricing(
    client, hold_policy, credit_user, pricing_user
):
    # given an overdue credit hold and a credit hold still within its SLA
    late = _hold(due=-2 * H)
    on_time = _hold(due=20 * H)
    # when the credit analyst opens her home page
    page = _home(client, credit_user)
    # then her credit queue shows one overdue of two open, linked to the overdue filter
    url = _figure_link(page, "1 overdue in holds · Credit")
    assert url == "/queues/credit/?overdue=on"
    assert _figure_link(page, "2 open in holds · Credit") == "/queues/credit/"
    # and that list shows the overdue hold's order and not the other
    listed = client.get(url).content.decode()
    assert late.order.number in listed and on_time.order.number not in listed
    # and the pricing analyst's home has no credit queue and neither order
    pricing_page = _home(client, pricing_user)
    assert "Holds · Credit" not in pricing_page
    assert _figure_link(pricing_page, "0 overdue in holds · Pricing")
    assert late.order.number not in pricing_page


def test_due_soon_counts_holds_due_within_four_hours_and_its_link_lists_them(
    client, hold_policy, credit_user
):
    # given holds due in 2 h, in 6 h, and one already overdue
    soon = _hold(due=2 * H)
    later = _hold(due=6 * H)
    late = _hold(due=-1 * H)
    page = _home(client, credit_user)
    url = _figure_link(page, "1 due soon in holds · Credit")
    listed = client.get(url).content.decode()
    assert soon.order.number in listed
    assert later.order.number not in listed and late.order.number not in listed


def test_claimed_items_are_listed_and_counted_with_a_link_to_my_work(
    client, hold_policy, credit_user, manager_user
):
    # given a credit hold the analyst claimed and one a manager claimed
    mine = _hold(due=3 * H, assignee=credit_user)
    theirs = _hold(due=3 * H, assignee=manager_user)
    page = _home(client, credit_user)
    claimed = page.split('id="claimed-heading"')[1].split("</section>")[0]
    assert mine.order.number in claimed and theirs.order.number not in claimed
    assert 'href="/queues/mine/"' in claimed and "<strong>1</strong> holds claimed by me" in claimed
    assert _figure_link(page, "1 claimed by me in holds · Credit") == "/queues/credit/?mine=on"


def test_new_since_my_last_visit_counts_from_the_previous_visit_and_links_to_them(
    client, hold_policy, credit_user
):
    # given a first visit: nothing is counted as new, and it says why
    page = _home(client, credit_user)
    assert "This is your first visit" in page
    visit = HomeVisit.objects.get(user=credit_user)
    # and that visit was three hours ago; a hold was raised since, another before it
    three_hours_ago = timezone.now() - 3 * H
    visit.seen_at = three_hours_ago
    visit.save()
    fresh = _hold(due=5 * H, raised=timezone.now() - H)
    old = _hold(due=5 * H, raised=timezone.now() - 5 * H)
    # when she comes back
    page = _home(client, credit_user)
    # then one hold is new, linked to the queue filtered to holds raised since that visit
    url = _figure_link(page, "1 new in holds · Credit")
    listed = client.get(url).content.decode()
    assert fresh.order.number in listed and old.order.number not in listed
    # and a reload a minute later keeps the same baseline (the same visit)
    again = _home(client, credit_user)
    assert _figure_link(again, "1 new in holds · Credit") == url
    visit.refresh_from_db()
    assert visit.previous_at == three_hours_ago
    assert timezone.now() - visit.seen_at < SAME_VISIT


def test_what_i_did_today_counts_my_decisions_only(client, hold_policy, credit_user, manager_user):
    now = timezone.now()
    _hold(due=H, state="released", resolved_by=credit_user, resolved_at=now)
    _hold(due=H, state="rejected", resolved_by=credit_user, resolved_at=now)
    _hold(due=H, state="released", resolved_by=manager_user, resolved_at=now)
    _hold(due=H, state="released", resolved_by=credit_user, resolved_at=now - timedelta(days=2))
    page = _home(client, credit_user)
    done = page.split('id="done-heading"')[1].split("</section>")[0]
    assert "<strong>1</strong> holds released" in done
    assert "<strong>1</strong> holds rejected" in done


def test_nothing_decided_today_says_so(client, hold_policy, credit_user):
    page = _home(client, credit_user)
    assert "Nothing decided yet today." in page
    assert "You have nothing claimed." in page


def test_an_overdue_case_counts_in_its_queue_and_links_to_the_case_list(
    client, invoice, pricing_user, warehouse_user
):
    late = _case(invoice, due=-H)
    _case(invoice, due=30 * H)
    page = _home(client, pricing_user)
    url = _figure_link(page, "1 overdue in cases · Pricing")
    assert url == "/cases/?queue=pricing&overdue=on"
    listed = client.get(url).content.decode()
    assert f'href="/cases/{late.pk}/"' in listed
    assert listed.count("<tr") - 1 == 1  # the header row and the one overdue case
    # the warehouse's home counts no pricing case
    assert "Cases · Pricing" not in _home(client, warehouse_user)


def test_manager_sees_sla_breaches_across_queues_oldest_first(
    client, hold_policy, invoice, manager_user, credit_user
):
    # given a credit hold 1 h late, a pricing hold 5 h late and a pricing case 3 h late
    credit_late = _hold(due=-H)
    pricing_late = _hold("PRICE_BELOW_CONTRACT", due=-5 * H)
    case_late = _case(invoice, due=-3 * H)
    page = _home(client, manager_user)
    sla = page.split('id="sla-heading"')[1].split("</section>")[0]
    # then the queues past SLA are listed, the longest overdue first, each linked to its list
    order = [sla.index(label) for label in ("Holds · Pricing", "Cases · Pricing", "Holds · Credit")]
    assert order == sorted(order)
    assert 'href="/queues/pricing/?overdue=on"' in sla
    assert 'href="/cases/?queue=pricing&amp;overdue=on"' in sla
    # and the items themselves, oldest first
    items = sla.split('class="breaches"')[1]
    positions = [
        items.index(pricing_late.order.number),
        items.index(f"Case {case_late.pk}"),
        items.index(credit_late.order.number),
    ]
    assert positions == sorted(positions)
    # an analyst has no SLA section
    assert 'id="sla-heading"' not in _home(client, credit_user)


def test_manager_home_is_calm_when_every_queue_is_within_sla(client, hold_policy, manager_user):
    _hold(due=5 * H)
    assert "Every queue is within its SLA." in _home(client, manager_user)


# role -> (sections it must show, sections it must not show)
ROLE_PAGES = {
    Role.CREDIT: (["Holds · Credit"], ["Orders by status", "Past SLA", "Cases ·", "Task worker"]),
    Role.PRICING: (["Holds · Pricing", "Cases · Pricing"], ["Orders by status", "Holds · Credit"]),
    Role.WAREHOUSE: (["Holds · Warehouse", "Cases · Warehouse"], ["Orders by status"]),
    Role.CUSTOMER_SERVICE: (
        ["Holds · Customer service", "Orders by status", "Orders likely to ship late"],
        ["Past SLA", "Invoices waiting"],
    ),
    Role.FINANCE: (
        ["Holds · Finance", "Cases · Finance", "Invoices waiting for approval"],
        ["Orders by status", "Payments"],
    ),
    Role.CASH_APPLICATION: (
        ["Cases · Cash application", "Payments unmatched"],
        ["Orders by status", "Holds ·"],
    ),
    Role.COLLECTIONS: (
        ["Accounts past due", "Past-due accounts with an open task"],
        ["Orders by status", "Holds ·", "Cases ·"],
    ),
    Role.INTEGRATION_ADMIN: (
        ["Holds · Integration", "Inbound dead letters", "Task worker"],
        ["Orders by status", "Cases ·"],
    ),
    Role.MANAGER: (
        ["Holds · Credit", "Cases · Pricing", "Orders by status", "Past SLA across queues"],
        [],
    ),
}


@pytest.mark.parametrize("role", list(ROLE_PAGES))
def test_each_role_sees_its_own_work(client, hold_policy, role):
    shown, hidden = ROLE_PAGES[role]
    page = _home(client, make_user(f"home-{role}", role))
    for text in shown:
        assert text in page, text
    for text in hidden:
        assert text not in page, text


def test_other_work_figures_link_to_their_lists(client, hold_policy, manager_user):
    page = _home(client, manager_user)
    for href in (
        "/billing/finance/",
        "/cash/?state=unmatched",
        "/collections/?tasks=on",
        "/orders/at-risk/",
        "/integrations/inbox/?state=dead",
        "/integrations/outbox/?state=dead",
    ):
        assert f'href="{href}"' in page, href
        assert client.get(href).status_code == 200, href


def test_a_person_with_no_role_sees_the_message_and_no_visit_is_kept(client, roleless_user):
    page = _home(client, roleless_user)
    assert "Your account has no role yet." in page
    assert not HomeVisit.objects.filter(user=roleless_user).exists()


def _home_queries(client, user) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(reverse("home")).status_code == 200
    return len(queries)


def test_the_page_costs_the_same_queries_with_few_or_many_rows(
    client, hold_policy, invoice, manager_user
):
    # given a visit earlier, two holds and a case, one of each claimed
    _home_queries(client, manager_user)
    HomeVisit.objects.filter(user=manager_user).update(seen_at=timezone.now() - 2 * H)
    _hold(due=-H, assignee=manager_user)
    _hold("PRICE_BELOW_CONTRACT", due=H)
    _case(invoice, due=-H, claimed_by=manager_user)
    few = _home_queries(client, manager_user)
    # when there are many more in every queue, claimed and late
    for n in range(15):
        _hold(due=(n - 7) * H, assignee=manager_user if n % 2 else None)
        _hold("STOCK_SHORT", due=-(n + 1) * H)
        _case(invoice, due=(n - 7) * H, claimed_by=manager_user if n % 2 else None)
    many = _home_queries(client, manager_user)
    # then the page reads the same number of queries
    assert many == few


def test_a_malformed_since_in_a_queue_link_is_refused_with_a_clear_message(
    client, hold_policy, credit_user
):
    hold = _hold(due=H)
    client.force_login(credit_user)
    page = client.get("/queues/credit/?since=yesterday-ish").content.decode()
    assert "Fix the filters to see holds." in page
    assert hold.order.number not in page


def _today(client, user) -> str:
    client.force_login(user)
    response = client.get(reverse("home-today"))
    assert response.status_code == 200
    return unescape(response.content.decode())


def _section(page: str, anchor: str) -> str:
    return page.split(f'id="{anchor}"')[1].split("</section>")[0]


def test_what_i_did_today_links_to_the_decisions_themselves(
    client, hold_policy, credit_user, manager_user
):
    now = timezone.now()
    mine = _hold(due=H, state="released", resolved_by=credit_user, resolved_at=now)
    rejected = _hold(due=H, state="rejected", resolved_by=credit_user, resolved_at=now)
    theirs = _hold(due=H, state="released", resolved_by=manager_user, resolved_at=now)
    old = _hold(due=H, state="released", resolved_by=credit_user, resolved_at=now - 2 * 24 * H)
    # the home page's figure links to its section of the "today" page
    page = _home(client, credit_user)
    done = page.split('id="done-heading"')[1].split("</section>")[0]
    assert 'href="/today/#holds-released"><strong>1</strong> holds released' in done
    today = _today(client, credit_user)
    released = _section(today, "holds-released")
    # which lists the person's own decision of today, linked to the hold, and nobody else's
    assert f'href="/queues/holds/{mine.pk}/">Hold {mine.pk} · order {mine.order.number}' in released
    for other in (theirs, old, rejected):
        assert f"Hold {other.pk} ·" not in released
    assert f"Hold {rejected.pk} · order" in _section(today, "holds-rejected")
    assert "Cases resolved" not in today  # credit works no case queue


def test_a_manager_sees_the_invoices_approved_and_cases_resolved_today(
    client, hold_policy, invoice, manager_user, finance_user
):
    now = timezone.now()
    Invoice.objects.filter(pk=invoice.pk).update(first_approver=manager_user, first_approved_at=now)
    Invoice.objects.create(
        number="INV-H2", customer=invoice.customer, billing_rule="immediate",
        issued_on=date.today(), due_date=date.today(), created_at=now, state="released",
        total=Decimal("7.00"), first_approver=finance_user, first_approved_at=now,
    )  # fmt: skip
    case = _case(invoice, due=H)
    Case.objects.filter(pk=case.pk).update(
        state="resolved_valid", resolved_by=manager_user, resolved_at=now
    )
    today = _today(client, manager_user)
    approved = _section(today, "invoices-approved")
    assert f'href="/billing/invoices/{invoice.pk}/">Invoice INV-H1' in approved
    assert "INV-H2" not in approved and "100.00 USD" in approved
    resolved = _section(today, "cases-resolved")
    assert (
        f'href="/cases/{case.pk}/">Case {case.pk}' in resolved
        and "5.00 USD</td><td>Valid</td>" in resolved
    )
    assert "None yet today." in _section(today, "payments-applied")


def test_the_today_page_costs_the_same_queries_with_few_or_many_decisions(
    client, hold_policy, manager_user
):
    def queries() -> int:
        client.force_login(manager_user)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(reverse("home-today")).status_code == 200
        return len(captured)

    now = timezone.now()
    _hold(due=H, state="released", resolved_by=manager_user, resolved_at=now)
    few = queries()
    for _ in range(12):
        _hold(due=H, state="released", resolved_by=manager_user, resolved_at=now)
        _hold(due=H, state="rejected", resolved_by=manager_user, resolved_at=now)
    assert queries() == few


def test_a_person_with_no_role_is_told_what_the_today_page_lists(client, roleless_user):
    assert "Your roles decide nothing this page lists" in _today(client, roleless_user)
