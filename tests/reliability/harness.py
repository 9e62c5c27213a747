"""Process harness of the reliability scenarios: gunicorn, workers and beat as a deployment starts
them, on production settings, and logged-in HTTP users that count every error."""

import subprocess
import sys
import tempfile
import threading
import time
from functools import cache

import httpx
import pytest
from django.conf import settings
from django.contrib.auth.hashers import ScryptPasswordHasher
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from demo.sandbox import Sandbox, SandboxState
from demo.sandbox.data import Catalog
from integrations.services import connector_sync, inbox_process
from integrations.services.schedule import connector_schedule
from tests.fixtures.factories import PASSWORD
from tests.fixtures.processes import ROOT, database_url_for_tests, start_beat, start_worker
from tests.fixtures.users import make_user

METRICS_TOKEN = "reliability-metrics-0123456789"


def needs_services() -> None:
    """Production settings refuse SQLite and the folder broker: these scenarios need both services."""
    from django.db import connection

    if connection.vendor != "postgresql" or not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL, CELERY_BROKER_URL=redis://…)")


@pytest.fixture
def quiet_sandbox():
    """The sandbox ERP/WMS publishing no orders until the test says how many."""
    server = Sandbox(state=SandboxState(catalog=Catalog(), orders=0)).start()
    yield server
    server.stop()


def first_load(erp) -> None:
    """The ERP's master data pulled and applied once before the schedules start, as a real first
    load (and scripts/run.sh) takes them: stock and orders name items and customers, and the WMS's
    stock pulled before the items would be dead letters for unknown items."""
    for stream in ("customers", "items", "prices", "ar"):
        connector_sync(connector_id=erp.pk, stream=stream)
        inbox_process(connector_id=erp.pk, stream=stream)


def deployment_schedules(*connectors) -> None:
    """What the migrations and admin set up in production: the heartbeat every 30 s, the
    invoicing catch-up and each connector's pull schedule (made again here after other tests'
    flushes). The catch-up invoices a shipment whose worker was killed between its commit and the
    invoicing that follows it: every 5 minutes in production, every 20 s here, as a killed
    worker's task comes back in seconds here rather than the production hour."""
    every, _ = IntervalSchedule.objects.get_or_create(every=30, period="seconds")
    PeriodicTask.objects.get_or_create(
        name="Worker heartbeat",
        defaults={"task": "integrations.tasks.worker_heartbeat", "interval": every},
    )
    often, _ = IntervalSchedule.objects.get_or_create(every=20, period="seconds")
    PeriodicTask.objects.update_or_create(
        name="Invoice billable shipments (catch-up)",
        defaults={"task": "billing.tasks.invoices_catch_up", "interval": often, "enabled": True},
    )
    for connector in connectors:
        connector_schedule(connector=connector)


def production_user(username: str, *roles: str):
    """A user who can sign in to production settings: the test settings' MD5 hasher is not among
    production's, so the password is hashed with scrypt (fast enough for 30 logins)."""
    hasher = ScryptPasswordHasher()
    user = make_user(username, *roles)
    user.password = hasher.encode(PASSWORD, hasher.salt())
    user.save(update_fields=["password"])
    return user


_PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "o2c.settings.production",
    "SECRET_KEY": "reliability-" + "k" * 50,
    "O2C_ACCOUNT_FINGERPRINT_KEY": "reliability-fingerprints-" + "f" * 40,
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "EMAIL_URL": "locmem://",
}


@cache
def collected_static() -> str:
    """Production serves static files under hashed names from a manifest (as the image collects
    them at build time): collected once per test session into a scratch folder."""
    root = tempfile.mkdtemp(prefix="o2c-static-")
    subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", **_PRODUCTION, "O2C_STATIC_ROOT": root,
             "DATABASE_URL": database_url_for_tests(),
             "CELERY_BROKER_URL": settings.CELERY_BROKER_URL},
        check=True,
        timeout=300,
    )  # fmt: skip
    return root


