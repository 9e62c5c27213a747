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


def test_a_bank_file_is_shown_with_its_account_numbers_masked(client, integration_user):
    from pathlib import Path

    from integrations.services import inbox_store

    fixture = Path(__file__).parents[1] / "receivables" / "fixtures" / "bai2_prior_day.txt"
    bank = Connector.objects.create(name="test-bank", kind="bank", base_url="http://127.0.0.1:9")
    # given a BAI2 file kept in the inbox, a dead letter for a bad amount
    content = fixture.read_text().replace("16,195,500000,", "16,195,5000x0,")
    inbox_store(
        connector=bank,
        stream="statements",
        records=[
            {
                "id": "BAI2-1",
                "version": 1,
                "format": "bai2",
                "bank_account": "4455667788",
                "content": content,
            }
        ],
    )
    inbox_process(connector_id=bank.pk, stream="statements")
    message = InboundMessage.objects.get(connector=bank)
    assert message.state == InboundState.DEAD
    assert "4455667788" in str(message.payload)  # kept as the bank sent it, for replay
    client.force_login(integration_user)
    # when an integration admin reads it, on its page and in the dead letters
    for url, query in [
        (reverse("integrations:inbox_message", args=[message.pk]), {}),
        (reverse("integrations:inbox"), {"state": "dead"}),
    ]:
        page = client.get(url, query).content.decode()
        # then no account number shows, only its last four digits; the bad line still does
        for number in ("4455667788", "000123456789", "DE44500105175407324931"):
            assert number not in page, url
        assert "03,••••7788,USD" in page and "DACT: ••••6789" in page
        assert "16,195,5000x0," in page
