"""Mail and chat that arrive: written with what caused them, sent after commit and once, retried
by a real worker when the mail server refuses, and after the last try marked failed with an
integration alert, never dropped. Chat goes through apprise to a real loopback HTTP server."""

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from core.deliveries import (
    chat_channel_id,
    chat_messages,
    deliveries_enqueue,
    deliveries_retry,
    deliveries_sweep,
    delivery_send,
    mail_enqueue,
)
from core.models import Delivery, DeliveryChannel, DeliveryStatus, NoticeKind
from core.tasks import delivery_send_task
from exceptions.notifications import notify_people
from integrations.models import IntegrationAlert
from tests.fixtures.mail import delivered
from tests.fixtures.processes import start_worker, stop_worker, wait_for


@pytest.mark.django_db
def test_a_mail_is_sent_only_after_commit_and_only_once(django_capture_on_commit_callbacks):
    # given a mail written in a transaction that has not committed yet
    with django_capture_on_commit_callbacks(execute=False) as handed_off:
        delivery = mail_enqueue(to="ap@acme.example", subject="Reminder", body="Pay invoice 7")
        # then nothing is sent while the transaction is open
        assert mail.outbox == []
    # the row waits, and its task was handed over for the commit only
    assert len(handed_off) == 1 and mail.outbox == []
    assert Delivery.objects.get().status == DeliveryStatus.PENDING

    # when its task runs (after commit), and runs again (a redelivery, or the sweep)
    delivery_send_task.apply(args=[delivery.pk])
    delivery_send_task.apply(args=[delivery.pk])

    # then the mail arrived once
    assert [(m.to, m.subject, m.body) for m in mail.outbox] == [
        (["ap@acme.example"], "Reminder", "Pay invoice 7")
    ]
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 1)
    assert delivery.sent_at is not None


@pytest.mark.django_db
def test_a_rolled_back_transaction_sends_nothing(django_capture_on_commit_callbacks):
    # when the transaction that wrote a mail fails
    with (
        django_capture_on_commit_callbacks(execute=True) as handed_off,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        mail_enqueue(to="ap@acme.example", subject="Reminder", body="never")
        raise RuntimeError("the escalation failed")
    # then there is no row, no task and no mail
    assert not Delivery.objects.exists() and handed_off == [] and mail.outbox == []


@pytest.mark.django_db
def test_a_refused_mail_waits_longer_each_try_then_arrives(settings, tmp_path, monkeypatch):
    # given a mail server that refuses the first two messages
    monkeypatch.setenv("O2C_TEST_MAIL_DIR", str(tmp_path))
    monkeypatch.setenv("O2C_TEST_MAIL_FAILURES", "2")
    settings.EMAIL_BACKEND = "tests.fixtures.mail.FlakyBackend"
    settings.O2C_NOTIFY_RETRY_SECONDS = 30
    delivery = mail_enqueue(to="cfo@acme.example", subject="Escalated", body="hold 1")

    # when it is tried three times
    first = delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.last_error == "ConnectionRefusedError: mail server down (refusal 1)"
    second = delivery_send(delivery_id=delivery.pk)
    third = delivery_send(delivery_id=delivery.pk)

    # then it retried with a growing wait (30 s, then 60 s, less jitter) and arrived on the third
    assert [first[0], second[0], third[0]] == ["retry", "retry", "sent"]
    assert 22 <= first[1] <= 30 and 45 <= second[1] <= 60
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.SENT, 3)
    assert len(delivered(tmp_path)) == 1 and "cfo@acme.example" in delivered(tmp_path)[0]


