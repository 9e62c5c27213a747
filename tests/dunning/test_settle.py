"""A bank file's automatic matches settle their customers' collections accounts in the applying
transaction: the accounts then say exactly what a full refresh would, and only a customer whose
account cannot be settled exactly (its oldest past-due invoice paid off, an invoice newer than the
account, no account yet) is refreshed after the commit."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dunning import receivers as dunning_receivers
from dunning.models import CollectionAccount, CustomerStanding, Standing
from dunning.services import _ACCOUNT_FIELDS, Settled, accounts_refresh, accounts_settle
from tests.fixtures.billing import past_due_invoice
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.usefixtures("dunning_defaults")

FIELDS = [name for name in _ACCOUNT_FIELDS if name != "refreshed_at"]  # what a refresh computes
HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)


def _accounts(customers) -> dict:
    return {
        (a.customer_id, a.currency): tuple(getattr(a, f) for f in FIELDS)
        for a in CollectionAccount.objects.filter(customer__in=customers)
    }


def _line(item: int, customer, invoice, amount: str) -> str:
    return (
        f"LBX-S,001,{item},{7000 + item},{amount},USD,{customer.name},"
        f"021000021/5566{item},{timezone.localdate()},{invoice.number},{amount},,,\n"
    )


@pytest.mark.django_db(transaction=True)  # the file commits, as in a worker
def test_a_bank_file_settles_accounts_as_a_refresh_would(monkeypatch):
    from integrations.models import Connector
    from integrations.services import inbox_process, inbox_store

    # given: one customer whose payments leave the oldest past-due invoice open; one on watch
    # who pays off the oldest; one whose paid invoice is newer than the account
    settled = CustomerFactory(name="Harbor Supply")
    oldest = past_due_invoice(settled, "300.00", days_past_due=100)
    late = past_due_invoice(settled, "200.00", days_past_due=45)
    recent = past_due_invoice(settled, "100.00", days_past_due=10)
    past_due_invoice(settled, "50.00", days_past_due=-5)
    watched = CustomerFactory(name="Quarry Tools")
    first = past_due_invoice(watched, "80.00", days_past_due=40)
    past_due_invoice(watched, "60.00", days_past_due=5)
    newer = CustomerFactory(name="Lantern Goods")
    past_due_invoice(newer, "70.00", days_past_due=20)
    customers = [settled, watched, newer]
    accounts_refresh(customer_ids={c.pk for c in customers})
    fresh = past_due_invoice(newer, "90.00", days_past_due=-20)  # issued after the refresh
    assert CustomerStanding.objects.get(customer=watched).status == Standing.WATCH
    before = _accounts([settled])

    refreshed: list[set[int]] = []
    real = dunning_receivers.refresh_customers
    monkeypatch.setattr(
        dunning_receivers, "refresh_customers", lambda ids: (refreshed.append(set(ids)), real(ids))
    )
    content = HEADER + "".join(
        [
            _line(1, settled, recent, "100.00"),  # paid off, not the oldest
            _line(2, settled, late, "150.00"),  # partly paid
            _line(3, settled, oldest, "20.00"),  # the oldest, partly paid: still the oldest
            _line(4, watched, first, "80.00"),  # the oldest paid off: the standing may move
            _line(5, newer, fresh, "90.00"),  # newer than the account
        ]
    )
    bank = Connector.objects.create(name="bank", kind="bank", base_url="http://127.0.0.1:9")
    inbox_store(
        connector=bank,
        stream="statements",
        records=[
            {
                "id": "LBX-S",
                "version": 1,
                "format": "lockbox",
                "bank_account": "021000021/99887766",
                "content": content,
            }
        ],
    )
    counts = inbox_process(connector_id=bank.pk, stream="statements")
    assert counts["payments_auto"] == 5

    # then the first customer's account was settled in the file's transaction, not refreshed
    assert refreshed == [{watched.pk, newer.pk}]
    after = _accounts(customers)
    assert after[(settled.pk, "USD")] != before[(settled.pk, "USD")]
    account = CollectionAccount.objects.get(customer=settled)
    assert account.open_amount == Decimal("380.00")  # 650 - 270
    assert (account.days_1_30, account.days_31_60, account.days_over_90) == (
        Decimal("0.00"),
        Decimal("50.00"),
        Decimal("280.00"),
    )
    assert account.open_invoices == 3 and account.days_past_due == 100
    # and every account is what a full refresh says
    accounts_refresh(customer_ids={c.pk for c in customers})
    assert _accounts(customers) == after
    assert CustomerStanding.objects.get(customer=watched).status == Standing.OK


@pytest.mark.django_db
def test_what_cannot_be_settled_exactly_is_left_to_a_refresh():
    customer = CustomerFactory(name="Meadow Farms")
    invoice = past_due_invoice(customer, "100.00", days_past_due=10)
    other = CustomerFactory(name="Cedar Works")
    accounts_refresh(customer_ids={customer.pk})  # the other has no account yet

    def settled(who, amount, *, due=invoice.due_date, still_open=True, created=None):
        return Settled(
            customer_id=who.pk,
            currency="USD",
            due_date=due,
            amount=Decimal(amount),
            still_open=still_open,
            created_at=created or invoice.created_at,
        )

    # no account; an account of another day (its ages are that day's); more than it holds
    assert accounts_settle([settled(other, "5.00")]) == {other.pk}
    assert accounts_settle([settled(customer, "5.00")], today=timezone.localdate() + timedelta(1))
    assert accounts_settle([settled(customer, "500.00")]) == {customer.pk}
    account = CollectionAccount.objects.get(customer=customer)
    assert account.open_amount == Decimal("100.00")  # none of the above wrote anything
    # past due falling below the policy's minimum (10.00) would move the days past due
    assert accounts_settle([settled(customer, "95.00")]) == {customer.pk}
    # within it, settled exactly
    assert accounts_settle([settled(customer, "40.00")]) == set()
    account.refresh_from_db()
    assert (account.open_amount, account.past_due, account.days_1_30) == (Decimal("60.00"),) * 3


@pytest.mark.django_db(transaction=True)  # each bank file commits, as in a worker
def test_a_block_lifted_by_a_later_file_of_the_run_releases_its_order(enter, monkeypatch):
    from exceptions.models import ACTIVE_STATES, Hold
    from integrations.models import Connector
    from integrations.services import inbox_process, inbox_store

    # given a customer the first file's cash settles exactly, and a blocked one with an order
    # held for it, whom the second file's cash pays up (a refresh, after the commit)
    settled = CustomerFactory(name="Harbor Supply")
    past_due_invoice(settled, "300.00", days_past_due=20)
    paid = past_due_invoice(settled, "100.00", days_past_due=10)
    blocked = CustomerFactory(name="Beacon Hardware", credit_limit=Decimal("5000"))
    late = past_due_invoice(blocked, "300.00", days_past_due=75)
    accounts_refresh(customer_ids={settled.pk, blocked.pk})
    order = enter(customer=blocked, quantity="1")
    held = Hold.objects.filter(order=order, reason__code="CREDIT_BLOCKED")
    assert held.filter(state__in=ACTIVE_STATES).count() == 1
    monkeypatch.setattr("core.gathered.MAX_WAIT", 600)  # one gathered run at the end
    bank = Connector.objects.create(name="bank", kind="bank", base_url="http://127.0.0.1:9")
    inbox_store(
        connector=bank,
        stream="statements",
        records=[
            {
                "id": f"LBX-{n}",
                "version": 1,
                "format": "lockbox",
                "bank_account": "021000021/99887766",
                "content": HEADER + _line(n, customer, invoice, amount),
            }
            for n, (customer, invoice, amount) in enumerate(
                [(settled, paid, "100.00"), (blocked, late, "300.00")], start=1
            )
        ],
    )
    # when one worker run applies both files, each in a transaction of its own
    counts = inbox_process(connector_id=bank.pk, stream="statements")
    assert counts["processed"] == 2 and counts["payments_auto"] == 2
    # then the block is lifted before the held order is judged again: it is released
    assert CustomerStanding.objects.get(customer=blocked).status == Standing.OK
    assert not held.filter(state__in=ACTIVE_STATES).exists()
