"""Health endpoints for load balancers and orchestrators: liveness (the process answers) and
readiness (database, cache, broker, migrations, beat). Unauthenticated, so they say only which
check passed or failed; the reason goes to the log."""

import logging
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.models import Max
from django.http import JsonResponse
from django.utils import timezone
from django.utils.crypto import get_random_string
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

log = logging.getLogger(__name__)

#: Seconds a probe waits for the broker before calling it down.
BROKER_TIMEOUT = 2
_migrations_applied = False  # once true in a process it stays so: new migrations mean new code


@require_GET
@never_cache
def live(request):
    """The process is up and serving; nothing else is asked (a restart cures nothing more)."""
    return JsonResponse({"status": "alive"})


def check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def check_cache() -> None:
    # a key per probe: two processes probing at once on the shared cache must not overwrite
    # each other's token and report a healthy cache as failing
    token = get_random_string(12)
    key = f"o2c:health:ready:{token}"
    cache.set(key, token, 10)
    try:
        if cache.get(key) != token:
            raise RuntimeError("the cache did not return what was stored")
    finally:
        cache.delete(key)


def check_broker() -> None:
    url = settings.CELERY_BROKER_URL
    if url.startswith(("redis://", "rediss://")):
        import redis  # noqa: PLC0415 - only for a Redis broker

        client = redis.Redis.from_url(
            url, socket_timeout=BROKER_TIMEOUT, socket_connect_timeout=BROKER_TIMEOUT
        )
        try:
            client.ping()
        finally:
            client.close()
    elif url.startswith("filesystem://"):
        # make run's folder broker: up as long as its folders are there
        folder = settings.BROKER_DIR / "queue"
        if not folder.is_dir():
            raise RuntimeError(f"{folder} is missing")
    else:
        from kombu import Connection  # noqa: PLC0415

        with Connection(url, connect_timeout=BROKER_TIMEOUT) as conn:
            conn.ensure_connection(max_retries=1)


def check_migrations() -> None:
    global _migrations_applied  # noqa: PLW0603 - a per-process memo of a one-way fact
    if _migrations_applied:
        return
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if plan:
        raise RuntimeError(f"{len(plan)} migrations not applied")
    _migrations_applied = True


def check_beat() -> None:
    """Beat stamps an entry's last_run_at each time it sends it; the worker heartbeat goes every
    30 s, so a newest stamp older than O2C_BEAT_MAX_AGE_SECONDS means beat has stopped."""
    from django_celery_beat.models import PeriodicTask  # noqa: PLC0415

    newest = PeriodicTask.objects.filter(enabled=True).aggregate(at=Max("last_run_at"))["at"]
    limit = timedelta(seconds=settings.O2C_BEAT_MAX_AGE_SECONDS)
    if newest is None or timezone.now() - newest > limit:
        raise RuntimeError(f"no scheduled task sent since {newest}")


CHECKS = {
    "database": check_database,
    "cache": check_cache,
    "broker": check_broker,
    "migrations": check_migrations,
    "beat": check_beat,
}


@require_GET
@never_cache
def ready(request):
    """200 when every check passes, else 503; each check's outcome, never its error text."""
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
        except Exception:
            # a probe must answer, whatever broke: the log keeps the reason, the page does not
            log.warning("readiness check %s failed", name, exc_info=True)
            results[name] = "failing"
        else:
            results[name] = "ok"
    ok = all(result == "ok" for result in results.values())
    return JsonResponse(
        {"status": "ready" if ok else "not ready", "checks": results}, status=200 if ok else 503
    )
