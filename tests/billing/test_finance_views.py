"""The finance desk in the browser's terms: who may see it, approving in place (and the second
click's conflict), bulk approval with a result per row, the invoice page, credit memos, counts."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.models import CreditMemo, Invoice, InvoiceState
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def pending(released_order, ship):
    """A customer's first invoice (7.99 × 4 + tax), waiting for finance."""
    order = released_order(lines=[("B", "4")])
    ship(order, {1: "4"})
    return Invoice.objects.get(lines__order_line__order=order)


def test_only_finance_and_managers_see_the_desk(
    client, pending, finance_user, manager_user, cs_user, credit_user, roleless_user
):
    urls = [
        reverse("billing:queue"),
        reverse("billing:invoices"),
        reverse("billing:invoice", args=[pending.pk]),
    ]
    for user, allowed in [
        (finance_user, True),
        (manager_user, True),
        (cs_user, False),
        (credit_user, False),
        (roleless_user, False),
    ]:
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == (200 if allowed else 403), (user, url)
    client.logout()
    assert client.get(urls[0]).status_code == 302  # to the login page
    post = client.post(reverse("billing:action", args=[pending.pk, "approve"]), {"reason": "x"})
    assert post.status_code == 302
    pending.refresh_from_db()
    assert pending.state == InvoiceState.PENDING_APPROVAL


