"""The cash application desk through its pages: the queue lists waiting payments with their
candidates and explanations, rows are worked in place (accept, split, on account, refund) with
conflicts said where the analyst acted, write-offs need a second person, the queue's query count
does not grow with its rows, and the CSV export neither runs a payer's formula nor shows an
account number."""

import csv
import html
import io
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice, InvoiceState
from billing.services import invoice_approve
from core.roles import Role, get_system_user
from receivables.models import (
    Application,
    CashPolicy,
    Payment,
    PaymentState,
    UnappliedCash,
    WriteOff,
)
from receivables.parsers import parse_lockbox
from receivables.services import payment_apply, statement_store
from receivables.services.applying import Allocation
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

COLUMNS = [
    "lockbox",
    "batch",
    "item",
    "check_number",
    "amount",
    "currency",
    "payer_name",
    "payer_account",
    "deposit_date",
    "invoice_reference",
    "amount_paid",
    "discount",
    "adjustment",
    "reason_code",
]
_checks = iter(range(5000, 10**6))


def _lockbox(*checks: dict) -> None:
    """Store a lockbox file of ``checks`` (each: amount, payer, account, and optional stubs as
    [(reference, paid)]) through the parser and the intake service, as the bank's file would."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    today = str(timezone.now().date())
    for item, check in enumerate(checks, start=1):
        number = check.get("number") or next(_checks)
        for reference, paid in check.get("stubs") or [("", "")]:
            writer.writerow(
                [
                    "LBX-9",
                    "001",
                    item,
                    number,
                    check["amount"],
                    "USD",
                    check["payer"],
                    check.get("account", "021000021/99887766"),
                    today,
                    reference,
                    paid,
                    "",
                    "",
                    "",
                ]
            )
    for statement in parse_lockbox(out.getvalue()):
        statement_store(statement=statement, source="test-bank", actor=get_system_user())


@pytest.fixture
def cash_user(db):
    return make_user("cash", Role.CASH_APPLICATION)


@pytest.fixture
def cash_user_2(db):
    return make_user("cash2", Role.CASH_APPLICATION)


@pytest.fixture
def invoices(released_order, ship, finance_user):
    """Three released invoices of one customer, for 10, 20 and 40 of item A."""
    made, customer = [], None
    for quantity in ("10", "20", "40"):
        order = released_order(lines=[("A", quantity)], customer=customer)
        customer = order.customer
        ship(order, {1: quantity})
        invoice = order.invoices.get()
        if invoice.state == InvoiceState.PENDING_APPROVAL:
            invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
            invoice.refresh_from_db()
        made.append(invoice)
    return made


@pytest.fixture
def suggested(invoices):
    """A payment from the invoices' customer for the last one's total, naming no invoice: under
    a strict automatic threshold, matching suggests it to an analyst."""
    # (the migration's row, made again if a transactional test flushed it)
    CashPolicy.objects.update_or_create(pk=1, defaults={"auto_threshold": Decimal("0.95")})
    invoice = invoices[2]
    _lockbox({"amount": invoice.total, "payer": invoice.customer.name, "account": "5/600011"})
    payment = Payment.objects.get()
    assert payment.state == PaymentState.SUGGESTED, payment.explanation
    assert payment.candidates[0]["allocations"][0]["invoice"] == invoice.number
    return payment


@pytest.fixture
def unmatched(invoices):
    """A bundled payment of the first two invoices from a payer nobody knows, naming nothing."""
    first, second, _ = invoices
    _lockbox({"amount": first.total + second.total, "payer": "Qwxz Holdings Intl"})
    payment = Payment.objects.get()
    assert payment.state == PaymentState.UNMATCHED, payment.explanation
    return payment


def _act(client, payment, action, data=None):
    return client.post(
        reverse("receivables:action", args=[payment.pk, action]),
        data or {},
        HTTP_HX_REQUEST="true",
    )


def test_the_queue_lists_a_suggested_payment_with_its_candidates_and_why(
    client, suggested, cash_user
):
    # given a payment matching suggested
    invoice = Invoice.objects.get(number=suggested.candidates[0]["allocations"][0]["invoice"])
    client.force_login(cash_user)
    # when the analyst opens the queue
    response = client.get(reverse("receivables:queue"))
    # then the row shows the payment, why matching suggested it, and the candidate to accept
    body = response.content.decode()
    assert response.status_code == 200
    assert f'id="payment-{suggested.pk}"' in body
    assert suggested.payer_name in body
    assert suggested.candidates[0]["explanation"] in html.unescape(body)
    assert invoice.number in body and "Accept suggestion 1" in body
    assert f"{suggested.amount:,.2f} USD" in body
    # the payer's account is shown masked, its number never
    assert "••••0011" in body and "600011" not in body
    assert "Suggested <span" in body  # the tab with its count
    # its page offers the same candidates and actions, as plain forms back to the page
    page = client.get(reverse("receivables:payment", args=[suggested.pk])).content.decode()
    assert "Accept suggestion 1" in page and "Split across invoices" in page
    assert "hx-post" not in page and "lockbox statement" in page


def test_only_cash_application_and_managers_open_the_queue(client, suggested, credit_user):
    url = reverse("receivables:queue")
    assert client.get(url).status_code == 302  # a stranger logs in first
    client.force_login(credit_user)
    assert client.get(url).status_code == 403
    refused = client.post(
        reverse("receivables:action", args=[suggested.pk, "accept"]), {"candidate": "0"}
    )
    assert refused.status_code == 403
    suggested.refresh_from_db()
    assert suggested.state == PaymentState.SUGGESTED


def test_a_rows_forms_come_when_opened_and_only_to_cash_application(
    client, unmatched, cash_user, credit_user
):
    client.force_login(cash_user)
    queue = client.get(reverse("receivables:queue"), {"state": "unmatched"}).content.decode()
    form_url = reverse("receivables:action_form", args=[unmatched.pk, "split"])
    # the row carries the three summaries, and where each form comes from, not the forms
    assert f'hx-get="{form_url}?next=/cash/%3Fstate%3Dunmatched"' in queue
    assert "Split across invoices" in queue and 'name="invoice_1"' not in queue
    # opened, the split form posts back over htmx to the row, returning to the page it came from
    body = client.get(form_url, {"next": "/cash/?state=unmatched"}).content.decode()
    assert 'name="invoice_1"' in body and 'name="csrfmiddlewaretoken"' in body
    assert f'hx-target="#payment-{unmatched.pk}"' in body
    assert 'name="next" value="/cash/?state=unmatched"' in body
    # another site as "next" is not followed: the queue is
    elsewhere = client.get(form_url, {"next": "https://evil.example/"}).content.decode()
    assert 'name="next" value="/cash/"' in elsewhere
    refund = client.get(reverse("receivables:action_form", args=[unmatched.pk, "refund"]))
    assert f"send {unmatched.amount:,.2f} USD back" in refund.content.decode()
    assert (
        client.get(reverse("receivables:action_form", args=[unmatched.pk, "nope"])).status_code
        == 404
    )
    # another role gets nothing
    client.force_login(credit_user)
    assert client.get(form_url).status_code == 403


def test_a_form_opened_after_the_payment_was_worked_says_so(client, suggested, cash_user):
    client.force_login(cash_user)
    _act(client, suggested, "accept", {"candidate": "0"})
    body = client.get(
        reverse("receivables:action_form", args=[suggested.pk, "on_account"])
    ).content.decode()
    assert f"Payment {suggested.pk} is applied: nothing to do here." in body
    assert "<form" not in body


def test_accept_applies_the_suggestion_and_the_invoice_shows_paid(client, suggested, cash_user):
    invoice = Invoice.objects.get(pk=suggested.candidates[0]["allocations"][0]["invoice_id"])
    client.force_login(cash_user)
    # when the analyst accepts the first suggestion, in place
    response = _act(client, suggested, "accept", {"candidate": "0"})
    # then the row says so, and the invoice is paid
    body = response.content.decode()
    assert response.status_code == 200
    assert "Done: accepted." in body and "Applied" in body
    assert "payments-changed" in response["HX-Trigger"]  # the tabs recount
    invoice.refresh_from_db()
    assert invoice.state == InvoiceState.PAID
    page = client.get(reverse("receivables:invoice", args=[invoice.pk])).content.decode()
    assert "Paid</span>" in page and "Payment " + str(suggested.pk) in page
    # and the payment left the queue
    assert (
        f'id="payment-{suggested.pk}"'
        not in client.get(reverse("receivables:queue")).content.decode()
    )


def test_a_second_accept_gets_a_clear_conflict_in_the_row(
    client, suggested, cash_user, cash_user_2
):
    client.force_login(cash_user)
    assert _act(client, suggested, "accept", {"candidate": "0"}).status_code == 200
    # a second analyst, on a page loaded before, clicks the same suggestion
    client.force_login(cash_user_2)
    response = _act(client, suggested, "accept", {"candidate": "0"})
    body = response.content.decode()
    assert response.status_code == 409
    assert f'id="payment-{suggested.pk}"' in body  # the row, re-rendered where they clicked
    assert "already applied (by cash)" in body and 'role="alert"' in body
    assert Application.objects.count() == len(suggested.candidates[0]["allocations"])


def test_split_applies_a_bundled_payment_across_two_invoices(
    client, unmatched, invoices, cash_user
):
    first, second, third = invoices
    client.force_login(cash_user)
    response = _act(
        client,
        unmatched,
        "split",
        {
            "invoice_1": first.number,
            "amount_1": str(first.total),
            # typed as people do: without the prefix and leading zeros
            "invoice_2": second.number.removeprefix("INV-").lstrip("0"),
            "amount_2": str(second.total),
        },
    )
    assert response.status_code == 200, response.content.decode()
    assert "Done: applied." in response.content.decode()
    applied = dict(Application.objects.values_list("invoice_id", "amount"))
    assert applied == {first.pk: first.total, second.pk: second.total}
    for invoice in (first, second):
        invoice.refresh_from_db()
        assert invoice.state == InvoiceState.PAID
    third.refresh_from_db()
    assert third.settled_amount == 0


def test_split_refuses_an_unknown_invoice_naming_its_line_and_changes_nothing(
    client, unmatched, invoices, cash_user
):
    first = invoices[0]
    client.force_login(cash_user)
    response = _act(
        client,
        unmatched,
        "split",
        {
            "invoice_1": first.number,
            "amount_1": str(first.total),
            "invoice_2": "INV-9999999",
            "amount_2": "10.00",
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "Line 2: no invoice numbered “INV-9999999”." in body
    # the lines typed are still there to correct
    assert 'value="INV-9999999"' in body and '<details class="action" open>' in body
    unmatched.refresh_from_db()
    assert unmatched.state == PaymentState.UNMATCHED
    assert not Application.objects.exists()
    first.refresh_from_db()
    assert first.settled_amount == 0


def test_split_beyond_what_an_invoice_owes_is_refused_in_the_row(
    client, unmatched, invoices, cash_user
):
    first = invoices[0]
    client.force_login(cash_user)
    response = _act(
        client, unmatched, "split", {"invoice_1": first.number, "amount_1": str(first.total + 1)}
    )
    assert response.status_code == 409
    assert f"Invoice {first.number} has {first.total:,.2f} USD open" in response.content.decode()
    assert not Application.objects.exists()


def test_put_on_account_holds_the_money_for_the_chosen_customer(
    client, unmatched, invoices, cash_user
):
    customer = invoices[0].customer
    client.force_login(cash_user)
    unknown = _act(client, unmatched, "on_account", {"customer": "NOPE-1", "reason": "x"})
    assert (
        unknown.status_code == 400 and "No customer numbered “NOPE-1”." in unknown.content.decode()
    )
    response = _act(
        client,
        unmatched,
        "on_account",
        {"customer": customer.number, "reason": "Customer called: prepayment"},
    )
    assert response.status_code == 200 and "Done: put on account." in response.content.decode()
    held = UnappliedCash.objects.get()
    assert (held.customer, held.amount, held.note) == (
        customer,
        unmatched.amount,
        "Customer called: prepayment",
    )
    unmatched.refresh_from_db()
    assert unmatched.state == PaymentState.APPLIED


@pytest.fixture
def on_account(client, unmatched, invoices, cash_user):
    """The unknown payer's bundled check, put on the invoices' customer's account."""
    client.force_login(cash_user)
    _act(client, unmatched, "on_account", {"customer": invoices[0].customer.number, "reason": "x"})
    return UnappliedCash.objects.get()


