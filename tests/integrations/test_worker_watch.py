"""The worker watch without worker processes: states under the policy, one alert per silence,
resolution on return, queues without a live worker, and the console's worker list and its gate.
(tests/integrations/test_worker.py runs the same with real workers.)"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from exceptions.models import Notification
from integrations.models import IntegrationAlert, IntegrationPolicy, WorkerHeartbeat
from integrations.services import worker_report, worker_stopped, workers_watch
from integrations.workers.selectors import configured_queues

OTHER_QUEUES = ["billing", "outbox", "receivables", "notify", "kpis", "default"]


def report(hostname, queues, *, pid=100, up_for=3600):
    return worker_report(
        hostname=hostname,
        queues=queues,
        pid=pid,
        started_at=timezone.now() - timedelta(seconds=up_for),
    )


def later(seconds):
    return timezone.now() + timedelta(seconds=seconds)


def go_quiet(hostname, seconds, *, field="last_seen"):
    """The worker's last report (or clean stop) ``seconds`` ago."""
    worker = WorkerHeartbeat.objects.get(hostname=hostname)
    setattr(worker, field, timezone.now() - timedelta(seconds=seconds))
    worker.save()


@pytest.fixture
def fleet(db):
    """Two live workers that between them consume every queue, started an hour ago."""
    report("o2c-ingest@a", ["ingest"])
    report("o2c-worker@b", OTHER_QUEUES)
    return IntegrationPolicy.objects.get_or_create(pk=1)[0]  # a transactional test may flush it


def test_every_configured_queue_is_known_by_its_plain_name(db):
    assert sorted(configured_queues()) == sorted(["ingest", *OTHER_QUEUES])


def test_a_live_fleet_raises_nothing(fleet):
    # when the watch runs within the policy's silence
    outcome = workers_watch(now=later(fleet.worker_silent_after_seconds - 5))

    # then nothing is alerted
    assert outcome == {"raised": 0, "resolved": 0, "open": 0}
    assert not IntegrationAlert.objects.exists()


def test_a_silent_worker_is_alerted_once_per_silence_and_resolved_when_back(
    fleet, integration_user, manager_user
):
    # given the ingest worker stopped reporting longer ago than the policy allows
    go_quiet("o2c-ingest@a", fleet.worker_silent_after_seconds + 1)

    # when its peer's watch runs, twice
    workers_watch()
    workers_watch()

    # then one alert for the worker and one for the queue it alone consumed, notified once each
    alerts = IntegrationAlert.objects.filter(resolved_at__isnull=True)
    assert {(a.kind, a.subject) for a in alerts} == {
        (IntegrationAlert.Kind.WORKER_SILENT, "o2c-ingest@a"),
        (IntegrationAlert.Kind.QUEUE_UNCONSUMED, "ingest"),
    }
    notices = Notification.objects.filter(user=integration_user)
    assert notices.count() == 2
    assert notices.filter(
        message__startswith="Worker o2c-ingest@a (ingest) has been silent"
    ).exists()
    assert not Notification.objects.filter(user=manager_user).exists()

    # when the worker reports again and the watch runs
    report("o2c-ingest@a", ["ingest"])
    outcome = workers_watch()

    # then both alerts are resolved, and the admins told so
    assert outcome["resolved"] == 2
    assert not IntegrationAlert.objects.filter(resolved_at__isnull=True).exists()
    assert notices.filter(message__startswith="Resolved: Worker o2c-ingest@a").exists()

    # and a second silence is a second alert
    go_quiet("o2c-ingest@a", fleet.worker_silent_after_seconds + 1)
    workers_watch()
    assert IntegrationAlert.objects.filter(subject="o2c-ingest@a").count() == 2


def test_the_policy_in_admin_decides_when_a_worker_is_silent(fleet):
    # given the integration admin allows five minutes of silence
    fleet.worker_silent_after_seconds = 300
    fleet.save()

    # then three minutes of silence is not alerted, six is (the worker and its queue)
    go_quiet("o2c-ingest@a", 180)
    assert workers_watch()["raised"] == 0
    go_quiet("o2c-ingest@a", 360)
    assert workers_watch()["raised"] == 2


def test_a_clean_stop_is_not_a_silence_but_leaves_its_queue_unconsumed(fleet):
    # given the ingest worker shut down cleanly
    assert worker_stopped(hostname="o2c-ingest@a", pid=100)

    # then its queue is not alerted at once (a restart is not an outage)
    assert workers_watch()["raised"] == 0

    # but once it has been stopped longer than the policy, the queue is; the worker is not
    go_quiet("o2c-ingest@a", fleet.worker_silent_after_seconds + 1, field="stopped_at")
    workers_watch()
    assert {(a.kind, a.subject) for a in IntegrationAlert.objects.all()} == {
        (IntegrationAlert.Kind.QUEUE_UNCONSUMED, "ingest")
    }


def test_a_queue_no_worker_consumes_is_alerted_once_the_fleet_has_had_time_to_start(db):
    # given a single worker, just started, that does not take the kpis queue
    report(
        "o2c-worker@b",
        ["ingest", "billing", "outbox", "receivables", "notify", "default"],
        up_for=5,
    )

    # then a fleet still starting up is not alerted on
    assert workers_watch()["raised"] == 0

    # but once it has run for the policy's time with nobody on kpis, the queue is alerted
    report(
        "o2c-worker@b",
        ["ingest", "billing", "outbox", "receivables", "notify", "default"],
        up_for=600,
    )
    workers_watch()
    assert IntegrationAlert.objects.get().subject == "kpis"


def test_an_old_process_stopping_late_does_not_stop_its_successor(fleet):
    # given the worker was restarted under the same name (a new pid)
    report("o2c-ingest@a", ["ingest"], pid=200)

    # when the old process's shutdown is recorded after that
    stopped = worker_stopped(hostname="o2c-ingest@a", pid=100)

    # then the new one is still alive
    assert not stopped
    assert workers_watch()["open"] == 0


def test_the_console_lists_every_worker_with_its_queues_and_state(client, integration_user, fleet):
    # given a third worker that went silent an hour ago, and its alert
    report("o2c-kpis@c", ["kpis"])
    go_quiet("o2c-kpis@c", 3600)
    workers_watch()

    # when an integration admin opens the console
    client.force_login(integration_user)
    body = client.get(reverse("integrations:console")).content.decode()

    # then every worker is listed with its queues and state, and the alert is shown
    for hostname, queues in [
        ("o2c-ingest@a", "ingest"),
        ("o2c-worker@b", "billing, default, kpis, notify, outbox, receivables"),
        ("o2c-kpis@c", "kpis"),
    ]:
        assert f"<td>{hostname}</td>\n        <td>{queues}</td>" in body
    assert body.count('<span class="ok">alive</span>') == 2
    assert body.count('<span class="warn">silent</span>') == 1
    assert "Worker o2c-kpis@c (kpis) has been silent since" in body


def test_the_console_marks_a_queue_no_live_worker_consumes(client, manager_user, fleet):
    worker_stopped(hostname="o2c-ingest@a", pid=100)
    client.force_login(manager_user)
    body = client.get(reverse("integrations:console"), HTTP_HX_REQUEST="true").content.decode()
    assert "No live worker consumes the <strong>ingest</strong> queue" in body
    assert "stopped" in body


def test_the_worker_list_is_for_integration_admins_and_managers(client, roleless_user, fleet):
    client.force_login(roleless_user)
    response = client.get(reverse("integrations:console"))
    assert response.status_code == 403
    assert b"o2c-ingest@a" not in response.content
