"""Two cash analysts apply the same payment at the same moment, each on a connection of their own
(one accepting matching's suggestion, the other accepting it too or splitting it by hand): one
succeeds, the other gets a clear conflict naming who applied it, and the money is applied once."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from billing.models import Invoice
from core.audit import set_state_for_insert
from core.errors import Conflict
from core.roles import Role
from receivables.models import Application, Payment, PaymentState
from receivables.services import Allocation, payment_accept, payment_apply
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user
from tests.summary import summary

ROUNDS = 6


def _suggested_payments(n: int) -> list[Payment]:
    """``n`` payments waiting in the queue, each suggested for two invoices of its customer."""
    customer = CustomerFactory(name="Granite Foods Inc.")
    today, now = timezone.localdate(), timezone.now()
    invoices = []
    for k in range(2 * n):
        total = Decimal(400 + 10 * k)
        invoice = Invoice(
            number=f"INV-{k + 1:07d}",
            customer=customer,
            billing_rule="immediate",
            issued_on=today - timedelta(days=5),
            due_date=today + timedelta(days=25),
            subtotal=total,
            total=total,
            created_at=now,
            released_at=now,
        )
        set_state_for_insert(invoice, "released")
        invoices.append(invoice)
    Invoice.objects.bulk_create(invoices)
    payments = []
    for k in range(n):
        pair = invoices[2 * k : 2 * k + 2]
        payment = Payment(
            key=f"race-{k}",
            entry_reference=f"RACE-{k}",
            amount=sum(i.total for i in pair),
            currency="USD",
            value_date=today,
            payer_name=customer.name,
            method="ach",
            received_at=now,
            customer=customer,
            outcome="suggested",
            confidence=Decimal("0.85"),
            explanation="two invoices add up; the payer's name matches",
            candidates=[
                {
                    "customer_id": customer.pk,
                    "customer": customer.name,
                    "confidence": "0.85",
                    "explanation": "two invoices add up; the payer's name matches",
                    "unapplied": "0.00",
                    "allocations": [
                        {
                            "invoice_id": i.pk,
                            "invoice": i.number,
                            "amount": str(i.total),
                            "discount": "0.00",
                            "short": "0.00",
                            "reason_code": "",
                        }
                        for i in pair
                    ],
                }
            ],
        )
        set_state_for_insert(payment, PaymentState.SUGGESTED)
        payment.save()
        payments.append(payment)
    return payments


def _at_once(*actions) -> list:
    """Run the actions on threads released by one barrier; each result or the error raised."""
    barrier = threading.Barrier(len(actions))
    outcomes: list = [None] * len(actions)

    def run(index, action):
        try:
            barrier.wait(timeout=30)
            outcomes[index] = action()
        except Exception as exc:  # noqa: BLE001 - the outcome under test
            outcomes[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n, a)) for n, a in enumerate(actions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "an analyst's request hung"
    return outcomes


@pytest.mark.django_db(transaction=True)
def test_two_analysts_applying_one_payment_at_once_get_one_success_and_one_clear_conflict():
    analysts = [make_user(f"cash_{n}", Role.CASH_APPLICATION) for n in range(2)]
    payments = _suggested_payments(ROUNDS)
    for round_, payment in enumerate(payments):
        first, second = analysts if round_ % 2 == 0 else analysts[::-1]
        by_hand = [
            Allocation(invoice_id=c["invoice_id"], amount=Decimal(c["amount"]))
            for c in payment.candidates[0]["allocations"]
        ]
        # when one accepts the suggestion and the other accepts it too (or splits it by hand)
        # at the same moment
        outcomes = _at_once(
            lambda p=payment, a=first: payment_accept(actor=a, payment_id=p.pk),
            (lambda p=payment, a=second: payment_accept(actor=a, payment_id=p.pk))
            if round_ < ROUNDS // 2
            else (
                lambda p=payment, a=second, s=by_hand: payment_apply(
                    actor=a, payment_id=p.pk, allocations=s, note="split by hand"
                )
            ),
        )
        # then exactly one succeeds, and the other is told who did it and that nothing changed
        won = [o for o in outcomes if isinstance(o, Payment)]
        lost = [o for o in outcomes if isinstance(o, Exception)]
        assert len(won) == 1 and len(lost) == 1, outcomes
        assert isinstance(lost[0], Conflict), repr(lost[0])
        winner = won[0].applied_by.username
        assert str(lost[0]) == (
            f"This payment is already applied (by {winner}); nothing was changed."
        ), str(lost[0])
        # and the money is applied once: one application per invoice, the payment and its
        # invoices settled once, one "applied" step in the payment's history
        payment.refresh_from_db()
        assert payment.state == PaymentState.APPLIED
        assert payment.applied_amount == payment.amount and payment.unapplied_amount == 0
        applications = Application.objects.filter(payment=payment)
        assert applications.count() == 2
        assert {a.applied_by.username for a in applications} == {winner}
        for application in applications:
            invoice = application.invoice
            assert invoice.settled_amount == invoice.total == application.amount
        assert payment.history.filter(state=PaymentState.APPLIED).count() == 1
    summary(
        "two analysts apply one payment",
        load=f"{ROUNDS} payments x 2 analysts",
        faults="concurrent accept / split",
        result="1 success + 1 conflict each",
        lost=0,
    )
