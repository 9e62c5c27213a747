"""Liveness and readiness: the real database, cache and broker (Redis in CI), migrations and beat;
a broken broker or a silent beat answers 503 naming the check, and nothing more."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.test import override_settings
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

pytestmark = pytest.mark.django_db

needs_redis = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis"),
    reason="needs CELERY_BROKER_URL=redis://… (a real broker to ping)",
)


def _beat_ran(ago: timedelta) -> None:
    PeriodicTask.objects.filter(enabled=True).update(last_run_at=timezone.now() - ago)


def test_liveness_needs_nothing_but_the_process(client):
    # given a broker that is down, the process still answers it is alive
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/health/live/")

    assert response.status_code == 200
    assert response.json() == {"status": "alive"}


@needs_redis
def test_ready_when_every_service_answers_and_beat_ran_lately(client):
    # given beat sent its heartbeat half a minute ago
    _beat_ran(timedelta(seconds=30))

    # when an anonymous probe asks
    response = client.get("/health/ready/")

    # then every check passes
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ready",
        "checks": {name: "ok" for name in ("database", "cache", "broker", "migrations", "beat")},
    }


def test_a_broken_broker_makes_it_not_ready_and_names_only_the_check(client):
    _beat_ran(timedelta(seconds=30))

    with override_settings(CELERY_BROKER_URL="redis://o2c:hunter2@127.0.0.1:1/0"):
        response = client.get("/health/ready/")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "not ready"
    assert body["checks"]["broker"] == "failing"
    assert body["checks"]["database"] == "ok"
    # nothing about the broker's address, credentials or error leaks
    assert b"hunter2" not in response.content
    assert b"127.0.0.1" not in response.content
    assert b"Error" not in response.content


def test_a_silent_beat_makes_it_not_ready(client):
    # given beat sent nothing for ten minutes (the policy allows five)
    _beat_ran(timedelta(minutes=10))

    response = client.get("/health/ready/")

    assert response.status_code == 503
    assert response.json()["checks"]["beat"] == "failing"


def test_beat_that_never_ran_is_not_ready(client):
    PeriodicTask.objects.update(last_run_at=None)

    assert client.get("/health/ready/").json()["checks"]["beat"] == "failing"


def test_probes_take_no_post(client):
    assert client.post("/health/ready/").status_code == 405
    assert client.post("/health/live/").status_code == 405