@pytest.mark.django_db
def test_the_sweep_enqueues_only_deliveries_whose_task_was_lost():
    now = timezone.now()
    lost = Delivery.objects.create(
        channel=DeliveryChannel.EMAIL, address="a@x.example", subject="s", body="b",
        created_at=now - timedelta(minutes=20), next_attempt_at=now - timedelta(minutes=20),
    )  # fmt: skip
    Delivery.objects.create(
        channel=DeliveryChannel.EMAIL, address="b@x.example", subject="s", body="b",
        created_at=now, next_attempt_at=now + timedelta(seconds=30),  # waiting for its retry
    )  # fmt: skip
    Delivery.objects.create(
        channel=DeliveryChannel.EMAIL, address="c@x.example", subject="s", body="b",
        created_at=now - timedelta(hours=1), status=DeliveryStatus.SENT,
    )  # fmt: skip
    # only the lost one is enqueued again (a real worker sends it: the next test)
    assert deliveries_sweep(now=now) == 1
    assert Delivery.objects.get(pk=lost.pk).status == DeliveryStatus.PENDING


def _worker_env(tmp_path, backend: str, **extra) -> dict:
    return {
        "O2C_TEST_EMAIL_BACKEND": f"tests.fixtures.mail.{backend}",
        "O2C_TEST_MAIL_DIR": str(tmp_path),
        "O2C_NOTIFY_RETRY_SECONDS": "0.2",
        "O2C_NOTIFY_MAX_ATTEMPTS": "4",
        **extra,
    }


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_retries_a_refused_mail_until_it_arrives_once(tmp_path):
    # given a worker whose mail server refuses the first two messages
    worker = start_worker(
        name="notify-flaky",
        extra_env=_worker_env(tmp_path, "FlakyBackend", O2C_TEST_MAIL_FAILURES="2"),
    )
    try:
        # when a mail is written and committed
        with transaction.atomic():
            delivery = mail_enqueue(to="cfo@acme.example", subject="Escalated", body="hold 9")

        # then the worker retries it until the server takes it, and it arrives once
        sent = wait_for(
            lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.SENT).first(),
            timeout=90,
        )
        assert sent is not None, Delivery.objects.get(pk=delivery.pk).last_error
        assert sent.attempts == 3
        assert len(delivered(tmp_path)) == 1 and "hold 9" in delivered(tmp_path)[0]

        # and a row whose hand-off was lost (never enqueued) is sent once the sweep finds it
        long_ago = timezone.now() - timedelta(minutes=30)
        lost = Delivery.objects.create(
            channel=DeliveryChannel.EMAIL, address="ar@acme.example", subject="Lost",
            body="lost hand-off", created_at=long_ago, next_attempt_at=long_ago,
        )  # fmt: skip
        assert deliveries_sweep() == 1
        assert wait_for(
            lambda: Delivery.objects.filter(pk=lost.pk, status=DeliveryStatus.SENT).exists(),
            timeout=60,
        )
        assert [("lost hand-off" in m) for m in delivered(tmp_path)] == [False, True]
        assert worker.poll() is None, "the worker died"
    finally:
        stop_worker(worker)


@pytest.mark.django_db(transaction=True)
def test_a_mail_the_server_always_refuses_ends_failed_with_an_alert(tmp_path, admin_client):
    # given a worker whose mail server is down for good
    worker = start_worker(name="notify-down", extra_env=_worker_env(tmp_path, "DownBackend"))
    try:
        # when a mail is written and committed
        with transaction.atomic():
            delivery = mail_enqueue(to="cfo@acme.example", subject="Escalated", body="hold 3")

        # then after its four tries it is marked failed, not dropped, and an alert says so
        failed = wait_for(
            lambda: Delivery.objects.filter(pk=delivery.pk, status=DeliveryStatus.FAILED).first(),
            timeout=90,
        )
    finally:
        stop_worker(worker)
    assert failed is not None, "the delivery did not end failed"
    assert failed.attempts == 4 and "mail server down" in failed.last_error
    (alert,) = IntegrationAlert.objects.filter(resolved_at=None)
    assert alert.kind == IntegrationAlert.Kind.DELIVERY_FAILED
    assert "cfo@acme.example" in alert.message and "after 4 tries" in alert.message
    # and an admin finds it among the failed deliveries
    page = admin_client.get("/admin/core/delivery/?status__exact=failed").content.decode()
    assert "cfo@acme.example" in page


