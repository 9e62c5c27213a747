"""Real `celery worker` processes take tasks from the broker, report themselves to the worker
list, and a killed one is alerted on by its peer until it returns."""

import signal

import pytest
from django.urls import reverse

from exceptions.models import Notification
from integrations.models import IntegrationAlert, IntegrationPolicy, WorkerHeartbeat
from integrations.tasks import worker_heartbeat
from o2c.queues import QUEUES
from tests.fixtures.processes import start_worker, stop_worker, wait_for


@pytest.mark.django_db(transaction=True)
def test_real_worker_processes_the_heartbeat_task(celery_worker_process):
    # given no heartbeat task has been taken yet
    assert not WorkerHeartbeat.objects.filter(beats__gt=0).exists()

    # when a heartbeat is sent through the broker twice
    worker_heartbeat.apply_async()
    worker_heartbeat.apply_async()

    # then the worker process records both beats in the shared database
    beat = wait_for(lambda: WorkerHeartbeat.objects.filter(beats__gte=2).first(), timeout=60)
    assert beat is not None, "the worker did not process the heartbeat tasks"
    assert celery_worker_process.poll() is None, "the worker died"


@pytest.mark.django_db
def test_home_shows_worker_status_to_integration_admins(client, integration_user):
    from django.urls import reverse

    client.force_login(integration_user)
    assert b"No worker has reported yet" in client.get(reverse("home")).content
    from integrations.services import worker_heartbeat_record

    worker_heartbeat_record(hostname="w1")
    assert b"Worker w1 last seen" in client.get(reverse("home")).content


@pytest.mark.django_db(transaction=True)
def test_real_workers_report_themselves_and_a_killed_one_is_alerted_until_it_returns(
    client, integration_user
):
    """Two worker processes on separate queues (the broker under test: Redis in CI, the folder
    broker of make run on a bare machine); one is killed, its peer raises the alert."""
    # given a short silence in the policy, and workers reporting every half second
    IntegrationPolicy.objects.update_or_create(pk=1, defaults={"worker_silent_after_seconds": 10})
    fast = {"O2C_WORKER_REPORT_SECONDS": "0.5"}
    ingest = start_worker(name="watch-ingest", queues=("ingest",), extra_env=fast)
    rest = start_worker(
        name="watch-rest", queues=tuple(q for q in QUEUES if q != "ingest"), extra_env=fast
    )
    try:
        # then each appears in the console with its queues, its pid and as alive
        def both_alive():
            workers = {w.hostname.split("@")[0]: w for w in WorkerHeartbeat.objects.all()}
            live = [
                workers.get(name)
                for name in ("watch-ingest", "watch-rest")
                if workers.get(name) and workers[name].pid in (ingest.pid, rest.pid)
            ]
            return len(live) == 2 and workers

        workers = wait_for(both_alive, timeout=90)
        assert workers, "the workers did not report themselves"
        assert workers["watch-ingest"].queues == ["ingest"]
        assert workers["watch-rest"].queues == sorted(q for q in QUEUES if q != "ingest")
        client.force_login(integration_user)
        body = client.get(reverse("integrations:console")).content.decode()
        assert body.count('<span class="ok">alive</span>') == 2
        assert f'<td class="num">{ingest.pid}</td>' in body

        # when the ingest worker is killed outright
        ingest.send_signal(signal.SIGKILL)
        ingest.wait()

        # then its peer raises one alert for it and one for its queue, and the console says so
        def alerted():
            return set(
                IntegrationAlert.objects.filter(resolved_at__isnull=True).values_list(
                    "kind", "subject"
                )
            )

        hostname = workers["watch-ingest"].hostname
        expected = {
            (IntegrationAlert.Kind.WORKER_SILENT, hostname),
            (IntegrationAlert.Kind.QUEUE_UNCONSUMED, "ingest"),
        }
        assert wait_for(lambda: alerted() == expected, timeout=60), alerted()
        body = client.get(reverse("integrations:console")).content.decode()
        assert '<span class="warn">silent</span>' in body
        assert f"Worker {hostname} (ingest) has been silent since" in body
        assert Notification.objects.filter(user=integration_user).count() == 2

        # when it is started again under the same name, the alerts resolve
        ingest = start_worker(name="watch-ingest", queues=("ingest",), extra_env=fast)
        assert wait_for(lambda: not alerted(), timeout=90), alerted()
        assert IntegrationAlert.objects.filter(resolved_at__isnull=False).count() == 2

        # and a clean shutdown shows it stopped, not silent
        stop_worker(ingest)
        stopped = WorkerHeartbeat.objects.get(hostname=hostname)
        assert stopped.stopped_at is not None
        assert stopped.pid == ingest.pid
    finally:
        stop_worker(ingest)
        stop_worker(rest)
