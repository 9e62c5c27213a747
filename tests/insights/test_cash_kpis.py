"""Cash application KPIs from the slices, for payments stored through the receivables services:
the auto-match rate, accuracy falling when an application is reversed, receipt-to-application
percentiles, unapplied cash aged into buckets per currency, and the dashboard, CSV and API."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import InvoiceState
from billing.services import invoice_approve
from core.roles import Role, get_system_user
from insights import cash_kpis, rollups
from insights.kpis import KpiFilters
from receivables.models import Application, Payment, PaymentState, UnappliedCash
from receivables.parsers import parse_lockbox
from receivables.services import (
    Allocation,
    application_reverse,
    payment_apply,
    payment_put_on_account,
    statement_store,
)
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)
STRANGER = "Zyxwv Quonk Holdings"  # a payer no customer is named like
H = 3600


def _row(check, amount, payer, reference="", paid="", *, currency="USD", account="021000021/1"):
    return (
        f"LBX-9,001,{check},{check},{amount},{currency},{payer},{account}{check},"
        f"{timezone.now().date()},{reference},{paid},,,\n"
    )


def _store(text: str) -> None:
    for statement in parse_lockbox(HEADER + text):
        statement_store(statement=statement, source="test-bank", actor=get_system_user())


def _payment(check: int) -> Payment:
    return Payment.objects.get(entry_reference__contains=str(check))


def _window() -> KpiFilters:
    today = timezone.localdate()
    return KpiFilters(start=today - timedelta(days=2), end=today + timedelta(days=1))


def _received_before_applied(payment: Payment, seconds: int) -> None:
    """As if the bank file had arrived ``seconds`` before the payment was applied."""
    Payment.objects.filter(pk=payment.pk).update(
        received_at=payment.applied_at - timedelta(seconds=seconds)
    )


@pytest.fixture
def cash_user(db):
    return make_user("cash", Role.CASH_APPLICATION)


@pytest.fixture
def invoices(released_order, ship, finance_user):
    """Three released invoices of one customer, for 10, 20 and 40 of item A (finance approves
    a new customer's first invoices)."""
    made = []
    customer = None
    for quantity in ("10", "20", "40"):
        order = released_order(lines=[("A", quantity)], customer=customer)
        customer = order.customer
        ship(order, {1: quantity})
        invoice = order.invoices.get()
        if invoice.state == InvoiceState.PENDING_APPROVAL:
            invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="checked")
            invoice.refresh_from_db()
        assert invoice.state == InvoiceState.RELEASED
        made.append(invoice)
    return made


@pytest.fixture
def worked(invoices, cash_user):
    """Three payments: one naming its invoice (applied automatically), one from a stranger an
    analyst applied three hours after it arrived, one from a stranger still waiting."""
    first, second, _third = invoices
    customer = first.customer
    _store(
        _row(101, first.total, customer.name, first.number, first.total)
        + _row(102, "12.34", STRANGER)
        + _row(103, "7.00", STRANGER)
    )
    auto = _payment(101)
    assert auto.state == PaymentState.APPLIED and auto.automatic
    assert _payment(102).state != PaymentState.APPLIED
    manual = payment_apply(
        actor=cash_user,
        payment_id=_payment(102).pk,
        allocations=[Allocation(invoice_id=second.pk, amount=Decimal("12.34"))],
        note="the stranger's accounts payable confirmed invoice by phone",
    )
    _received_before_applied(auto, 0)
    _received_before_applied(manual, 3 * H)
    rollups.rebuild()
    return {"auto": auto, "manual": manual, "customer": customer}


def test_auto_match_rate_is_payments_applied_automatically_of_those_received(worked):
    # 3 received; matching applied one alone (the analyst's does not count)
    assert cash_kpis.auto_match(_window()) == {
        "received": 3,
        "automatic": 1,
        "rate": Decimal("0.3333"),
        "received_by_currency": {"USD": worked["auto"].amount + Decimal("19.34")},
    }


def test_receipt_to_application_median_and_p90(worked):
    # applied at once (0 s) and after 3 h; the payment still waiting is not counted
    assert cash_kpis.receipt_to_application(_window()) == {
        "applied": 2,
        "median": 0,
        "p90": 3 * H,
    }


def test_a_reversal_lowers_accuracy_after_the_next_refresh(worked, cash_user):
    # given two applications, both standing
    assert cash_kpis.accuracy(_window()) == {
        "applications": 2,
        "kept": 2,
        "reversed": 0,
        "rate": Decimal("1.0000"),
        "automatic": {"applications": 1, "kept": 1, "rate": Decimal("1.0000")},
    }
    # when the automatic one is reversed
    application = Application.objects.get(payment=worked["auto"])
    application_reverse(
        actor=cash_user, application_id=application.pk, reason="customer paid another invoice"
    )
    rollups.refresh()
    # then one of two stands, none of matching's; the auto-match rate still counts what
    # matching did, and the reopened payment has no application time any more
    figures = cash_kpis.accuracy(_window())
    assert (figures["kept"], figures["reversed"], figures["rate"]) == (1, 1, Decimal("0.5000"))
    assert figures["automatic"] == {"applications": 1, "kept": 0, "rate": Decimal("0.0000")}
    assert cash_kpis.auto_match(_window())["automatic"] == 1
    assert cash_kpis.receipt_to_application(_window()) == {
        "applied": 1,
        "median": 3 * H,
        "p90": 3 * H,
    }