def production_env(**extra: str) -> dict:
    """What o2c.settings.production requires, pointed at this run's test database, broker and
    queues; mail stays in memory, and TLS is the (absent) proxy's: requests say X-Forwarded-Proto."""
    return {
        **_PRODUCTION,
        "O2C_STATIC_ROOT": collected_static(),
        "DATABASE_URL": database_url_for_tests(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "SECURE_SSL_REDIRECT": "0",
        "O2C_METRICS_TOKEN": METRICS_TOKEN,
        "O2C_QUEUE_PREFIX": settings.O2C_QUEUE_PREFIX,
        "O2C_WORKER_REPORT_SECONDS": "1",
        "LOG_FORMAT": "plain",
        **extra,
    }


def start_gunicorn(*, port: int, name: str, env: dict, args: tuple = ()) -> subprocess.Popen:
    """gunicorn on loopback with the repository's config file (deploy/gunicorn.conf.py)."""
    (ROOT / "data").mkdir(exist_ok=True)
    log = open(ROOT / "data" / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "gunicorn", "-c", "deploy/gunicorn.conf.py", *args, "o2c.wsgi"],
        cwd=ROOT,
        env={"PATH": "/usr/bin:/bin", "O2C_BIND": f"127.0.0.1:{port}", **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def start_fleet(env: dict, workers: dict[str, tuple[str, ...]]) -> dict[str, subprocess.Popen]:
    """Workers by queue (``name -> queues``, as a deployment runs them) and exactly one beat."""
    fleet = {
        name: start_worker(name=name, queues=queues, extra_env=env)
        for name, queues in workers.items()
    }
    fleet["beat"] = start_beat(name="reliability-beat", extra_env=env)
    return fleet


def wait_ready(base: str, *, timeout: float = 120) -> dict:
    """Poll /health/ready/ until it answers 200; its last answer either way."""
    deadline, last = time.monotonic() + timeout, {}
    while time.monotonic() < deadline:
        try:
            response = httpx.get(f"{base}/health/ready/", timeout=5)
            last = {**response.json(), "http": response.status_code}
            if response.status_code == 200:
                return last
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    return last


def metrics(base: str) -> str:
    response = httpx.get(
        f"{base}/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}, timeout=30
    )
    assert response.status_code == 200, response.status_code
    return response.text


class Stats:
    """Every timed request of a run; a transport failure (reset, timeout) is an error like a 5xx."""

    def __init__(self):
        self.lock = threading.Lock()
        self.timings, self.errors, self.conflicts, self.statuses = [], [], 0, {}

    def call(self, client: httpx.Client, method: str, url: str, *, conflict_ok=False, **kw):
        started = time.perf_counter()
        try:
            response = client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            with self.lock:
                self.errors.append(f"{method} {url}: {type(exc).__name__}: {exc}")
            return None
        elapsed = (time.perf_counter() - started) * 1000
        with self.lock:
            self.timings.append(elapsed)
            self.statuses[response.status_code] = self.statuses.get(response.status_code, 0) + 1
            if conflict_ok and response.status_code == 409:
                self.conflicts += 1  # two people, one item: the expected answer
            elif response.status_code >= 400:
                self.errors.append(f"{method} {url}: {response.status_code}")
        return response


def session(base: str, username: str, *, behind_https: bool = False) -> httpx.Client:
    """A real login (form, CSRF token, session cookie). ``behind_https``: production settings
    mark cookies Secure and trust X-Forwarded-Proto, as behind the TLS proxy; the client sends the
    header and keeps the cookies for plain-HTTP loopback."""
    headers = {"X-Forwarded-Proto": "https"} if behind_https else {}
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False, headers=headers)
    if behind_https:

        def keep(response: httpx.Response) -> None:
            for cookie in client.cookies.jar:  # extracted from this response by now
                cookie.secure = False

        client.event_hooks["response"] = [keep]
    origin = base.replace("http://", "https://") if behind_https else base
    client.get("/login/")
    response = client.post(
        "/login/",
        data={
            "username": username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        },
        headers={"Referer": f"{origin}/login/"},
    )
    assert response.status_code == 302, (username, response.status_code)
    client.headers["Referer"] = f"{origin}/"
    return client
