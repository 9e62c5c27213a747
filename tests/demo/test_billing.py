"""The demo finance desk: made through the services, every invoice state and the holds finance and
the warehouse should see, once."""

import pytest

from billing.models import CreditMemo, Invoice, InvoiceState, Shipment
from demo.billing import seed_billing
from demo.holds import seed_holds
from demo.master_data import seed_demo
from exceptions.models import Hold

pytestmark = pytest.mark.django_db


def test_demo_billing_covers_the_finance_desk(billing_defaults):
    seed_demo(orders=150, customers=80, items=80)
    seed_holds()

    made = seed_billing()

    assert made >= 12
    states = set(Invoice.objects.values_list("state", flat=True))
    assert {
        InvoiceState.PENDING_APPROVAL,
        InvoiceState.RELEASED,
        InvoiceState.POSTED,
        InvoiceState.PAID,
        InvoiceState.VOID,
    } <= states
    pending = Invoice.objects.filter(state=InvoiceState.PENDING_APPROVAL)
    assert pending.filter(approval_tier=2, first_approver__isnull=True).exists()
    assert pending.filter(approval_tier=2, first_approver__isnull=False).exists()
    assert pending.filter(approval_tier=1).exists()
    assert CreditMemo.objects.count() == 1
    assert Shipment.objects.filter(state="delivered").exists()
    assert Invoice.objects.filter(window_end__isnull=False).count() == 1
    codes = set(Hold.objects.values_list("reason__code", flat=True))
    assert {"SHIPMENT_SHORT", "SHIPMENT_OVER", "POD_OVERDUE", "TAX_FAILED"} <= codes

    assert seed_billing() == 0  # idempotent
