"""The outbox in the console: what o2c sends (WMS instructions, ERP invoices and credit memos) with
its state, attempts and last error, filtered and paged like the inbox, and dead messages replayed
with a reason recorded in their history."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from integrations.models import Connector, OutboundMessage, OutboundState
from integrations.services.outbox import outbox_replay

pytestmark = pytest.mark.django_db


@pytest.fixture
def wms(db):
    return Connector.objects.create(name="wms", kind="wms", base_url="http://127.0.0.1:9/")


@pytest.fixture
def erp(db):
    return Connector.objects.create(name="erp", kind="erp", base_url="http://127.0.0.1:9/")


def outbound(connector, topic: str, key: str, *, dead: str = "", attempts: int = 0, **payload):
    message = OutboundMessage.objects.create(
        connector=connector,
        topic=topic,
        key=key,
        payload={"key": key, **payload},
        created_at=timezone.now(),
        attempts=attempts,
    )
    if dead:
        message.mark_dead(error=dead)
        message.save()
    return message


@pytest.fixture
def dead_release(wms):
    return outbound(
        wms,
        "order_release",
        "release:SO-9",
        dead="400 Bad Request: sku SB-1 unknown",
        attempts=1,
        order="SO-9",
    )


def outbox_list(client, **params):
    return client.get(reverse("integrations:outbox"), params).content.decode()


def test_list_shows_state_attempts_and_last_error_and_filters(client, integration_user, wms, erp):
    # given messages of both connectors and several topics and states
    outbound(wms, "order_release", "release:SO-1", order="SO-1")
    outbound(wms, "order_release", "release:SO-2", dead="gave up after 8 attempts", attempts=8)
    outbound(erp, "invoice_release", "invoice:INV-1", number="INV-1")
    outbound(erp, "credit_memo", "credit_memo:CM-1", number="CM-1")
    client.force_login(integration_user)

    # the whole list
    page = outbox_list(client)
    for key in ["release:SO-1", "release:SO-2", "invoice:INV-1", "credit_memo:CM-1"]:
        assert key in page
    assert "gave up after 8 attempts" in page and '<td class="num">8</td>' in page

    # each filter
    assert "invoice:INV-1" not in outbox_list(client, connector=wms.pk)
    topic = outbox_list(client, topic="credit_memo")
    assert "credit_memo:CM-1" in topic and "invoice:INV-1" not in topic
    dead = outbox_list(client, state="dead")
    assert "release:SO-2" in dead and "release:SO-1" not in dead and "Replay selected" in dead
    found = outbox_list(client, q="SO-1")
    assert "release:SO-1" in found and "release:SO-2" not in found


def test_search_by_order_finds_its_release_invoice_and_credit_memo(
    client, integration_user, finance_user, wms, erp, released_order, ship
):
    from decimal import Decimal

    from billing.models import Invoice
    from billing.services import credit_memo_create, invoice_approve

    # given an order released to the WMS, shipped, invoiced to the ERP and partly credited
    order = released_order(lines=[("A", "4")])
    ship(order, {1: "4"})
    invoice = Invoice.objects.get()
    invoice_approve(invoice_id=invoice.pk, actor=finance_user, reason="ok")
    memo = credit_memo_create(
        invoice_id=invoice.pk,
        actor=finance_user,
        quantities={invoice.lines.get().pk: Decimal("1")},
        reason="one returned",
    )
    other = released_order(lines=[("A", "2")])
    client.force_login(integration_user)

    # when searching by its number
    page = outbox_list(client, q=order.number)

    # then each of its instructions is found, and nothing of the other order
    for key in [f"release:{order.number}", f"invoice:{invoice.number}"]:
        assert f">{key}</a>" in page
    assert f">credit_memo:{memo.number}</a>" in page
    assert f"release:{other.number}" not in page


@pytest.mark.parametrize("filters", [{}, {"state": "pending", "topic": "order_release", "q": "SO"}])
def test_a_page_costs_the_same_queries_whatever_its_length(
    client, integration_user, wms, settings, filters
):
    # given more messages than either page size
    for n in range(30):
        outbound(wms, "order_release", f"release:SO-{n:03d}", order=f"SO-{n:03d}")
    client.force_login(integration_user)
    client.get(reverse("integrations:outbox"))  # the session and the user, read once

    def queries(size: int) -> int:
        settings.O2C_PAGE_SIZE = size
        with CaptureQueriesContext(connection) as captured:
            body = outbox_list(client, **filters)
        assert body.count('href="/integrations/outbox/') >= size
        return len(captured)

    # then a page of 25 costs what a page of 3 costs
    assert queries(25) == queries(3)


def test_pages_follow_each_other_without_repeats(client, integration_user, wms, settings):
    for n in range(7):
        outbound(wms, "order_release", f"release:SO-{n:03d}")
    settings.O2C_PAGE_SIZE = 3
    client.force_login(integration_user)
    seen, params = [], {}
    for _ in range(3):
        response = client.get(reverse("integrations:outbox"), params)
        page = response.context["page"]
        seen += [m.key for m in page.rows]
        if not page.next_cursor:
            break
        params = {"after": page.next_cursor}
    assert seen == [f"release:SO-{n:03d}" for n in reversed(range(7))]
    stale = outbox_list(client, after="not-a-cursor")
    assert "That page link is no longer valid" in stale


def test_message_page_shows_payload_attempts_last_error_and_history(
    client, integration_user, dead_release
):
    client.force_login(integration_user)
    page = client.get(reverse("integrations:outbox_message", args=[dead_release.pk]))
    body = page.content.decode()
    assert "release:SO-9" in body and "Dead letter" in body
    assert "400 Bad Request: sku SB-1 unknown" in body
    assert "&quot;order&quot;: &quot;SO-9&quot;" in body
    assert "<dt>Attempts</dt><dd>1</dd>" in body
    assert "Replay this message" in body


def test_a_dead_message_replayed_with_a_reason_is_pending_and_relayed_after_commit(
    client, integration_user, dead_release, django_capture_on_commit_callbacks, monkeypatch
):
    from integrations import tasks

    relayed = []
    monkeypatch.setattr(tasks.outbox_relay_task, "delay", lambda *a: relayed.append(a))
    client.force_login(integration_user)

    # when an integration admin replays it with a reason
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("integrations:outbox_replay"),
            {"messages": [dead_release.pk], "reason": "SKU loaded in the WMS"},
            follow=True,
        )

    # then it is pending again, its attempts start over, the relay runs after commit, and its
    # history names who and why
    dead_release.refresh_from_db()
    assert dead_release.state == OutboundState.PENDING and dead_release.attempts == 0
    assert relayed == [()]
    row = dead_release.history.latest("history_date")
    assert row.history_user == integration_user
    assert row.history_change_reason == "Replayed: SKU loaded in the WMS"
    assert "Replayed 1 message(s)" in response.content.decode()


def test_a_replay_without_a_reason_is_refused_and_changes_nothing(
    client, integration_user, dead_release, django_capture_on_commit_callbacks
):
    client.force_login(integration_user)
    rows = dead_release.history.count()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("integrations:outbox_replay"),
            {
                "messages": [dead_release.pk],
                "reason": "  ",
                "next": f"/integrations/outbox/{dead_release.pk}/",
            },
            follow=True,
        )
    dead_release.refresh_from_db()
    assert dead_release.state == OutboundState.DEAD and dead_release.attempts == 1
    assert dead_release.history.count() == rows and callbacks == []
    assert "A reason is required" in response.content.decode()
    assert response.redirect_chain[-1][0] == f"/integrations/outbox/{dead_release.pk}/"


def test_the_service_replays_only_dead_messages(integration_user, wms, dead_release):
    sent = outbound(wms, "order_release", "release:SO-10")
    sent.mark_sent(at=timezone.now())
    sent.save()
    count = outbox_replay(
        actor=integration_user, message_ids=[dead_release.pk, sent.pk], reason="retry"
    )
    assert count == 1
    sent.refresh_from_db()
    assert sent.state == OutboundState.SENT


@pytest.mark.parametrize("role", ["credit", "customer_service", "finance"])
def test_the_outbox_is_for_integration_admins_and_managers(client, role, dead_release):
    from tests.fixtures.users import make_user

    client.force_login(make_user(f"u_{role}", role))
    assert client.get(reverse("integrations:outbox")).status_code == 403
    assert (
        client.get(reverse("integrations:outbox_message", args=[dead_release.pk])).status_code
        == 403
    )
    response = client.post(
        reverse("integrations:outbox_replay"), {"messages": [dead_release.pk], "reason": "x"}
    )
    assert response.status_code == 403
    dead_release.refresh_from_db()
    assert dead_release.state == OutboundState.DEAD


def test_a_manager_may_replay(client, manager_user, dead_release):
    client.force_login(manager_user)
    assert client.get(reverse("integrations:outbox")).status_code == 200
    client.post(
        reverse("integrations:outbox_replay"), {"messages": [dead_release.pk], "reason": "fixed"}
    )
    dead_release.refresh_from_db()
    assert dead_release.state == OutboundState.PENDING
