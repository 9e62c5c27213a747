"""CI smoke test of a deployment as docs/operations.md describes it: gunicorn with the repository's
config, workers by queue and one beat, all on o2c.settings.production (PostgreSQL, Redis). It is
ready, one sandbox order goes through to an invoice posted to the ERP by the real connectors and
tasks (beat's pulls, the outbox relay), and /metrics shows the requests, the tasks and the gauges."""

import re

import httpx
import pytest

from billing.models import Invoice
from core.roles import Role
from exceptions.models.hold import ACTIVE_CONDITION, Hold
from integrations.models import Connector, InboundMessage, InboundState, WorkerHeartbeat
from orders.models import Order
from tests.fixtures.processes import free_port, stop_worker, wait_for
from tests.reliability.harness import (
    deployment_schedules,
    first_load,
    metrics,
    needs_services,
    production_env,
    production_user,
    session,
    start_fleet,
    start_gunicorn,
    wait_ready,
)
from tests.summary import summary

#: Workers by queue group, as docs/operations.md runs them.
WORKERS = {
    "smoke-ingest": ("ingest",),
    "smoke-billing": ("billing", "outbox"),
    "smoke-desk": ("receivables", "notify", "default", "kpis"),
}


def sample(text: str, name: str, **labels) -> float:
    """The sum of a metric's samples whose labels include ``labels``."""
    total = 0.0
    for line in text.splitlines():
        match = re.match(rf"^{re.escape(name)}(\{{.*\}})? (\S+)$", line)
        if match and all(f'{k}="{v}"' in (match.group(1) or "") for k, v in labels.items()):
            total += float(match.group(2))
    return total


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_a_production_deployment_takes_a_sandbox_order_to_an_invoice(
    billing_defaults, quiet_sandbox
):
    sandbox = quiet_sandbox
    needs_services()
    # given connectors to the sandbox ERP and WMS, pulled by beat every 5 s
    erp = Connector.objects.create(
        name="sandbox-erp", kind="erp", base_url=sandbox.url, poll_interval_seconds=5
    )
    wms = Connector.objects.create(
        name="sandbox-wms", kind="wms", base_url=sandbox.url, poll_interval_seconds=5
    )
    first_load(erp)
    deployment_schedules(erp, wms)
    finance = production_user("smoke-finance", Role.FINANCE)

    # when gunicorn, workers by queue and one beat start on production settings
    env = production_env()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = start_gunicorn(port=port, name="smoke-gunicorn", env={**env, "WEB_CONCURRENCY": "2"})
    fleet = {}
    try:
        assert wait_for(lambda: _answers(f"{base}/health/live/"), timeout=60), "gunicorn is down"
        before = metrics(base)  # no worker yet
        fleet = start_fleet(env, WORKERS)

        # then the deployment is ready: database, cache, broker, migrations and beat
        ready = wait_ready(base)
        assert ready.get("http") == 200, ready
        assert set(ready["checks"].values()) == {"ok"}, ready

        # and master data and stock arrive by beat's pulls through the ingest worker
        assert wait_for(
            lambda: (
                InboundMessage.objects.filter(
                    stream="inventory", state=InboundState.PROCESSED
                ).exists()
                and InboundMessage.objects.filter(
                    stream="ar", state=InboundState.PROCESSED
                ).exists()
            ),
            timeout=120,
        ), "master data did not arrive"

        # when the ERP publishes orders
        sandbox.state.orders = 3

        # then one is released, relayed to the WMS, shipped and invoiced; a customer's first
        # invoice waits for finance
        invoice = wait_for(lambda: Invoice.objects.first(), timeout=150, interval=1)
        assert invoice is not None, {
            "orders": list(Order.objects.values_list("number", "state")),
            "releases": len(sandbox.state.releases),
        }
        assert invoice.state == "pending_approval", invoice.state

        # when finance approves it over HTTP (a real login, CSRF on)
        client = session(base, finance.username, behind_https=True)
        approved = client.post(
            f"/billing/invoices/{invoice.pk}/approve/",
            data={
                "reason": "first invoice checked",
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
        )
        assert approved.status_code == 302, approved.status_code

        # then the outbox posts it to the ERP, which answers with its reference
        def posted():
            invoice.refresh_from_db()
            return invoice.erp_reference and f"invoice:{invoice.number}" in sandbox.state.invoices

        assert wait_for(posted, timeout=90, interval=1), (invoice.state, sandbox.state.invoices)
        order = invoice.order
        assert order.number in {r["order"] for r in sandbox.state.releases.values()}

        # and /metrics carries the requests, the tasks the workers ran and the desk's gauges
        after = metrics(base)
        assert sample(after, "django_http_requests_total_by_method_total", method="GET") > 0
        for task in (
            "integrations.tasks.connector_sync_all",
            "integrations.tasks.outbox_relay_task",
        ):
            ran = sample(after, "o2c_tasks_total", task=task, state="succeeded")
            assert ran > sample(before, "o2c_tasks_total", task=task, state="succeeded"), task
        assert sample(before, "o2c_workers", state="alive") == 0
        assert sample(after, "o2c_workers", state="alive") == len(WORKERS)
        assert sample(after, "o2c_holds_open") == Hold.objects.filter(ACTIVE_CONDITION).count()
        workers = set(WorkerHeartbeat.objects.values_list("hostname", flat=True))
        assert {name.split("@")[0] for name in workers} >= set(WORKERS)
    finally:
        stop_worker(web)
        for process in fleet.values():
            stop_worker(process)
    summary(
        "production smoke",
        load=f"gunicorn + {len(WORKERS)} workers by queue + beat, production settings",
        faults="none",
        result=f"ready; order {order.number} invoiced {invoice.number}, posted to the ERP",
        lost=0,
    )
