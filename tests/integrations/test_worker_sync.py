"""A real celery worker pulls from the sandbox over HTTP and applies what arrives, through the broker."""

import pytest

from integrations.models import InboundMessage, InboundState, OutboundMessage, OutboundState
from integrations.tasks import connector_sync_all, outbox_relay_task
from orders.models import Order
from tests.fixtures.processes import wait_for


@pytest.mark.django_db(transaction=True)
def test_worker_syncs_the_sandbox_and_relays_releases(celery_worker_process, erp, wms, sandbox):
    # given master data and stock already flowed (orders held back), and a flaky first pull
    sandbox.state.orders = 0
    sandbox.state.fail_next = [503]
    connector_sync_all.apply_async(args=[erp.pk])
    assert wait_for(
        lambda: (
            InboundMessage.objects.filter(stream="ar", state=InboundState.PROCESSED).count() == 40
        ),
        timeout=60,
    ), "master data did not arrive"
    connector_sync_all.apply_async(args=[wms.pk])
    assert wait_for(
        lambda: (
            InboundMessage.objects.filter(stream="inventory", state=InboundState.PROCESSED).count()
            == 160
        ),
        timeout=60,
    ), "stock did not arrive"

    # when the ERP publishes 30 orders and beat's next pull runs on the worker
    sandbox.state.orders = 30
    connector_sync_all.apply_async(args=[erp.pk])

    # then every sandbox order arrives once, evaluated, and released ones are relayed to the WMS
    assert wait_for(lambda: Order.objects.count() == 30, timeout=120), "orders did not arrive"
    assert wait_for(
        lambda: (
            InboundMessage.objects.filter(stream="orders", state=InboundState.PROCESSED).count()
            == 30
        ),
        timeout=60,
    )
    # each order is evaluated just after its import commits: wait until none is left unevaluated
    assert wait_for(lambda: not Order.objects.filter(state="received").exists(), timeout=60)
    released = Order.objects.filter(state="released").count()
    assert released and OutboundMessage.objects.count() == released
    outbox_relay_task.apply_async()
    assert wait_for(
        lambda: OutboundMessage.objects.filter(state=OutboundState.SENT).count() == released,
        timeout=60,
    )
    assert len(sandbox.state.releases) == released
    assert not InboundMessage.objects.exclude(state=InboundState.PROCESSED).exists()
    assert celery_worker_process.poll() is None