def test_money_on_account_is_listed_and_applied_to_invoices_later(
    client, on_account, invoices, cash_user
):
    first, second, _ = invoices
    client.force_login(cash_user)
    listed = client.get(reverse("receivables:on_account")).content.decode()
    assert f'id="on-account-{on_account.pk}"' in listed
    assert f"{on_account.amount:,.2f} USD" in listed and first.customer.name in listed
    # the analyst applies all of the first invoice and 100.00 of the second
    url = reverse("receivables:on_account_apply", args=[on_account.pk])
    page = client.post(
        url,
        {
            "invoice_1": first.number,
            "amount_1": str(first.total),
            "invoice_2": second.number,
            "amount_2": "100.00",
            "note": "customer's remittance came by mail",
            "next": reverse("receivables:on_account"),
        },
        follow=True,
    ).content.decode()
    used = first.total + Decimal("100.00")
    assert f"{used:,.2f} USD of {first.customer.name}" in page and "to 2 invoices" in page
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.state == InvoiceState.PAID and second.settled_amount == Decimal("100.00")
    on_account.refresh_from_db()
    assert on_account.amount == on_account.payment.amount - used  # the rest stays on account
    payment = on_account.payment
    payment.refresh_from_db()
    assert (payment.applied_amount, payment.unapplied_amount) == (used, payment.amount - used)
    rows = Application.objects.filter(payment=payment).order_by("invoice_id")
    assert [r.amount for r in rows] == [first.total, Decimal("100.00")]
    assert all("From money on account" in r.explanation for r in rows)
    # the rest is still listed; the same lines again would exceed what is left
    again = client.post(
        url, {"invoice_1": second.number, "amount_1": str(on_account.amount + 1)}, follow=True
    ).content.decode()
    assert f"is more than the {on_account.amount:,.2f} USD on account" in again
    assert Application.objects.filter(payment=payment).count() == 2