def test_non_finance_cannot_approve_by_posting(client, pending, cs_user):
    client.force_login(cs_user)
    response = client.post(
        reverse("billing:action", args=[pending.pk, "approve"]),
        {"reason": "sneaky"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 403
    pending.refresh_from_db()
    assert pending.state == InvoiceState.PENDING_APPROVAL


def test_queue_lists_the_invoice_with_its_reasons(client, pending, finance_user):
    client.force_login(finance_user)
    body = client.get(reverse("billing:queue")).content.decode()
    assert pending.number in body and "The customer&#x27;s first invoice" in body
    empty = client.get(reverse("billing:queue"), {"min_total": "100000"}).content.decode()
    assert "No invoice waits for approval with these filters" in empty
    bad = client.get(reverse("billing:queue"), {"min_total": "5", "max_total": "1"})
    assert "must not exceed" in bad.content.decode()


def test_approve_in_place_then_the_second_click_gets_a_clear_conflict(
    client, pending, finance_user
):
    other = make_user("fin_other", "finance", first_name="Olive", last_name="Other")
    url = reverse("billing:action", args=[pending.pk, "approve"])
    client.force_login(finance_user)
    first = client.post(url, {"reason": "PO matches"}, HTTP_HX_REQUEST="true")
    assert first.status_code == 200
    assert "Done: approve." in first.content.decode() and "Released" in first.content.decode()
    assert "invoices-changed" in first.headers["HX-Trigger"]

    client.force_login(other)
    second = client.post(url, {"reason": "me too"}, HTTP_HX_REQUEST="true")
    assert second.status_code == 409
    assert "was already released by finance" in second.content.decode()
    pending.refresh_from_db()
    assert pending.state == InvoiceState.RELEASED and pending.first_approver == finance_user


def test_an_action_without_a_reason_is_refused_and_changes_nothing(client, pending, finance_user):
    client.force_login(finance_user)
    response = client.post(
        reverse("billing:action", args=[pending.pk, "approve"]),
        {"reason": "  "},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 400 and "required" in response.content.decode()
    pending.refresh_from_db()
    assert pending.state == InvoiceState.PENDING_APPROVAL


def _history() -> tuple:
    return sorted(Invoice.objects.values_list("pk", "state", "first_approver_id")), (
        Invoice.history.count()
    )


def test_bulk_approve_previews_then_reports_each_row(client, released_order, ship, finance_user):
    invoices = []
    for _ in range(4):
        order = released_order(lines=[("B", "1")])
        ship(order, {1: "1"})
        invoices.append(Invoice.objects.get(lines__order_line__order=order))
    # one of them someone else already approved, and one is large enough to need two approvers
    from billing.services import invoice_approve

    invoice_approve(
        invoice_id=invoices[0].pk, actor=make_user("fin_x", "finance"), reason="earlier"
    )
    Invoice.objects.filter(pk=invoices[3].pk).update(approval_tier=Invoice.Tier.TWO)
    chosen = {"invoices": [i.pk for i in invoices] + [999999], "reason": "Month end"}
    client.force_login(finance_user)
    before = _history()
    # when finance asks to approve the selection, it is previewed first and nothing changes
    preview = client.post(reverse("billing:bulk_approve"), chosen, HTTP_HX_REQUEST="true")
    body = preview.content.decode()
    assert preview.status_code == 200 and "Nothing has changed yet" in body
    assert _history() == before
    acting = body.split('aria-label="Will act"')[1].split("</table>")[0]
    refused = body.split('aria-label="Will be refused"')[1].split("</table>")[0]
    assert f"<td>{invoices[1].number}</td>" in acting and f"<td>{invoices[2].number}</td>" in acting
    assert f"<td>{invoices[3].number}</td>" in acting and "waits for a second" in acting
    assert f"<td>{invoices[0].number}</td>" in refused and "already released by fin_x" in refused
    assert "<td>999999</td>" in refused and "not yours to approve" in refused
    total = sum(i.total for i in invoices[1:])
    assert f"{total:,.2f} USD" in body.split('class="bulk-total"')[1].split("</p>")[0]
    confirm = body.split("<form")[1]
    assert sorted(int(v) for v in re.findall(r'name="invoices" value="(\d+)"', confirm)) == [
        i.pk for i in invoices[1:]
    ]
    # when they confirm, the rows act as previewed
    response = client.post(
        reverse("billing:bulk_approve"), {**chosen, "confirm": "on"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200 and "5 invoices processed" in body
    assert f"{invoices[1].number}: released" in body and f"{invoices[2].number}: released" in body
    assert "already released by fin_x" in body
    assert Invoice.objects.filter(state=InvoiceState.RELEASED).count() == 3
    invoices[3].refresh_from_db()
    assert (invoices[3].state, invoices[3].first_approver) == ("pending_approval", finance_user)

    none = client.post(reverse("billing:bulk_approve"), {"reason": "x"}, HTTP_HX_REQUEST="true")
    assert none.status_code == 400 and "Select at least one invoice" in none.content.decode()


def test_bulk_approve_preview_without_javascript_is_a_page(client, pending, finance_user):
    client.force_login(finance_user)
    response = client.post(
        reverse("billing:bulk_approve"), {"invoices": [pending.pk], "reason": "Month end"}
    )
    body = response.content.decode()
    assert response.status_code == 200 and "<html" in body and "Confirm: approve 1" in body
    pending.refresh_from_db()
    assert pending.state == InvoiceState.PENDING_APPROVAL


def test_invoice_page_shows_lines_tax_shipment_approvals_and_history(client, pending, finance_user):
    from billing.services import invoice_approve

    invoice_approve(invoice_id=pending.pk, actor=finance_user, reason="Looks right")
    client.force_login(finance_user)
    body = client.get(reverse("billing:invoice", args=[pending.pk])).content.decode()
    shipment = pending.lines.get().shipment_line.shipment
    for text in (
        pending.number,
        "BILL-B",
        "31.96",  # 4 × 7.99
        "2.00",  # tax at 6.25 %
        "33.96",
        shipment.external_id,
        "First: finance",
        "Approved by finance: Looks right",
        "data-print",
        "Issue a credit memo",
    ):
        assert text in body, text


def test_credit_memo_form_rejects_too_much_and_issues_a_valid_one(client, pending, finance_user):
    from billing.services import invoice_approve

    invoice_approve(invoice_id=pending.pk, actor=finance_user, reason="ok")
    line = pending.lines.get()
    url = reverse("billing:credit_memo", args=[pending.pk])
    client.force_login(finance_user)

    too_much = client.post(url, {f"line_{line.pk}": "5", "reason": "returns"})
    assert too_much.status_code == 400
    assert "cannot exceed the invoiced amount" in too_much.content.decode()
    assert not CreditMemo.objects.exists()

    ok = client.post(url, {f"line_{line.pk}": "1", "reason": "one returned"})
    assert ok.status_code == 302
    memo = CreditMemo.objects.get()
    assert memo.total == Decimal("8.49")  # 7.99 + 0.50
    order_page = client.get(reverse("orders:detail", args=[line.order_line.order_id]))
    assert memo.number in order_page.content.decode()


def test_order_page_shows_shipments_and_invoices(client, pending, cs_user):
    client.force_login(cs_user)
    order_id = pending.lines.get().order_line.order_id
    body = client.get(reverse("orders:detail", args=[order_id])).content.decode()
    shipment = pending.lines.get().shipment_line.shipment
    assert shipment.external_id in body and pending.number in body
    assert f"Invoice {pending.number}" in body  # in the timeline


def test_counts_badge(client, pending, finance_user):
    client.force_login(finance_user)
    body = client.get(reverse("billing:counts")).content.decode()
    assert 'aria-label="1 awaiting approval"' in body


def test_queue_queries_do_not_grow_with_rows(client, released_order, ship, finance_user):
    def add():
        order = released_order(lines=[("B", "1")])
        ship(order, {1: "1"})

    add()
    client.force_login(finance_user)
    url = reverse("billing:queue")
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    for _ in range(6):
        add()
    with CaptureQueriesContext(connection) as many:
        body = client.get(url).content.decode()
    assert body.count('class="invoice work-row state-pending_approval"') == 7
    assert len(many) == len(few)


def test_queue_pages_with_show_more_and_sorts_by_amount(
    client, released_order, ship, finance_user, settings
):
    settings.O2C_PAGE_SIZE = 2
    for quantity in ("1", "3", "2"):
        order = released_order(lines=[("B", quantity)])
        ship(order, {1: quantity})
    client.force_login(finance_user)
    url = reverse("billing:queue")

    first = client.get(url, {"sort": "amount"}).content.decode()
    assert (
        first.count('class="invoice work-row state-pending_approval"') == 2 and "Show more" in first
    )
    totals = [i.total for i in Invoice.objects.order_by("-total")]
    assert first.index(str(totals[0])) < first.index(str(totals[1]))
    cursor = first.split("after=")[1].split('"')[0]
    more = client.get(f"{url}?sort=amount&after={cursor}", HTTP_HX_REQUEST="true")
    body = more.content.decode()
    assert (
        body.count('class="invoice work-row state-pending_approval"') == 1
        and str(totals[2]) in body
    )
    assert "Show more" not in body


def test_invoice_list_exports_csv(client, pending, finance_user, cs_user):
    import csv
    import io

    client.force_login(cs_user)
    assert client.get(reverse("billing:invoices"), {"format": "csv"}).status_code == 403
    client.force_login(finance_user)
    response = client.get(
        reverse("billing:invoices"), {"format": "csv", "state": "pending_approval"}
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][:3] == ["number", "state", "customer"]
    assert [row[0] for row in rows[1:]] == [pending.number] and rows[1][4] == "33.96"


def test_a_plain_form_post_never_redirects_off_site(client, pending, finance_user):
    client.force_login(finance_user)
    url = reverse("billing:action", args=[pending.pk, "approve"])
    response = client.post(url, {"reason": "ok", "next": "https://evil.example/phish"})
    assert response.status_code == 302
    assert response["Location"] == reverse("billing:invoice", args=[pending.pk])


def test_invoice_list_filters_by_creation_date(client, pending, finance_user):
    client.force_login(finance_user)
    today = pending.created_at.date()
    url = reverse("billing:invoices")
    assert pending.number in client.get(url, {"created_from": today}).content.decode()
    later = client.get(url, {"created_from": today.replace(year=today.year + 1)})
    assert pending.number not in later.content.decode() and "No invoices" in later.content.decode()
