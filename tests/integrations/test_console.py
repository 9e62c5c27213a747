"""The integration console: health, dead letters with reasons, replay, pause/resume, sync now."""

import pytest
from django.urls import reverse

from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import connector_sync, inbox_process
from orders.models import Order

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_orders(erp, sandbox, django_capture_on_commit_callbacks):
    """Orders synced before their items: every one a dead letter naming the unknown SKU."""
    sandbox.state.orders = 3
    with django_capture_on_commit_callbacks(execute=True):
        for stream in ["customers", "orders"]:
            connector_sync(connector_id=erp.pk, stream=stream)
            inbox_process(connector_id=erp.pk, stream=stream)
    return InboundMessage.objects.filter(state=InboundState.DEAD)


@pytest.mark.parametrize(
    "role, status",
    [
        ("integration_admin", 200),
        ("manager", 200),
        ("credit", 403),
        ("customer_service", 403),
        ("finance", 403),
    ],
)
def test_console_is_for_integration_admins_and_managers(client, role, status, erp):
    from tests.fixtures.users import make_user

    client.force_login(make_user(f"u_{role}", role))
    for url in [
        reverse("integrations:console"),
        reverse("integrations:inbox"),
        reverse("integrations:progress", args=[erp.pk]),
    ]:
        assert client.get(url).status_code == status
    assert client.post(reverse("integrations:sync", args=[erp.pk])).status_code in (
        (302,) if status == 200 else (403,)
    )


def test_health_and_dead_letters_show_reasons_and_payloads(client, integration_user, dead_orders):
    client.force_login(integration_user)
    health = client.get(reverse("integrations:console")).content.decode()
    assert "sandbox-erp" in health and ">3</a>" in health  # three dead letters on the orders stream
    page = client.get(reverse("integrations:inbox"), {"state": "dead"}).content.decode()
    assert "lines.sku: unknown SB-" in page and "&quot;customer&quot;: &quot;SBC" in page


def test_replay_after_the_fix_processes_and_records_who(
    client, integration_user, erp, dead_orders, django_capture_on_commit_callbacks
):
    connector_sync(connector_id=erp.pk, stream="items")
    inbox_process(connector_id=erp.pk, stream="items")
    client.force_login(integration_user)
    ids = list(dead_orders.values_list("pk", flat=True))
    refused = client.post(
        reverse("integrations:replay"), {"messages": ids, "reason": ""}, follow=True
    )
    assert "A reason is required" in refused.content.decode()
    client.post(reverse("integrations:replay"), {"messages": ids, "reason": "SKUs loaded"})
    assert InboundMessage.objects.filter(pk__in=ids, state=InboundState.RECEIVED).count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        inbox_process(connector_id=erp.pk, stream="orders")
    assert Order.objects.count() == 3
    row = InboundMessage.history.filter(
        id=ids[0], history_change_reason="Replayed: SKUs loaded"
    ).get()
    assert row.history_user == integration_user


def test_pause_needs_a_reason_and_stops_pulls(client, integration_user, erp):
    client.force_login(integration_user)
    client.post(reverse("integrations:toggle", args=[erp.pk]), {"reason": ""})
    assert Connector.objects.get(pk=erp.pk).enabled
    client.post(reverse("integrations:toggle", args=[erp.pk]), {"reason": "ERP maintenance window"})
    erp.refresh_from_db()
    assert not erp.enabled
    assert connector_sync(connector_id=erp.pk, stream="customers").stored == 0
    assert (
        erp.history.latest("history_date").history_change_reason == "Paused: ERP maintenance window"
    )
    from django_celery_beat.models import PeriodicTask

    assert PeriodicTask.objects.get(name="Sync sandbox-erp").enabled is False


def test_a_failed_notice_alert_shows_on_the_console_until_resolved(client, integration_user):
    from integrations.models import IntegrationAlert
    from integrations.services.alerts import alert_raise

    # given two deliveries that failed (one alert, counting both)
    for address in ("a@x.example", "b@x.example"):
        alert_raise(
            kind=IntegrationAlert.Kind.DELIVERY_FAILED,
            message=f"Email to {address} not delivered after 6 tries: refused",
        )
    client.force_login(integration_user)
    page = client.get(reverse("integrations:console")).content.decode()
    assert "Notice not delivered</strong> ×2" in page and "b@x.example" in page
    alert = IntegrationAlert.objects.get()

    # when an integration admin resolves it, it leaves the console; resolving again changes nothing
    after = client.post(reverse("integrations:alert_resolve", args=[alert.pk]), follow=True)
    body = after.content.decode()
    assert "Alert resolved: Notice not delivered." in body and 'aria-label="Alerts"' not in body
    again = client.post(reverse("integrations:alert_resolve", args=[alert.pk]))
    assert again.status_code == 409 and "Already resolved by integration" in again.content.decode()
    # and the next failure opens a new alert
    alert_raise(kind=IntegrationAlert.Kind.DELIVERY_FAILED, message="Email to c@x.example ...")
    assert IntegrationAlert.objects.filter(resolved_at=None).count() == 1