def test_money_on_account_goes_only_to_its_customers_invoices(
    client, on_account, released_order, ship, finance_user, cash_user
):
    stranger = released_order(lines=[("A", "1")])  # another customer's order, shipped
    ship(stranger, {1: "1"})
    other = stranger.invoices.get()
    client.force_login(cash_user)
    page = client.post(
        reverse("receivables:on_account_apply", args=[on_account.pk]),
        {"invoice_1": other.number, "amount_1": "1.00"},
        follow=True,
    ).content.decode()
    assert f"Invoice {other.number} is another customer" in html.unescape(page)
    assert not Application.objects.exists()


def test_used_money_on_account_cannot_be_applied_twice(client, on_account, invoices, cash_user):
    from core.errors import Conflict
    from receivables.services import Allocation, on_account_apply

    first, second, third = invoices
    # the check paid the first two invoices' totals: both take all of it
    on_account_apply(
        actor=cash_user,
        unapplied_id=on_account.pk,
        allocations=[
            Allocation(invoice_id=first.pk, amount=first.total),
            Allocation(invoice_id=second.pk, amount=second.total),
        ],
    )
    on_account.refresh_from_db()
    assert on_account.released_at is not None and on_account.amount == 0
    with pytest.raises(Conflict, match="no longer on the account"):
        on_account_apply(
            actor=cash_user,
            unapplied_id=on_account.pk,
            allocations=[Allocation(invoice_id=third.pk, amount=Decimal("1.00"))],
        )
    listed = client.get(reverse("receivables:on_account")).content.decode()
    assert "No money waits on a customer" in html.unescape(listed)


