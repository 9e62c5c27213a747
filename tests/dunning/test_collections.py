"""Collections: what customers owe by age and their standing from how late they pay (the credit
rule holds a blocked customer's order, and cash unblocks them at once), the dunning ladder taken
once per invoice, promises kept or broken, and the collector's pages."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from core.roles import get_system_user
from dunning import receivers as dunning_receivers
from dunning.models import (
    CollectionAccount,
    CollectionContact,
    CollectionTask,
    ContactLog,
    CustomerStanding,
    DunningEvent,
    PromiseState,
    PromiseToPay,
    Standing,
    TaskState,
)
from dunning.services import accounts_refresh, dunning_run, promise_create, promises_review
from exceptions.models import ACTIVE_STATES, Hold
from tests.fixtures.billing import past_due_invoice
from tests.fixtures.factories import CustomerFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("dunning_defaults")]


def test_an_account_by_age_and_the_standing_from_the_oldest_past_due_invoice():
    customer = CustomerFactory(name="Granite Foods")
    past_due_invoice(customer, "100.00", days_past_due=10)
    past_due_invoice(customer, "200.00", days_past_due=45)
    past_due_invoice(customer, "50.00", days_past_due=-5)  # not due yet
    accounts_refresh()
    account = CollectionAccount.objects.get(customer=customer)
    assert (account.open_amount, account.past_due) == (Decimal("350.00"), Decimal("300.00"))
    assert (account.days_1_30, account.days_31_60, account.days_61_90, account.days_over_90) == (
        Decimal("100.00"),
        Decimal("200.00"),
        Decimal("0"),
        Decimal("0"),
    )
    assert account.days_past_due == 45 and account.open_invoices == 3
    # 45 days: beyond the policy's 30 for watch, within its 60 for block
    standing = CustomerStanding.objects.get(customer=customer)
    assert standing.status == Standing.WATCH
    assert account.score == Decimal("300.00") * 45 * Decimal("1.25")
    assert "oldest past-due invoice 45 days late" in standing.history.first().history_change_reason


def test_a_blocked_customers_order_is_held_and_cash_lifts_the_block_at_once(
    enter, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Beacon Hardware", credit_limit=Decimal("5000"))
    late = past_due_invoice(customer, "300.00", days_past_due=75)
    accounts_refresh()
    assert CustomerStanding.objects.get(customer=customer).status == Standing.BLOCKED
    # the ERP still says OK; the credit rule takes the worse
    assert customer.credit_status == "ok"
    order = enter(customer=customer, quantity="1")
    holds = Hold.objects.filter(order=order, reason__code="CREDIT_BLOCKED")
    assert holds.count() == 1
    # the customer pays: the standing is recomputed in the same transaction, and the held
    # order judged again once it commits
    with django_capture_on_commit_callbacks(execute=True):
        _apply_cash(late, Decimal("300.00"))
    standing = CustomerStanding.objects.get(customer=customer)
    assert standing.status == Standing.OK
    assert "nothing past due" in standing.history.first().history_change_reason
    assert not CollectionAccount.objects.filter(customer=customer).exists()
    assert not holds.filter(state__in=ACTIVE_STATES).exists()


@pytest.mark.django_db(transaction=True)  # each bank file commits, as in a worker
def test_a_run_of_bank_files_lifts_each_payers_block_once_for_the_run(enter, monkeypatch):
    from integrations.models import Connector
    from integrations.services import inbox_process, inbox_store

    # given two blocked customers, each with an order held for it
    held, files = [], []
    for n, name in enumerate(("Beacon Hardware", "Granite Foods"), start=1):
        customer = CustomerFactory(name=name, credit_limit=Decimal("5000"))
        late = past_due_invoice(customer, "300.00", days_past_due=75)
        accounts_refresh(customer_ids={customer.pk})
        order = enter(customer=customer, quantity="1")
        held.append(Hold.objects.filter(order=order, reason__code="CREDIT_BLOCKED"))
        files.append(
            {
                "id": f"LBX-{n}",
                "version": 1,
                "format": "lockbox",
                "bank_account": "021000021/99887766",
                "content": LOCKBOX_HEADER
                + f"LBX-{n},001,1,{5000 + n},300.00,USD,{name},021000021/4455{n},"
                f"{timezone.localdate()},{late.number},300.00,,,\n",
            }
        )
    assert all(holds.filter(state__in=ACTIVE_STATES).count() == 1 for holds in held)
    refreshes = []
    monkeypatch.setattr("core.gathered.MAX_WAIT", 600)  # however slow the machine
    real = dunning_receivers.refresh_customers
    monkeypatch.setattr(
        dunning_receivers, "refresh_customers", lambda ids: (refreshes.append(ids), real(ids))
    )
    # when one worker run applies both bank files, each in a transaction of its own
    bank = Connector.objects.create(name="bank", kind="bank", base_url="http://127.0.0.1:9")
    inbox_store(connector=bank, stream="statements", records=files)
    counts = inbox_process(connector_id=bank.pk, stream="statements")
    assert counts["processed"] == 2 and counts["payments_auto"] == 2
    # then both standings are OK and both orders released, by one refresh for the run
    assert set(CustomerStanding.objects.values_list("status", flat=True)) == {Standing.OK}
    assert not any(holds.filter(state__in=ACTIVE_STATES).exists() for holds in held)
    assert len(refreshes) == 1 and len(refreshes[0]) == 2


LOCKBOX_HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


def test_the_dunning_ladder_is_taken_once_perpast_due_invoice():
    with_contact = CustomerFactory(name="Granite Foods")
    CollectionContact.objects.create(customer=with_contact, name="Ann", email="ap@granite.example")
    without = CustomerFactory(name="Quimby Catering")
    first = past_due_invoice(with_contact, "120.00", days_past_due=2)
    past_due_invoice(without, "80.00", days_past_due=35)
    past_due_invoice(with_contact, "99.00", days_past_due=-3)  # not due: no step
    counts = dunning_run()
    # Granite: the friendly reminder, in its contact log (mailed after commit: next test)
    log = ContactLog.objects.get(customer=with_contact)
    assert log.channel == ContactLog.Channel.REMINDER and first.number in log.summary
    assert "120.00 USD" in log.summary
    # Quimby, 35 days: reminders with no contact become tasks, and the 30-day call is a task
    tasks = CollectionTask.objects.filter(customer=without).order_by("pk")
    assert [t.kind for t in tasks] == ["no_contact", "no_contact", "dunning"]
    assert "Call Quimby Catering about 80.00 USD" in tasks[2].text
    assert counts["reminders"] == 1 and counts["tasks"] == 3
    assert DunningEvent.objects.count() == 4  # 1 + 3 steps, one invoice each
    # run again: nothing new
    again = dunning_run()
    assert again["reminders"] == 0 and again["tasks"] == 0
    assert DunningEvent.objects.count() == 4 and CollectionTask.objects.count() == 3


def test_a_reminder_is_mailed_after_commit(django_capture_on_commit_callbacks, send_deliveries):
    customer = CustomerFactory(name="Granite Foods")
    CollectionContact.objects.create(customer=customer, email="ap@granite.example")
    past_due_invoice(customer, "120.00", days_past_due=2)
    with django_capture_on_commit_callbacks(execute=True) as handed_off:
        dunning_run()
    assert mail.outbox == [] and len(handed_off) == 1  # a delivery, handed to its task
    send_deliveries()
    assert [m.to for m in mail.outbox] == [["ap@granite.example"]]
    assert "120.00 USD past due" in mail.outbox[0].body


def test_a_broken_promise_opens_a_task_and_a_kept_one_closes(
    collections_user, django_capture_on_commit_callbacks
):
    customer = CustomerFactory(name="Granite Foods")
    invoice = past_due_invoice(customer, "500.00", days_past_due=20)
    accounts_refresh()
    promise = promise_create(
        actor=collections_user,
        customer_id=customer.pk,
        amount=Decimal("500.00"),
        currency="USD",
        promised_for=timezone.localdate(),
    )
    assert ContactLog.objects.filter(
        customer=customer, summary__contains="Promised 500.00"
    ).exists()
    # the day after the date, nothing paid: broken, and a task says so
    assert promises_review(today=timezone.localdate() + timedelta(days=1))["promises_broken"] == 1
    promise.refresh_from_db()
    assert promise.state == PromiseState.BROKEN
    task = CollectionTask.objects.get(kind=CollectionTask.Kind.BROKEN_PROMISE)
    assert task.promise == promise and "promised 500.00 USD" in task.text
    # a new promise, and cash applied to the invoice since: kept
    second = promise_create(
        actor=collections_user,
        customer_id=customer.pk,
        amount=Decimal("200.00"),
        currency="USD",
        promised_for=timezone.localdate() + timedelta(days=7),
    )
    with django_capture_on_commit_callbacks(execute=True):  # reviewed once the cash commits
        _apply_cash(invoice, Decimal("200.00"))
    second.refresh_from_db()
    assert second.state == PromiseState.KEPT and second.paid_amount == Decimal("200.00")


def _apply_cash(invoice: Invoice, amount: Decimal) -> None:
    """A payment from the customer applied to ``invoice`` by the cash application service."""
    from receivables.models import Payment
    from receivables.services import Allocation, payment_apply

    payment = Payment(
        key=f"k-{invoice.pk}-{amount}",
        amount=amount,
        currency=invoice.currency,
        value_date=timezone.localdate(),
        payer_name=invoice.customer.name,
        received_at=timezone.now(),
    )
    payment.save()
    payment_apply(
        actor=get_system_user(),
        payment_id=payment.pk,
        allocations=[Allocation(invoice_id=invoice.pk, amount=amount)],
        customer_id=None,
    )


@pytest.mark.parametrize(
    ("amount", "days", "message"),
    [
        ("0", 3, "an amount above zero"),
        ("50", -1, "today or later"),
        ("50", 120, "a payment plan"),
        ("9999", 3, "more than the 500.00 USD the customer owes"),
    ],
)
def test_a_promise_that_cannot_be_is_refused_and_nothing_is_logged(
    collections_user, amount, days, message
):
    from core.errors import ApplicationError

    customer = CustomerFactory()
    past_due_invoice(customer, "500.00", days_past_due=20)
    accounts_refresh()
    with pytest.raises(ApplicationError, match=message):
        promise_create(
            actor=collections_user,
            customer_id=customer.pk,
            amount=Decimal(amount),
            currency="USD",
            promised_for=timezone.localdate() + timedelta(days=days),
        )
    assert not PromiseToPay.objects.exists() and not ContactLog.objects.exists()


# -- the pages ------------------------------------------------------------------------------------


def _late_customers(count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        past_due_invoice(
            CustomerFactory(name=f"Late Customer {n:03d}"), f"{100 + n}.00", days_past_due=n + 1
        )
    accounts_refresh()


def test_the_worklist_orders_by_past_due_times_days_and_costs_the_same_queries(
    client, collections_user
):
    client.force_login(collections_user)
    url = reverse("dunning:worklist")
    _late_customers(3)
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        small = client.get(url).content.decode()
    _late_customers(10, 3)
    with CaptureQueriesContext(connection) as many:
        large = client.get(url).content.decode()
    assert len(many) == len(few), [q["sql"][:100] for q in many]
    names = re.findall(r"Late Customer (\d{3})", large)
    assert names[:3] == ["012", "011", "010"]  # 112 × 13 days first
    assert len(names) == 13 and small.count("Late Customer") == 3
    assert "112.00 USD" in large


def test_a_collector_logs_a_promise_and_a_contact_finance_only_looks(
    client, collections_user, finance_user
):
    customer = CustomerFactory(name="Granite Foods")
    past_due_invoice(customer, "500.00", days_past_due=20)
    accounts_refresh()
    url = reverse("dunning:account", args=[customer.pk])
    client.force_login(collections_user)
    page = client.get(url).content.decode()
    assert "Log a promise to pay" in page and "500.00 USD" in page
    by = (timezone.localdate() + timedelta(days=5)).isoformat()
    done = client.post(
        reverse("dunning:promise", args=[customer.pk]),
        {"amount": "250.00", "currency": "usd", "promised_for": by, "note": "AP run Friday"},
        follow=True,
    ).content.decode()
    assert "Promise logged: 250.00 USD by" in done and "AP run Friday" in done
    # a date in the past: refused with the reason, nothing written
    refused = client.post(
        reverse("dunning:promise", args=[customer.pk]),
        {"amount": "50", "currency": "USD", "promised_for": "2020-01-01"},
    )
    assert refused.status_code == 400 and "today or later" in refused.content.decode()
    assert PromiseToPay.objects.count() == 1
    client.post(
        reverse("dunning:contact", args=[customer.pk]),
        {"channel": "phone", "summary": "Spoke to Ann in AP"},
    )
    assert ContactLog.objects.filter(summary="Spoke to Ann in AP", by=collections_user).exists()
    # finance sees the account but cannot act on it
    client.force_login(finance_user)
    seen = client.get(url).content.decode()
    assert "Spoke to Ann in AP" in seen and "Log a promise to pay" not in seen
    assert (
        client.post(
            reverse("dunning:contact", args=[customer.pk]), {"channel": "phone", "summary": "x"}
        ).status_code
        == 403
    )


def test_a_task_done_twice_gets_a_clear_conflict(client, collections_user, collections_user_2):
    customer = CustomerFactory(name="Quimby Catering")
    past_due_invoice(customer, "80.00", days_past_due=35)
    dunning_run()
    task = CollectionTask.objects.filter(kind=CollectionTask.Kind.DUNNING).get()
    client.force_login(collections_user)
    url = reverse("dunning:task_done", args=[task.pk])
    assert (
        f"Task {task.pk} done."
        in client.post(url, {"note": "called"}, follow=True).content.decode()
    )
    client.force_login(collections_user_2)
    again = client.post(url, {"note": "called too"}, follow=True).content.decode()
    assert f"Task {task.pk} was already done by collector." in again
    task.refresh_from_db()
    assert task.state == TaskState.DONE and task.done_note == "called"


def test_a_customer_outside_the_collectors_territories_is_refused(client, db):
    from tests.fixtures.users import make_user

    west = make_user("west_collector", "collections")
    from orders.models import TerritoryAssignment

    TerritoryAssignment.objects.create(user=west, territory="WEST")
    east = CustomerFactory(territory="EAST")
    past_due_invoice(east, "80.00", days_past_due=35)
    accounts_refresh()
    client.force_login(west)
    assert client.get(reverse("dunning:account", args=[east.pk])).status_code == 403
    assert (
        "No customer has money past due" in client.get(reverse("dunning:worklist")).content.decode()
    )
