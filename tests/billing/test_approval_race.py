"""Two finance approvers click Approve on one invoice at the same moment: exactly one releases it,
the other hears who did, and the order records the invoice once."""

import threading
from decimal import Decimal

import pytest
from django.db import connections

from billing.models import Invoice, InvoiceState
from billing.services import invoice_approve
from o2c.errors import Conflict
from orders.models import OrderState
from tests.fixtures.users import make_user


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_approvals_of_one_invoice(released_order, ship):
    # given a customer's first invoice, waiting for finance (transactional: a connection per thread)
    order = released_order(lines=[("B", "4")])
    ship(order, {1: "4"})
    invoice = Invoice.objects.get()
    assert invoice.state == InvoiceState.PENDING_APPROVAL
    approvers = [make_user("fin_a", "finance"), make_user("fin_b", "finance")]
    barrier = threading.Barrier(2)
    outcomes = {}

    def approve(user):
        try:
            barrier.wait(timeout=10)
            outcomes[user.username] = invoice_approve(
                invoice_id=invoice.pk, actor=user, reason=f"by {user.username}"
            )
        except Conflict as exc:
            outcomes[user.username] = exc
        finally:
            connections.close_all()

    # when both approve at once
    threads = [threading.Thread(target=approve, args=(user,)) for user in approvers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # then exactly one succeeds and the other is told who released it
    wins = [o for o in outcomes.values() if isinstance(o, Invoice)]
    conflicts = [o for o in outcomes.values() if isinstance(o, Conflict)]
    assert len(wins) == 1 and len(conflicts) == 1, outcomes
    assert f"already released by {wins[0].first_approver.username}" in conflicts[0].message
    assert Invoice.history.filter(id=invoice.pk, state=InvoiceState.RELEASED).count() == 1
    order.refresh_from_db()
    assert order.state == OrderState.INVOICED
    assert order.lines.get().invoiced_qty == Decimal("4")  # recorded once, not twice