def test_a_refund_needs_the_box_ticked(client, unmatched, cash_user):
    client.force_login(cash_user)
    response = _act(client, unmatched, "refund", {"reason": "Not ours"})
    assert response.status_code == 400
    assert "Tick the box to confirm; nothing was changed." in response.content.decode()
    unmatched.refresh_from_db()
    assert unmatched.state == PaymentState.UNMATCHED
    response = _act(client, unmatched, "refund", {"reason": "Not ours", "confirm": "on"})
    assert response.status_code == 200 and "Done: marked for refund." in response.content.decode()
    unmatched.refresh_from_db()
    assert unmatched.state == PaymentState.REFUND


def test_the_payment_page_tells_its_story_and_reverses_an_application(
    client, unmatched, invoices, cash_user
):
    first, second, _ = invoices
    payment_apply(
        actor=cash_user,
        payment_id=unmatched.pk,
        allocations=[
            Allocation(invoice_id=first.pk, amount=first.total),
            Allocation(invoice_id=second.pk, amount=second.total),
        ],
    )
    client.force_login(cash_user)
    url = reverse("receivables:payment", args=[unmatched.pk])
    page = client.get(url).content.decode()
    assert "lockbox statement" in page and "Qwxz Holdings Intl" in page
    assert first.number in page and "Reverse" in page
    assert "Applied by cash" in page  # the history says who, and why
    application = Application.objects.get(invoice=second)
    reverse_url = reverse("receivables:reverse", args=[application.pk])
    # without the box ticked, nothing changes
    page = client.post(reverse_url, {"reason": "Wrong customer", "next": url}, follow=True)
    assert "Tick the box to confirm" in page.content.decode()
    second.refresh_from_db()
    assert second.state == InvoiceState.PAID
    page = client.post(
        reverse_url, {"reason": "Wrong customer", "confirm": "on", "next": url}, follow=True
    ).content.decode()
    assert f"to {second.number} reversed" in page and "Reversed by cash" in page
    second.refresh_from_db()
    assert second.open_amount == second.total
    assert "Wrong customer" in client.get(url).content.decode()


