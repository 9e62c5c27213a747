"""The sandbox's EDI buyer against o2c, end to end: it drops 850s in o2c's folder for it (some
malformed, one delivered twice); a real worker reads the folder and applies them; each PO
becomes the order its ground truth says (eaches, net prices); o2c's 997s and 855s reach the
buyer over HTTP, read with the buyer's own reader, which rejects nothing; its 997 for the 855s
comes back through the folder and marks them accepted."""

from decimal import Decimal

import httpx
import pytest

from demo.edi import seed_edi_partner
from integrations.models import Interchange, OutboundMessage
from integrations.services import outbox_relay
from integrations.tasks import connector_sync_all
from orders.models import Order
from tests.fixtures.processes import start_worker, stop_worker, wait_for
from tests.integrations.test_sandbox_sync import sync

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def buyer(erp, wms, sandbox, tmp_path, settings, django_capture_on_commit_callbacks):
    settings.O2C_EDI_DIR = tmp_path
    sandbox.state.orders = 0
    for row in sandbox.state.catalog.inventory:
        row["erp_on_hand"] = row["wms_on_hand"] = "100000"
    sandbox.state.catalog.customers[0]["credit_limit"] = "10000000.00"
    sync(erp, ["customers", "items", "prices", "ar"], django_capture_on_commit_callbacks)
    sync(wms, ["inventory"], django_capture_on_commit_callbacks)
    partner = seed_edi_partner(sandbox_url=sandbox.url)
    sandbox.state.edi.drop = tmp_path / partner.inbound_folder
    return partner


@pytest.fixture
def edi_worker(buyer, tmp_path):
    """A real worker that reads the same EDI folders as this test."""
    process = start_worker(name="edi-worker", extra_env={"O2C_EDI_DIR": str(tmp_path)})
    yield process
    stop_worker(process)


def _control(sandbox, **switches):
    response = httpx.post(f"{sandbox.url}/_control", json=switches)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_sandbox_buyers_orders_arrive_as_its_ground_truth_says(
    buyer, sandbox, edi_worker, tmp_path
):
    _control(sandbox, edi_duplicate=1)
    _control(sandbox, edi_send=3)
    _control(sandbox, edi_malformed=1)  # (actions run first: the switch goes in its own call)
    _control(sandbox, edi_send=1)
    connector_sync_all.delay(buyer.connector_id)  # the worker reads the folder and applies
    truth = httpx.get(f"{sandbox.url}/edi/_truth").json()["orders"]
    good = ["SBPO00001", "SBPO00002", "SBPO00003"]
    assert wait_for(lambda: Order.objects.filter(channel="edi").count() == 3, timeout=60)
    for po in good:
        order = Order.objects.get(number=f"SANDBOX-B-{po}")
        lines = sorted(
            (line.item.sku, line.ordered_qty, line.unit_price) for line in order.lines.all()
        )
        expected = sorted(
            (line["sku"], Decimal(line["quantity"]), Decimal(line["unit_price"]))
            for line in truth[po]["lines"]
        )
        assert lines == expected, po
    # the duplicate delivery changed nothing; the malformed one is rejected and kept
    assert Interchange.objects.filter(direction="in").count() == 4
    rejected = Interchange.objects.get(direction="in", state="rejected")
    assert "BEG (segment 2, element 02)" in rejected.documents.get().errors[0]
    # every file it sent has moved on (its 997s for the 855s may already be arriving: the
    # worker relays the 855s as soon as the orders are released)
    left = (tmp_path / buyer.inbound_folder).glob("*.x12")
    assert not [path.name for path in left if not path.name.startswith("ack-")]
    # o2c's 997s and the released orders' 855s reach the buyer (the worker relays them), who
    # rejects none of them
    outbox_relay()
    received = httpx.get(f"{sandbox.url}/edi/_truth").json()
    codes = sorted(r["code"] for r in received["received"])
    assert codes.count("997") == 4 and received["rejected"] == []
    released = Order.objects.filter(channel="edi", state="released").count()
    assert codes.count("855") == released
    # the buyer's 997 for the 855s comes back through the folder
    if released:
        connector_sync_all.delay(buyer.connector_id)
        assert wait_for(
            lambda: (
                not Interchange.objects.filter(
                    direction="out", documents__code="855", ack_state="awaiting"
                ).exists()
            ),
            timeout=60,
        )
    assert OutboundMessage.objects.filter(topic="edi", state="dead").count() == 0
