"""A property of cash application, over random invoices and random payments applied by matching
and by hand (accepted, split, put on account, reversed, written off; many of the requests
invalid): no invoice is ever settled and credited beyond its total, no payment's money applied
and held on account beyond its amount, and a refused request changes nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice
from core.audit import set_state_for_insert
from core.errors import ApplicationError
from core.money import ZERO
from core.roles import Role, get_system_user
from receivables.models import (
    APPLICABLE_STATES,
    Application,
    Payment,
    UnappliedCash,
    WriteOff,
)
from receivables.parsers import parse_lockbox
from receivables.services import (
    Allocation,
    application_reverse,
    payment_accept,
    payment_apply,
    payment_put_on_account,
    statement_store,
    write_off_create,
)
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

HEADER = (
    "lockbox,batch,item,check_number,amount,currency,payer_name,payer_account,deposit_date,"
    "invoice_reference,amount_paid,discount,adjustment,reason_code\n"
)
NAMES = ["Granite Foods Inc.", "Beacon Hardware LLC"]
#: An invoice id no invoice has: a request naming it is refused.
NO_INVOICE = 10**9

cents = st.sampled_from(
    [Decimal("100.00"), Decimal("250.50"), Decimal("999.99"), Decimal("1234.56")]
) | st.integers(min_value=1, max_value=150_000).map(lambda n: Decimal(n) / 100)
#: Amounts an analyst might type, invalid ones among them (negative, zero, far too large).
typed = st.one_of(
    cents,
    st.integers(min_value=-5_000, max_value=0).map(lambda n: Decimal(n) / 100),
    st.integers(min_value=150_000, max_value=900_000).map(lambda n: Decimal(n) / 100),
)


def _ledger() -> tuple:
    """Everything a request could change, as plain values."""
    return (
        list(Invoice.objects.order_by("pk").values_list("pk", "settled_amount", "state")),
        list(
            Payment.objects.order_by("pk").values_list(
                "pk", "state", "applied_amount", "unapplied_amount", "customer_id"
            )
        ),
        list(Application.objects.order_by("pk").values_list("pk", "amount", "reversed_at")),
        list(UnappliedCash.objects.order_by("pk").values_list("pk", "amount")),
        list(WriteOff.objects.order_by("pk").values_list("pk", "amount", "state")),
    )


def _never_over_applied() -> None:
    for number, total, settled, credited in Invoice.objects.values_list(
        "number", "total", "settled_amount", "credited_amount"
    ):
        assert settled >= 0 and settled + credited <= total, (number, total, settled, credited)
    for key, amount, applied, unapplied in Payment.objects.values_list(
        "key", "amount", "applied_amount", "unapplied_amount"
    ):
        assert applied >= 0 and unapplied >= 0, key
        assert applied + unapplied <= amount, (key, amount, applied, unapplied)


def _invoices(data) -> list[Invoice]:
    customers = [CustomerFactory(name=name) for name in NAMES]
    today, now = timezone.localdate(), timezone.now()
    made = []
    for n in range(data.draw(st.integers(min_value=1, max_value=4), label="invoices")):
        total = data.draw(cents, label="total")
        credited = data.draw(
            st.sampled_from([Decimal(0), Decimal(0), (total / 3).quantize(Decimal("0.01"))]),
            label="credited",
        )
        invoice = Invoice(
            number=f"INV-{n + 1:07d}",
            customer=customers[data.draw(st.integers(0, 1), label="customer")],
            billing_rule="immediate",
            currency=data.draw(st.sampled_from(["USD", "USD", "USD", "EUR"]), label="currency"),
            issued_on=today - timedelta(days=3),
            due_date=today + timedelta(days=27),
            subtotal=total,
            total=total,
            credited_amount=credited,
            created_at=now,
            released_at=now,
        )
        set_state_for_insert(invoice, "released")
        made.append(invoice)
    return Invoice.objects.bulk_create(made)


def _bank_file(data, invoices: list[Invoice]) -> str:
    """Checks paying some invoices exactly, some in part or over, some naming the wrong one or
    none, some from a stranger; each keyed by its item."""
    rows = []
    for item in range(1, data.draw(st.integers(min_value=2, max_value=4), label="checks") + 1):
        invoice = data.draw(st.sampled_from(invoices), label="paid invoice")
        amount = data.draw(
            st.sampled_from([sum(i.total for i in invoices), invoice.open_amount, invoice.total])
            | cents,
            label="check amount",
        )
        payer = data.draw(st.sampled_from(["Quimby Catering", *NAMES]), label="payer")
        reference = data.draw(st.sampled_from(["", invoice.number, "INV-0000099"]), label="ref")
        currency = data.draw(st.sampled_from(["USD", "EUR"]), label="check currency")
        rows.append(
            f"LBX-1,001,{item},{7000 + item},{amount},{currency},{payer},021000021/77{item},"
            f"{timezone.localdate()},{reference},{amount if reference else ''},,,\n"
        )
    return HEADER + "".join(rows)


def _amount(data, open_amount: Decimal, payment_open: Decimal, label: str) -> Decimal:
    """An amount an analyst might type: right at the limits (what the invoice owes, the money
    left on the payment), a cent beyond them, part of them, or invalid (negative, zero)."""
    cent = Decimal("0.01")
    limits = st.sampled_from(
        [
            open_amount + cent,
            open_amount,
            payment_open + cent,
            payment_open,
            (open_amount / 2).quantize(cent),
            Decimal("-1.00"),
            Decimal(0),
        ]
    )
    return data.draw(st.one_of(limits, limits, typed), label=label)


def _request(data, actor, invoices: list[Invoice]):
    """One analyst request, drawn: its name and a call that makes it."""
    payments = list(Payment.objects.order_by("pk"))
    applications = list(Application.objects.order_by("pk").values_list("pk", flat=True))
    owed = {i.pk: i.open_amount for i in Invoice.objects.filter(pk__in=[i.pk for i in invoices])}
    kind = data.draw(
        st.sampled_from(
            ["split", "split", "split", "accept", "reverse", "write_off", "on_account"]
        ),
        label="request",
    )
    if kind == "write_off" or not payments:
        invoice_id = data.draw(st.sampled_from(sorted(owed)), label="written off")
        amount = _amount(data, owed[invoice_id], Decimal("60.00"), "write-off")
        return "write_off", lambda: write_off_create(
            actor=actor, invoice_id=invoice_id, amount=amount, reason="small balance"
        )
    # mostly a payment still waiting for a person (an applied one is refused whole)
    waiting = [p for p in payments if p.state in APPLICABLE_STATES] or payments
    payment = data.draw(st.sampled_from(waiting) | st.sampled_from(payments), label="payment")
    if kind == "reverse" and applications:
        application_id = data.draw(st.sampled_from(applications), label="application")
        return kind, lambda: application_reverse(
            actor=actor, application_id=application_id, reason="applied to the wrong invoice"
        )
    if kind == "accept":
        candidate = data.draw(st.integers(min_value=0, max_value=2), label="candidate")
        return kind, lambda: payment_accept(actor=actor, payment_id=payment.pk, candidate=candidate)
    customer_id = invoices[0].customer_id
    if kind == "on_account":
        return kind, lambda: payment_put_on_account(
            actor=actor, payment_id=payment.pk, customer_id=customer_id, reason="no invoice yet"
        )
    allocations = []
    for _ in range(data.draw(st.integers(min_value=1, max_value=3), label="allocations")):
        invoice_id = data.draw(st.sampled_from([*sorted(owed), NO_INVOICE]), label="invoice")
        allocations.append(
            Allocation(
                invoice_id=invoice_id,
                amount=_amount(data, owed.get(invoice_id, ZERO), payment.open_amount, "amount"),
                discount=data.draw(st.sampled_from([ZERO, ZERO, Decimal("1.00")]), label="disc"),
            )
        )
    who = data.draw(st.sampled_from([customer_id, None]), label="rest to")
    return "split", lambda: payment_apply(
        actor=actor, payment_id=payment.pk, allocations=allocations, customer_id=who
    )


@pytest.fixture
def analyst(db):
    return make_user("cash_prop", Role.CASH_APPLICATION)


@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI does not flake on a lucky draw
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_cash_is_never_applied_beyond_an_invoice_or_a_payment(analyst, data):
    # each example on a ledger of its own, rolled back afterwards
    with transaction.atomic():
        # given random invoices, some credited, some in euros
        invoices = _invoices(data)
        # when the bank's checks are stored and matching applies what it is sure of
        for statement in parse_lockbox(_bank_file(data, invoices)):
            statement_store(statement=statement, source="prop-bank", actor=get_system_user())
        _never_over_applied()
        # and analysts make random requests, many of them invalid
        for _ in range(data.draw(st.integers(min_value=2, max_value=8), label="requests")):
            kind, request = _request(data, analyst, invoices)
            before = _ledger()
            try:
                request()
            except ApplicationError:
                # then a refused request changes nothing
                assert _ledger() == before, kind
            # and no invoice or payment is ever over-applied
            _never_over_applied()
        transaction.set_rollback(True)
