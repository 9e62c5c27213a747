"""What o2c sends an EDI partner, each read back with o2c's own reader: the 855 when the order is
decided (a held order's when its hold settles), the 856 for each shipment with its hierarchy,
SSCC-18 and lots, and the 810 with the invoice's shipped quantities and totals, including the
UOM conversion and allowances of the 850."""

from decimal import Decimal

import pytest

from billing.models import Invoice, ShipmentLine
from billing.services.approvals import invoice_approve
from core.roles import get_system_user
from exceptions.models import ACTIVE_STATES, Hold
from exceptions.services import hold_reject
from exceptions.services.remedies import hold_reevaluate
from integrations.edi import outbound, x12
from integrations.edi.models import Document
from integrations.models import OutboundMessage
from orders.models import ARBalance, Order, OrderState
from tests.edi.samples import interchange, po_850
from tests.edi.test_intake import _apply, _receive
from tests.edi.test_intake import partner as partner  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db


def _sent(code):
    """The rows of each ``code`` set sent so far, oldest first."""
    found = []
    for message in OutboundMessage.objects.filter(topic="edi").order_by("pk"):
        for transaction_set in x12.read(message.payload["x12"]).sets:
            # every document o2c writes reads back with sound envelopes and counts
            assert transaction_set.accepted, transaction_set.reasons()
            if transaction_set.code == code:
                found.append([s.format("", "*", ">") for s in transaction_set.segments])
    return found


def _order(partner, capture, po, **kwargs):
    ARBalance.objects.get_or_create(
        customer=partner.customer, defaults={"open_amount": 0, "as_of": "2026-12-01T00:00:00Z"}
    )
    control = f"{abs(hash(po)) % 10**9:09d}"
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850(po, **kwargs))])], control=control), capture
    )
    with capture(execute=True):
        _apply(partner)
    return Order.objects.get(number=f"ACME-{po}")


def test_a_released_order_is_acknowledged_once_line_by_line(
    partner, django_capture_on_commit_callbacks
):
    order = _order(partner, django_capture_on_commit_callbacks, "PO-20")
    assert order.state == OrderState.RELEASED
    [ack] = _sent("855")
    assert ack[1] == "BAK*00*AD*PO-20*20261205" and ack[2] == "REF*VN*ACME-PO-20"
    assert "PO1*1*24*EA*10**VP*SKU-A" in ack and "ACK*IA*24*EA*068*20261215" in ack
    assert Document.objects.get(code="855").order == order
    outbound.acknowledge([order], decided=True)  # a second decision sends nothing more
    assert len(_sent("855")) == 1


def test_a_held_order_is_acknowledged_when_its_hold_settles(
    partner, django_capture_on_commit_callbacks
):
    order = _order(partner, django_capture_on_commit_callbacks, "PO-21", ship_to=("92", "GONE"))
    assert order.state == OrderState.ON_HOLD and _sent("855") == []
    order.ship_to = partner.customer.ship_tos.get()
    order.save(update_fields=["ship_to"])
    hold = Hold.objects.get(order=order, state__in=ACTIVE_STATES)
    with django_capture_on_commit_callbacks(execute=True):
        hold_reevaluate(hold_id=hold.pk, actor=get_system_user())
    order.refresh_from_db()
    assert order.state == OrderState.RELEASED
    [ack] = _sent("855")
    assert ack[1].startswith("BAK*00*AD*PO-21") and "ACK*IA*24*EA*068*20261215" in ack


def test_a_rejected_order_is_acknowledged_as_rejected(
    partner, cs_user, django_capture_on_commit_callbacks
):
    order = _order(partner, django_capture_on_commit_callbacks, "PO-23", ship_to=("92", "GONE"))
    hold = Hold.objects.get(order=order, state__in=ACTIVE_STATES)
    with django_capture_on_commit_callbacks(execute=True):
        hold_reject(hold_id=hold.pk, actor=cs_user, reason="No such store", confirm_cancel=True)
    [ack] = _sent("855")
    assert ack[1].startswith("BAK*00*RJ*PO-23") and "ACK*IR*0*EA*068*20261215" in ack


def test_a_shipment_sends_an_856_and_its_invoice_an_810_with_shipped_quantities(
    partner, billing_defaults, ship, finance_user, django_capture_on_commit_callbacks
):
    partner.sscc, partner.gs1_prefix = True, "0614141"
    partner.save()
    # the contract price is the allowance's: no pricing hold
    from orders.models import Item

    Item.objects.filter(sku="SKU-A").update(list_price=Decimal("9"))
    lines = [
        ("1", "2", "CA", "120.00", [("UP", "012345678905")],
         [["SAC", "A", "C310", "", "", "", "R", "10"]]),
    ]  # fmt: skip
    order = _order(partner, django_capture_on_commit_callbacks, "PO-22", lines=lines)
    shipment = ship(order, {1: "20"})  # 20 of the 24 eaches: short
    ShipmentLine.objects.filter(shipment=shipment).update(lot="L-77")
    [asn] = _sent("856")
    assert asn[1].startswith("BSN*00*" + shipment.external_id)
    hierarchy = [row for row in asn if row.startswith("HL*")]
    assert hierarchy == ["HL*1**S", "HL*2*1*O", "HL*3*2*P", "HL*4*3*I"]
    assert "REF*CN*1Z999" in asn and "PRF*PO-22" in asn and "SN1**20*EA" in asn
    man = next(row for row in asn if row.startswith("MAN*GM*"))
    code = man.split("*")[2]
    assert len(code) == 18 and code[1:8] == "0614141"
    assert outbound.check_digit(code[:17]) == int(code[17])
    invoice = Invoice.objects.get(order=order)
    assert _sent("810") == []  # the customer's first invoice waits for finance
    with django_capture_on_commit_callbacks(execute=True):
        invoice_approve(
            invoice_id=invoice.pk, actor=finance_user, reason="First EDI invoice checked"
        )
    invoice.refresh_from_db()
    assert invoice.state == "released"
    [bill] = _sent("810")
    # 20 eaches at 9.00 (120.00 a case of 12, 10 % off), tax on top: the invoice's own total
    assert "IT1*1*20*EA*9**VP*SKU-A" in bill
    assert f"TDS*{int(invoice.total * 100)}" in bill
    assert bill[1].startswith(f"BIG*{invoice.issued_on:%Y%m%d}*{invoice.number}**PO-22")


def test_sscc_check_digit_matches_gs1s_example():
    # GS1's published example: 0 0614141 123456789 -> check digit 0
    assert outbound.check_digit("00614141123456789") == 0
    assert outbound.sscc("0614141", 123456789) == "006141411234567890"
