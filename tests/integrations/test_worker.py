"""A real `celery worker` process takes a task from the broker and writes to the database."""

import pytest

from integrations.models import WorkerHeartbeat
from integrations.tasks import worker_heartbeat
from tests.fixtures.processes import wait_for


@pytest.mark.django_db(transaction=True)
def test_real_worker_processes_the_heartbeat_task(celery_worker_process):
    # given no worker has reported yet
    assert not WorkerHeartbeat.objects.exists()

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