def test_a_write_off_above_the_limit_needs_a_second_person_through_the_pages(
    client, invoices, cash_user, cash_user_2
):
    invoice = invoices[2]
    client.force_login(cash_user)
    # the maker asks for 200.00 off (the policy lets an analyst write off 50.00 alone)
    page = client.post(
        reverse("receivables:write_off_new"),
        {"invoice": invoice.number, "amount": "200.00", "reason": "Goodwill after late delivery"},
        follow=True,
    ).content.decode()
    assert "waits for a second person" in page
    write_off = WriteOff.objects.get()
    assert write_off.state == WriteOff.State.PENDING
    # the maker's list shows no approve button, and forcing it is refused, saying why
    listing = client.get(reverse("receivables:write_offs")).content.decode()
    assert f'id="write-off-{write_off.pk}"' in listing
    assert "You asked for it: another person approves it." in listing
    assert ">Approve</button>" not in listing
    approve = reverse("receivables:write_off_action", args=[write_off.pk, "approve"])
    forced = client.post(approve, {"reason": "mine"}, HTTP_HX_REQUEST="true")
    assert forced.status_code == 403 and "someone else must approve it" in forced.content.decode()
    write_off.refresh_from_db()
    assert write_off.state == WriteOff.State.PENDING
    # a second analyst approves it
    client.force_login(cash_user_2)
    assert ">Approve</button>" in client.get(reverse("receivables:write_offs")).content.decode()
    done = client.post(approve, {"reason": "Checked the file"}, HTTP_HX_REQUEST="true")
    assert done.status_code == 200 and "Done: approved." in done.content.decode()
    invoice.refresh_from_db()
    assert invoice.settled_amount == Decimal("200.00")
    assert invoice.state == InvoiceState.PARTIALLY_PAID


