"""An integration admin replays dead letters and watches a "sync now" finish, in chromium, with a
real celery worker doing the work and the sandbox answering over HTTP."""

import pytest
from playwright.sync_api import expect

from integrations.models import InboundMessage, InboundState
from integrations.services import connector_sync, inbox_process
from orders.models import Order
from tests.browser.nav import nav
from tests.fixtures.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_replays_dead_letters(
    page, live_server, login, integration_user, erp, sandbox, celery_worker_process
):
    # given three orders that arrived before their items, then the items
    sandbox.state.orders = 3
    for stream in ["customers", "orders", "items"]:
        connector_sync(connector_id=erp.pk, stream=stream)
        inbox_process(connector_id=erp.pk, stream=stream)
    assert InboundMessage.objects.filter(state=InboundState.DEAD).count() == 3

    # when the admin selects them on the dead-letter page and replays with a reason
    login("integration")
    nav(page, "Integrations")
    page.get_by_role("link", name="Dead letters", exact=True).click()
    expect(page.get_by_role("table", name="Messages")).to_contain_text("lines.sku: unknown")
    for checkbox in page.get_by_role("checkbox").all():
        checkbox.check()
    page.get_by_label("Reason to replay").fill("Items loaded after the orders")
    page.get_by_role("button", name="Replay selected").click()

    # then the page says so, and the worker applies them
    expect(page.get_by_role("status").first).to_contain_text("Replayed 3 message(s)")
    assert wait_for(lambda: Order.objects.count() == 3, timeout=60)
    page.reload()
    expect(page.get_by_text("No dead letters")).to_be_visible()


def test_admin_syncs_now_and_watches_progress(
    page, live_server, login, integration_user, erp, sandbox, celery_worker_process
):
    login("integration")
    page.goto(f"{live_server.url}/integrations/")
    page.get_by_role("button", name="Sync sandbox-erp now").click()
    progress = page.get_by_role("status", name="Sync progress of sandbox-erp")
    expect(progress).to_contain_text("customers: 2 pages, 40 messages", timeout=60_000)
    expect(progress).to_contain_text("Sync finished.", timeout=60_000)
    assert wait_for(
        lambda: Order.objects.filter(source_system="sandbox-erp").count() == 30, timeout=60
    )