def test_a_territory_filter_narrows_payments_to_known_payers(worked):
    territory = worked["customer"].territory
    ours = KpiFilters(start=_window().start, end=_window().end, territory=territory)
    other = KpiFilters(start=_window().start, end=_window().end, territory="NOWHERE")
    # the stranger's payments: the applied one now belongs to the customer; the waiting one to
    # no territory
    assert cash_kpis.auto_match(ours)["received"] == 2
    assert cash_kpis.auto_match(other)["received"] == 0


@pytest.fixture
def on_account(invoices, cash_user):
    """Unapplied cash on the customer's account: USD 10.00 put there now, USD 20.00 three days
    ago and 30.00 ten days ago, and EUR 40.00 forty days ago."""
    customer = invoices[0].customer
    _store(
        _row(201, "10.00", STRANGER)
        + _row(202, "20.00", STRANGER)
        + _row(203, "30.00", STRANGER)
        + _row(204, "40.00", STRANGER, currency="EUR")
    )
    ages = {201: 0, 202: 3, 203: 10, 204: 40}
    for check, days in ages.items():
        payment = payment_put_on_account(
            actor=cash_user,
            payment_id=_payment(check).pk,
            customer_id=customer.pk,
            reason="remittance to follow",
        )
        UnappliedCash.objects.filter(payment=payment).update(
            created_at=timezone.now() - timedelta(days=days)
        )
    rollups.rebuild()
    return customer


def test_unapplied_cash_is_aged_into_buckets_per_currency(on_account):
    rows = cash_kpis.unapplied_cash(_window())
    # per currency, never summed: < 1 d, 1–7 d, 8–30 d, > 30 d
    assert rows == [
        {
            "currency": "EUR",
            "amount": Decimal("40.00"),
            "items": 1,
            "buckets": [Decimal("0.00"), Decimal("0.00"), Decimal("0.00"), Decimal("40.00")],
        },
        {
            "currency": "USD",
            "amount": Decimal("60.00"),
            "items": 3,
            "buckets": [Decimal("10.00"), Decimal("20.00"), Decimal("30.00"), Decimal("0.00")],
        },
    ]
    # ages advance with the clock, with no refresh: 25 days on, 25, 28 and 35 days old
    later = cash_kpis.unapplied_cash(_window(), now=timezone.now() + timedelta(days=25))
    assert later[1]["buckets"] == [Decimal("0.00")] * 2 + [Decimal("30.00"), Decimal("30.00")]


def test_released_cash_leaves_the_unapplied_figure(on_account):
    UnappliedCash.objects.filter(payment__currency="EUR").update(released_at=timezone.now())
    rollups.rebuild()
    assert [row["currency"] for row in cash_kpis.unapplied_cash(_window())] == ["USD"]


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_dashboard_shows_cash_cards_with_currency_codes_and_exports_them(
    client, worked, on_account, manager_user
):
    window = _window()
    query = {"start": window.start.isoformat(), "end": window.end.isoformat()}
    client.force_login(manager_user)
    body = client.get(reverse("insights:dashboard"), query).content.decode()
    assert "Auto-match rate" in body and "1 of 7 payments applied with no one involved" in body
    assert "2 of 2 applications not reversed" in body
    assert "3.0 h" in body  # p90 of receipt to application
    # two currencies shown separately, each with its code
    assert "60.00 USD" in body and "40.00 EUR" in body
    assert "No payments received in this window." not in body

    cash = _csv(client.get(reverse("insights:export", args=["cash"]), query))
    assert cash[0] == ["figure", "count", "of", "rate", "median hours", "p90 hours"]
    assert cash[1] == ["payments applied automatically", "1", "7", "0.1429"]
    assert cash[4] == ["receipt to application", "6", "", "", "0.00", "3.00"]
    unapplied = _csv(client.get(reverse("insights:export", args=["unapplied-cash"]), query))
    assert unapplied[0] == ["currency", "amount", "items", "< 1 d", "1–7 d", "8–30 d", "> 30 d"]
    assert unapplied[1:] == [
        ["EUR", "40.00", "1", "0.00", "0.00", "0.00", "40.00"],
        ["USD", "60.00", "3", "10.00", "20.00", "30.00", "0.00"],
    ]


def test_the_api_carries_the_cash_figures(worked, manager_user):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(manager_user)
    window = _window()
    body = api.get(
        "/api/v1/kpis/", {"start": window.start.isoformat(), "end": window.end.isoformat()}
    ).json()
    cash = body["cash"]
    assert cash["auto_match"]["rate"] == "0.3333"
    assert cash["accuracy"]["rate"] == "1.0000"
    assert cash["receipt_to_application_seconds"] == {"applied": 2, "median": 0, "p90": 10800}
    assert cash["unapplied_cash"] == {
        "buckets": ["< 1 d", "1–7 d", "8–30 d", "> 30 d"],
        "currencies": [],
    }


def test_a_window_without_payments_says_so(client, manager_user):
    client.force_login(manager_user)
    body = client.get(reverse("insights:dashboard")).content.decode()
    assert "No payments received in this window." in body
    assert "No unapplied cash on account." in body
    rows = _csv(client.get(reverse("insights:export", args=["cash"])))
    assert rows[1] == ["payments applied automatically", "0", "0", ""]