def test_a_write_off_names_an_unknown_invoice(client, invoices, cash_user):
    client.force_login(cash_user)
    page = client.post(
        reverse("receivables:write_off_new"),
        {"invoice": "INV-7777777", "amount": "5", "reason": "rounding"},
        follow=True,
    ).content.decode()
    assert "No invoice numbered “INV-7777777”." in page
    assert not WriteOff.objects.exists()


def _payments(count: int, start: int) -> None:
    _lockbox(
        *[
            {
                "amount": Decimal("100.00") + n,
                "payer": f"Zqv Stranger {n:03d}",
                "stubs": [(f"PO-{n}", Decimal("100.00") + n)],
            }
            for n in range(start, start + count)
        ]
    )


def test_the_queue_costs_the_same_queries_for_5_and_25_payments(client, cash_user, db):
    client.force_login(cash_user)
    url = reverse("receivables:queue")
    _payments(5, 0)
    client.get(url)  # warm: the session, content types
    with CaptureQueriesContext(connection) as few:
        small = client.get(url).content.decode()
    _payments(20, 5)
    with CaptureQueriesContext(connection) as many:
        large = client.get(url).content.decode()
    assert small.count('class="payment work-row state-unmatched"') == 5
    assert large.count('class="payment work-row state-unmatched"') == 25
    assert "PO-24" in large  # remittance references are on the rows
    assert len(many) == len(few), [q["sql"][:120] for q in many]


def test_search_tabs_sorts_and_pages(client, cash_user, settings):
    _payments(3, 0)  # 100.00, 101.00, 102.00
    client.force_login(cash_user)
    url = reverse("receivables:queue")
    by_amount = client.get(url, {"q": "101.00"}).content.decode()
    assert by_amount.count('class="payment work-row ') == 1 and "Zqv Stranger 001" in by_amount
    by_reference = client.get(url, {"q": "PO-2"}).content.decode()
    assert (
        by_reference.count('class="payment work-row ') == 1 and "Zqv Stranger 002" in by_reference
    )
    # the tabs count what waits in each state under the search
    assert 'Unmatched <span class="badge">1</span>' in by_reference
    settings.O2C_PAGE_SIZE = 2
    largest = client.get(url, {"sort": "largest"}).content.decode()
    assert largest.index("Zqv Stranger 002") < largest.index("Zqv Stranger 001")
    assert "Zqv Stranger 000" not in largest and "Show more" in largest
    # "Show more" brings the next rows only, after the last one shown
    after = re.search(r'hx-get="\?([^"]*after=[^"]*)"', largest).group(1)
    more = client.get(f"{url}?{html.unescape(after)}", HTTP_HX_REQUEST="true")
    rows = more.content.decode()
    assert "<html" not in rows and "Zqv Stranger 000" in rows and "Stranger 001" not in rows
    assert "HX-Request" in more["Vary"]


