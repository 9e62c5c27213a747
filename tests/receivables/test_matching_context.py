"""What matching reads for a batch: the open invoices of the likely payers are fetched only where
an amount of the batch could settle them (open less the discount at most the payment plus the
tolerance), and a reference's swapped-digit readings only where its reading as written is not
vouched for. Shown over random invoices, terms and payments: the bounded read changes no
match."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billing.models import Invoice
from core.audit import set_state_for_insert
from receivables.matching import (
    PaymentIn,
    RemittanceLine,
    keys_for_payment,
    match_payments,
    reference_key,
)
from receivables.selectors import (
    _open_invoices,
    cash_policy,
    matching_context,
    thresholds_of,
)
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db

NAMES = ["Granite Foods Inc.", "Beacon Hardware LLC"]
#: Numbers that are each other's readings with two digits swapped, as in a dense number range.
NUMBERS = [12, 21, 13, 31, 23, 32, 45, 54]
cents = st.integers(min_value=1, max_value=300_000).map(lambda n: Decimal(n) / 100)


def _invoices(data) -> list[Invoice]:
    terms = st.sampled_from([(Decimal(0), 0), (Decimal("2.00"), 10), (Decimal("1.50"), 15)])
    customers = []
    for name in NAMES:
        percent, days = data.draw(terms, label="terms")
        customers.append(CustomerFactory(name=name, discount_percent=percent, discount_days=days))
    today, now = timezone.localdate(), timezone.now()
    made = []
    for n in range(data.draw(st.integers(min_value=1, max_value=8), label="invoices")):
        total = data.draw(cents, label="total")
        settled = data.draw(st.sampled_from([Decimal(0), Decimal(0), total / 4]), label="paid")
        invoice = Invoice(
            number=f"INV-{NUMBERS[n]:07d}",
            customer=customers[data.draw(st.integers(0, 1), label="customer")],
            billing_rule="immediate",
            currency=data.draw(st.sampled_from(["USD", "USD", "EUR"]), label="currency"),
            issued_on=today - timedelta(days=data.draw(st.integers(0, 40), label="age")),
            due_date=today + timedelta(days=data.draw(st.integers(-10, 30), label="due")),
            subtotal=total,
            total=total,
            settled_amount=settled.quantize(Decimal("0.01")),
            created_at=now,
            released_at=now,
        )
        set_state_for_insert(invoice, "released")
        made.append(invoice)
    return Invoice.objects.bulk_create(made)


def _payments(data, invoices: list[Invoice]) -> list[PaymentIn]:
    """Payments of one invoice, of a few together, with or without the discount, of part of
    one, or of any amount; naming an invoice or not."""
    payments = []
    for n in range(data.draw(st.integers(min_value=1, max_value=5), label="payments")):
        paid = data.draw(st.lists(st.sampled_from(invoices), min_size=1, max_size=3), label="paid")
        exact = sum((i.open_amount for i in paid), Decimal(0))
        amount = data.draw(
            st.sampled_from([exact, (exact * Decimal("0.98")).quantize(Decimal("0.01"))]) | cents,
            label="amount",
        )
        named = data.draw(st.booleans(), label="names an invoice")
        written = paid[0].number
        if data.draw(st.booleans(), label="two digits swapped"):
            written = written[:-2] + written[-1] + written[-2]
        payments.append(
            PaymentIn(
                key=f"p{n}",
                amount=amount,
                currency=data.draw(st.sampled_from(["USD", "USD", "EUR"]), label="currency"),
                value_date=timezone.localdate(),
                payer_name=data.draw(st.sampled_from([*NAMES, "Quimby Catering"]), label="payer"),
                remittance=((RemittanceLine(reference=written, paid=amount),) if named else ()),
            )
        )
    return payments


@given(data=st.data())
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_bounded_read_of_open_invoices_changes_no_match(data):
    Invoice.objects.all().delete()
    invoices = _invoices(data)
    payments = _payments(data, invoices)
    policy = cash_policy()
    thresholds = thresholds_of(policy)
    bounded = matching_context(payments, policy)
    customers = {invoice.customer_id for invoice in invoices}
    everything: dict[int, list] = {}
    for invoice in _open_invoices(Invoice.objects.filter(customer_id__in=customers)):
        everything.setdefault(invoice.customer_id, []).append(invoice)
    # every reading of every reference, swapped digits and all, as matching once fetched them
    keys = set().union(*(keys_for_payment(p) for p in payments))
    every_key: dict[str, list] = {}
    for invoice in _open_invoices(Invoice.objects.all()):
        if reference_key(invoice.number) in keys:
            every_key.setdefault(reference_key(invoice.number), []).append(invoice)
    full = replace(bounded, open_by_customer=everything, invoices_by_key=every_key)
    assert match_payments(payments, bounded, thresholds) == match_payments(
        payments, full, thresholds
    )


def _released(customer, *totals: str) -> list[Invoice]:
    """Released invoices of ``customer`` issued today on 30 days, numbered INV-0000001 on."""
    today, now = timezone.localdate(), timezone.now()
    made = []
    for n, total in enumerate(totals, start=1):
        invoice = Invoice(
            number=f"INV-{n:07d}",
            customer=customer,
            billing_rule="immediate",
            issued_on=today,
            due_date=today + timedelta(days=30),
            subtotal=Decimal(total),
            total=Decimal(total),
            created_at=now,
            released_at=now,
        )
        set_state_for_insert(invoice, "released")
        made.append(invoice)
    return Invoice.objects.bulk_create(made)


def test_an_invoice_too_large_for_every_payment_is_not_read_but_a_discounted_one_is():
    customer = CustomerFactory(name=NAMES[0], discount_percent=Decimal("2.00"), discount_days=10)
    today = timezone.localdate()
    made = _released(customer, "500.00", "1020.00", "5000.00")
    # 999.60 pays INV-0000002 less its 2 % discount (20.40); nothing here can pay 5,000.00
    payment = PaymentIn(
        key="p", amount=Decimal("999.60"), currency="USD", value_date=today, payer_name=NAMES[0]
    )
    context = matching_context([payment], cash_policy())
    read = sorted(i.number for i in context.open_by_customer[customer.pk])
    assert read == ["INV-0000001", "INV-0000002"]
    [result] = match_payments([payment], context, thresholds_of(cash_policy()))
    assert [a.invoice_id for a in result.best.allocations] == [made[1].pk]
    assert result.best.allocations[0].discount == Decimal("20.40")


def test_swapped_readings_are_read_only_for_a_reference_nobody_vouches_for():
    payer = CustomerFactory(name=NAMES[0])
    stranger = CustomerFactory(name=NAMES[1])
    today = timezone.localdate()
    # INV-0000012 is the payer's; INV-0000021, its digits swapped, a stranger's
    [ours] = _released(payer, "100.00")
    Invoice.objects.filter(pk=ours.pk).update(number="INV-0000012")
    [theirs] = _released(stranger, "7.00")
    Invoice.objects.filter(pk=theirs.pk).update(number="INV-0000021")

    def paying(reference: str) -> PaymentIn:
        return PaymentIn(
            key=reference,
            amount=Decimal("100.00"),
            currency="USD",
            value_date=today,
            payer_name=NAMES[0],
            remittance=(RemittanceLine(reference=reference, paid=Decimal("100.00")),),
        )

    # written right: the payer vouches for it, and no swapped reading is read
    context = matching_context([paying("INV-0000012")], cash_policy())
    assert sorted(context.invoices_by_key) == ["12"]
    # written with two digits swapped: the stranger's invoice it names is no match, so the
    # swapped readings are read, and the payer's own invoice is found among them
    typo = paying("INV-0000021")
    context = matching_context([typo], cash_policy())
    assert {"12", "21"} <= set(context.invoices_by_key)
    [result] = match_payments([typo], context, thresholds_of(cash_policy()))
    assert [a.invoice_id for a in result.best.allocations] == [ours.pk]


def test_a_payment_its_remittance_settles_in_full_reads_no_open_invoices_of_its_payer():
    customer = CustomerFactory(name=NAMES[0])
    today = timezone.localdate()
    made = _released(customer, "500.00", "300.00")
    policy = cash_policy()

    def paying(amount: str) -> PaymentIn:
        return PaymentIn(
            key="p",
            amount=Decimal(amount),
            currency="USD",
            value_date=today,
            payer_name=NAMES[0],
            remittance=(RemittanceLine(reference="INV-0000001", paid=Decimal(amount)),),
        )

    # named and paid in full: matched from the named invoice alone
    firm = paying("500.00")
    context = matching_context([firm], policy)
    assert context.open_by_customer == {}
    [result] = match_payments([firm], context, thresholds_of(policy))
    assert result.outcome == "auto"
    assert [a.invoice_id for a in result.best.allocations] == [made[0].pk]
    # 800.00 naming only INV-0000001: the rest is looked for among the payer's open invoices
    more = paying("800.00")
    context = matching_context([more], policy)
    assert sorted(i.number for i in context.open_by_customer[customer.pk]) == [
        "INV-0000001",
        "INV-0000002",
    ]
    [result] = match_payments([more], context, thresholds_of(policy))
    assert sorted(a.invoice_id for a in result.best.allocations) == sorted(i.pk for i in made)


def test_the_discount_postgresql_works_out_is_the_one_python_does():
    from receivables.selectors import _open_invoices_numbered

    # half a cent up (1.5 % of 0.70 is 0.0105), a discount that rounds to nothing (1.5 % of
    # 0.20), a discount above what is left open, a customer with no terms
    terms = CustomerFactory(
        name="Granite Foods Inc.", discount_percent=Decimal("1.50"), discount_days=15
    )
    none = CustomerFactory(name="Beacon Hardware LLC", discount_percent=Decimal(0))
    _released(terms, "0.70", "0.20", "1000.00", "333.33", "50.00")
    Invoice.objects.filter(number="INV-0000003").update(settled_amount=Decimal("995.00"))
    Invoice.objects.filter(number="INV-0000005").update(customer=none)
    numbers = [f"INV-{n:07d}" for n in range(1, 6)]
    expected = sorted(_open_invoices(Invoice.objects.filter(number__in=numbers)), key=str)
    read = sorted(_open_invoices_numbered(numbers), key=str)
    # equal, and written alike (an explanation shows the amounts as they are)
    assert read == expected
    assert [str(i) for i in read] == [str(i) for i in expected]
    by_number = {i.number: i for i in read}
    assert by_number["INV-0000001"].discount_amount == Decimal("0.01")
    assert by_number["INV-0000001"].discount_until == timezone.localdate() + timedelta(days=15)
    assert by_number["INV-0000002"].discount_until is None
    assert by_number["INV-0000003"].discount_amount == Decimal("5.00")  # what is open
    assert by_number["INV-0000004"].discount_amount == Decimal("5.00")  # 4.99995 rounded
    assert (by_number["INV-0000005"].discount_amount, by_number["INV-0000005"].discount_until) == (
        0,
        None,
    )