@pytest.mark.django_db
def test_another_failure_counts_on_the_open_alert_and_a_retry_sends_it(settings):
    # given a mail server that is down, and a single try allowed
    settings.EMAIL_BACKEND = "tests.fixtures.mail.DownBackend"
    settings.O2C_NOTIFY_MAX_ATTEMPTS = 1
    first = mail_enqueue(to="a@x.example", subject="one", body="b")
    second = mail_enqueue(to="b@x.example", subject="two", body="b")
    assert delivery_send(delivery_id=first.pk)[0] == "failed"
    assert delivery_send(delivery_id=second.pk)[0] == "failed"
    (alert,) = IntegrationAlert.objects.all()
    assert alert.count == 2 and "b@x.example" in alert.message

    # when the server is back and an operator sends the failed ones again
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert deliveries_retry(delivery_ids=[first.pk, second.pk]) == 2
    assert [delivery_send(delivery_id=d.pk)[0] for d in (first, second)] == ["sent", "sent"]
    assert sorted(m.to[0] for m in mail.outbox) == ["a@x.example", "b@x.example"]


class _ChatServer(BaseHTTPRequestHandler):
    """A chat service's webhook on loopback: records each post, answers ``status``."""

    posts: list
    status = 200

    def do_POST(self):  # noqa: N802 - the http.server name
        length = int(self.headers.get("Content-Length", 0))
        self.server.posts.append(json.loads(self.rfile.read(length)))
        self.send_response(self.server.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def chat_server():
    server = HTTPServer(("127.0.0.1", 0), _ChatServer)
    server.posts, server.status = [], 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.django_db
def test_no_chat_channel_is_posted_to_unless_configured(manager_user):
    with transaction.atomic():
        notify_people([manager_user], "Hold escalated", kind=NoticeKind.ESCALATION)
    assert not Delivery.objects.filter(channel=DeliveryChannel.CHAT).exists()


@pytest.mark.django_db
def test_an_escalation_is_posted_to_the_chat_channel_through_apprise(
    settings, chat_server, manager_user, send_deliveries
):
    # given one chat channel, taking escalations
    url = f"json://127.0.0.1:{chat_server.server_port}/"
    settings.O2C_CHAT_URLS, settings.O2C_CHAT_KINDS = [url], ["escalation"]

    # when an escalation and a mention are notified
    notify_people([manager_user], "Credit hold on SO-1 escalated", kind=NoticeKind.ESCALATION)
    notify_people([manager_user], "cs mentioned you", kind=NoticeKind.MENTION)
    (chat,) = Delivery.objects.filter(channel=DeliveryChannel.CHAT)
    send_deliveries()

    # then the channel got the escalation only, and the row names it without its URL
    assert [(p["title"], p["message"]) for p in chat_server.posts] == [
        ("[o2c] Credit hold on SO-1 escalated", "Credit hold on SO-1 escalated")
    ]
    chat.refresh_from_db()
    assert chat.status == DeliveryStatus.SENT and chat.address == chat_channel_id(url)
    assert str(chat_server.server_port) not in chat.address


@pytest.mark.django_db
def test_a_chat_service_that_refuses_the_post_is_retried(settings, chat_server):
    settings.O2C_CHAT_URLS, settings.O2C_CHAT_KINDS = (
        [f"json://127.0.0.1:{chat_server.server_port}/"],
        ["model"],
    )
    chat_server.status = 500
    (chat,) = deliveries_enqueue(
        chat_messages(subject="Model dropped", body="to suggest", kind="model")
    )
    outcome, _ = delivery_send(delivery_id=chat.pk)
    chat.refresh_from_db()
    assert outcome == "retry" and chat.status == DeliveryStatus.PENDING and chat.last_error
    assert len(chat_server.posts) == 1  # it did reach the service, which refused it
    chat_server.status = 200
    assert delivery_send(delivery_id=chat.pk)[0] == "sent"