def test_csv_export_neutralises_a_hostile_payer_and_masks_accounts(client, cash_user):
    hostile = '=HYPERLINK("http://evil.example/x","Click me")'
    _lockbox({"amount": "42.00", "payer": hostile, "account": "021000021/123456789"})
    client.force_login(cash_user)
    response = client.get(reverse("receivables:queue"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    header, row = rows[0], rows[1]
    assert row[header.index("payer")] == "'" + hostile  # text, not a live formula
    assert row[header.index("amount with currency")] == "42.00 USD"
    assert row[header.index("payer account")] == "••••6789"
    assert "123456789" not in text


def test_admin_shows_payments_masked_and_edits_the_cash_policy_with_history(
    client, unmatched, superuser
):
    client.force_login(superuser)
    page = client.get(
        reverse("admin:receivables_payment_change", args=[unmatched.pk])
    ).content.decode()
    assert "••••7766" in page and "99887766" not in page
    assert unmatched.payer_account_fingerprint not in page
    assert (
        client.post(reverse("admin:receivables_payment_delete", args=[unmatched.pk])).status_code
        == 403
    )
    policy, _ = CashPolicy.objects.get_or_create(pk=1)
    form = client.get(reverse("admin:receivables_cashpolicy_change", args=[policy.pk]))
    assert form.status_code == 200 and "write_off_limit" in form.content.decode()
    history = client.get(reverse("admin:receivables_cashpolicy_history", args=[policy.pk]))
    assert history.status_code == 200


def test_a_write_off_naming_a_payment_of_nobody_or_of_another_customer_is_refused(
    client, invoices, cash_user
):
    invoice = invoices[0]
    # a payment from someone no customer is, unmatched
    _lockbox({"amount": "12.00", "payer": "Qwxz Holdings Intl"})
    stranger = Payment.objects.get()
    assert stranger.customer_id is None
    client.force_login(cash_user)
    for payment in ("999999", str(stranger.pk)):
        page = client.post(
            reverse("receivables:write_off_new"),
            {"invoice": invoice.number, "amount": "5.00", "reason": "Rounding", "payment": payment},
            follow=True,
        )
        assert page.status_code == 200
        assert f"Payment {payment} is not one of {invoice.number}" in page.content.decode()
    assert not WriteOff.objects.exists()
    invoice.refresh_from_db()
    assert invoice.settled_amount == 0


def test_a_territory_limited_analyst_neither_sees_nor_moves_other_territories_cash(
    client, invoices, cash_user, finance_user
):
    from orders.models import TerritoryAssignment
    from receivables.services import write_off_create

    invoice = invoices[0]
    # given a payment applied to an invoice, a stranger's payment, and a write-off waiting
    _lockbox({"amount": invoice.total, "payer": "Qwxz Holdings Intl"})
    _lockbox({"amount": "12.00", "payer": "Zzyq Unknown Partners"})
    placed, stranger = Payment.objects.order_by("pk")
    payment_apply(
        actor=cash_user,
        payment_id=placed.pk,
        allocations=[Allocation(invoice_id=invoice.pk, amount=invoice.total)],
    )
    application = Application.objects.get()
    write_off = write_off_create(
        actor=cash_user, invoice_id=invoices[1].pk, amount=invoices[1].total, reason="Goodwill"
    )
    assert write_off.state == WriteOff.State.PENDING
    # when the analysts are limited to a territory none of these customers is in
    for user in (cash_user, finance_user):
        TerritoryAssignment.objects.create(user=user, territory="NOWHERE")
    client.force_login(cash_user)
    # then the placed payment's page and its reversal are refused, and nothing moves
    assert client.get(reverse("receivables:payment", args=[placed.pk])).status_code == 403
    reverse_url = reverse("receivables:reverse", args=[application.pk])
    assert client.post(reverse_url, {"reason": "mine now"}).status_code == 403
    application.refresh_from_db()
    assert application.reversed_at is None
    # while the stranger's money, in no territory yet, is theirs to place
    assert client.get(reverse("receivables:payment", args=[stranger.pk])).status_code == 200
    # and finance neither lists nor approves the write-off of another territory's invoice
    client.force_login(finance_user)
    listing = client.get(reverse("receivables:write_offs")).content.decode()
    assert f'id="write-off-{write_off.pk}"' not in listing
    approve = reverse("receivables:write_off_action", args=[write_off.pk, "approve"])
    assert client.post(approve, {"reason": "ok"}).status_code == 403
    write_off.refresh_from_db()
    assert write_off.state == WriteOff.State.PENDING
