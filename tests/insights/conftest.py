"""The hand-built dataset the KPI and dashboard tests share; its answers are worked out in the
KPI tests' comments."""

from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from billing.models import CreditMemo, Invoice
from exceptions.models import Hold, HoldReason
from insights import kpis
from integrations.models import Connector, InboundMessage
from tests.fixtures.factories import CustomerFactory, OrderFactory

UTC = ZoneInfo("UTC")
H = timedelta(hours=1)


def at(day: int, hour: int = 8) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def hold(order, code, raised, *, resolved=None, state=None, value="0", due=None):
    reason = HoldReason.objects.get(code=code)
    return Hold.objects.create(
        order=order,
        reason=reason,
        scope=f"order:{raised.isoformat()}",
        category=reason.category,
        queue=reason.queue,
        state=state or ("released" if resolved else "open"),
        raised_at=raised,
        due_at=due or raised + 24 * H,
        resolved_at=resolved,
        value_at_risk=Decimal(value),
    )


@pytest.fixture
def dataset(hold_policy, settings):
    settings.TIME_ZONE = "UTC"
    east = CustomerFactory(territory="EAST", segment="key")
    west = CustomerFactory(territory="WEST", segment="small")
    OrderFactory(customer=east, received_at=at(2), state="released", released_at=at(2, 9))  # o1
    o2 = OrderFactory(customer=east, received_at=at(3), state="released", released_at=at(3, 12))
    hold(o2, "CREDIT_LIMIT", at(3), resolved=at(3, 10))  # 2 h
    o3 = OrderFactory(customer=west, received_at=at(4), state="on_hold", total=Decimal("500.00"))
    hold(o3, "PRICE_BELOW_CONTRACT", at(4), value="100.00", due=at(4, 12))  # active, breached
    o4 = OrderFactory(customer=east, received_at=at(5), state="released", released_at=at(6))
    hold(o4, "CREDIT_LIMIT", at(5), resolved=at(5, 14))  # 6 h
    hold(o4, "CREDIT_LIMIT", at(5, 15), resolved=at(6, 7))  # 16 h, raised again: rework
    OrderFactory(customer=west, received_at=at(6))  # still received: no decision yet
    OrderFactory(customer=east, received_at=at(20) - timedelta(days=31), state="released")
    # invoices: latencies 100, 200, 300, 4000 s; one corrected by a credit memo
    invoices = [
        Invoice.objects.create(
            number=f"INV-T{n}",
            customer=east,
            billing_rule="immediate",
            issued_on=date(2026, 11, 7),
            due_date=date(2026, 12, 7),
            created_at=at(7),
            state="released",
            total=Decimal("10.00"),
            shipment_to_invoice_seconds=seconds,
        )
        for n, seconds in enumerate([100, 200, 300, 4000])
    ]
    CreditMemo.objects.create(
        number="CM-T1", invoice=invoices[0], reason="x", created_at=at(8), total=Decimal("1")
    )
    erp = Connector.objects.create(name="erp-x", kind="erp", base_url="http://127.0.0.1:1")
    for n in range(3):
        InboundMessage.objects.create(
            connector=erp,
            stream="orders" if n else "customers",
            external_id=f"X{n}",
            payload_hash="h",
            received_at=at(3),
            state="dead",
        )
    return kpis.KpiFilters(start=date(2026, 11, 1), end=date(2026, 11, 10))
