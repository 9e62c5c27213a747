"""End to end with real parts: the sandbox WMS ships a released order, a real celery worker turns
the confirmation into an invoice that needs approval, finance approves it in chromium, and the
ERP outbox message is sent and acknowledged."""

import re

import pytest
from playwright.sync_api import expect

from billing.models import Invoice, InvoiceState
from integrations.models import OutboundMessage, OutboundState
from integrations.services import connector_sync, inbox_process, outbox_relay
from integrations.tasks import connector_sync_all
from orders.models import OrderState
from tests.browser.nav import nav
from tests.fixtures.processes import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _load(connector, streams):
    for stream in streams:
        connector_sync(connector_id=connector.pk, stream=stream)
        inbox_process(connector_id=connector.pk, stream=stream)


def test_sandbox_shipment_to_invoice_approved_in_chromium_and_posted_to_the_erp(
    page,
    live_server,
    login,
    celery_worker_process,
    erp,
    wms,
    sandbox,
    billing_defaults,
    finance_user,
):
    # given the ERP's master data, stock and a few orders, released and relayed to the WMS
    sandbox.state.orders = 6
    _load(erp, ["customers", "items", "prices", "ar"])
    _load(wms, ["inventory"])
    _load(erp, ["orders"])
    outbox_relay()
    # the worker relays too (a release queues a relay when it commits) and may still hold one
    # release this relay skipped: count the WMS's releases once every one is out
    assert wait_for(
        lambda: (
            not OutboundMessage.objects.filter(
                topic="order_release", state__in=[OutboundState.PENDING, OutboundState.FAILED]
            ).exists()
        ),
        timeout=30,
    ), "releases still waiting in the outbox"
    released = len(sandbox.state.releases)
    assert released, "no sandbox order was released"

    # when the worker pulls the WMS's ship confirmations
    connector_sync_all.apply_async(args=[wms.pk])

    # then each shipment becomes an invoice for what shipped; new customers' first ones wait
    assert wait_for(lambda: Invoice.objects.count() == released, timeout=90), (
        f"{Invoice.objects.count()} invoices for {released} shipments"
    )
    invoice = Invoice.objects.filter(state=InvoiceState.PENDING_APPROVAL).order_by("pk").first()
    assert invoice is not None
    order = invoice.order
    for line in invoice.lines.select_related("order_line"):
        assert line.quantity == line.shipment_line.quantity == line.order_line.shipped_qty

    # finance approves it from the queue in the browser
    login("finance")
    nav(page, re.compile(r"^Approvals"))
    row = page.locator(f"#invoice-{invoice.pk}")
    expect(row).to_contain_text("The customer's first invoice")
    row.get_by_label(f"Reason for invoice {invoice.number}").fill("New account, PO verified")
    row.get_by_role("button", name="Approve and release").click()
    expect(row.get_by_role("status")).to_contain_text("Done: approve.")
    expect(row).to_contain_text("Released")

    # and the ERP receives the invoice once, through the outbox and the worker, and posts it
    assert wait_for(
        lambda: Invoice.objects.get(pk=invoice.pk).state == InvoiceState.POSTED, timeout=60
    ), "the ERP never acknowledged the invoice"
    message = OutboundMessage.objects.get(key=f"invoice:{invoice.number}")
    assert message.state == OutboundState.SENT and message.topic == "invoice_release"
    assert sandbox.state.invoices[message.key]["total"] == str(invoice.total)
    posted = Invoice.objects.get(pk=invoice.pk)
    assert posted.erp_reference == f"AR-{invoice.number}"
    assert posted.first_approver == finance_user
    order.refresh_from_db()
    assert order.state in (OrderState.INVOICED, OrderState.PARTIALLY_INVOICED)

    # the invoice page tells the story
    page.goto(f"{live_server.url}/billing/invoices/{invoice.pk}/")
    expect(page.get_by_role("heading", name=re.compile(invoice.number))).to_contain_text("Posted")
    expect(page.get_by_label("Approvals")).to_contain_text("First: finance")
