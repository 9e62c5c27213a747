"""Error tracking (sentry-sdk) for real: a view's and a task's exceptions reach a Sentry ingest
endpoint on loopback, without personal data, credentials or bank account numbers; without
SENTRY_DSN nothing is initialised. Sentry is process-global, so each case runs in its own process."""

import gzip
import http.server
import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

IBAN = "DE89 3704 0044 0532 0130 00"
ACCOUNT = "12345678901234"
SECRETS = [
    "hunter2",
    "s3cr3tsession",
    "abcdefabcdef123456",
    "sup3r-secret-remit",
    "203.0.113.7",
    "198.51.100.9",
]

# The view is called through Django's WSGI handler, as gunicorn calls it (sentry-sdk hooks there).
FAILING_VIEW_AND_TASK = f"""
import io, django, sentry_sdk
from urllib.parse import urlencode
django.setup()
from django.core.wsgi import get_wsgi_application
from django.test.utils import override_settings
from django.http import JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from o2c.celery import app

@csrf_exempt  # a form post without a session: the error, not CSRF, is what is under test
def broken(request):
    raise RuntimeError("payer account {IBAN} refused; password=hunter2")

def not_ready(request):
    return JsonResponse({{"status": "not ready"}}, status=503)

urlpatterns = [path("broken/", broken), path("health/ready/", not_ready)]

@app.task(name="tests.error_tracking.apply_cash")
def apply_cash(payer_account):
    raise ValueError(f"cannot apply cash from {{payer_account}}")

body = urlencode({{"bank_account": "{ACCOUNT}", "secret": "sup3r-secret-remit"}}).encode()
environ = {{
    "REQUEST_METHOD": "POST", "PATH_INFO": "/broken/", "QUERY_STRING": "iban={IBAN.replace(" ", "")}",
    "SERVER_NAME": "testserver", "SERVER_PORT": "80", "wsgi.url_scheme": "http",
    "REMOTE_ADDR": "203.0.113.7", "HTTP_X_FORWARDED_FOR": "198.51.100.9",
    "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
    "wsgi.input": io.BytesIO(body), "wsgi.errors": io.StringIO(),
    "HTTP_AUTHORIZATION": "Token abcdefabcdef123456", "HTTP_COOKIE": "o2c_theme=s3cr3tsession",
}}
probe = {{**environ, "REQUEST_METHOD": "GET", "PATH_INFO": "/health/ready/", "QUERY_STRING": "",
         "CONTENT_LENGTH": "0", "wsgi.input": io.BytesIO()}}
statuses = []
with override_settings(ROOT_URLCONF=__name__):
    for request in (environ, probe):
        get_wsgi_application()(request, lambda status, headers, *exc: statuses.append(status))
assert statuses == ["500 Internal Server Error", "503 Service Unavailable"], statuses
apply_cash.apply(args=["{ACCOUNT}"])
sentry_sdk.flush(timeout=10)
"""


class Ingest(http.server.ThreadingHTTPServer):
    """A Sentry ingest endpoint: keeps each envelope's body, decompressed."""

    def __init__(self):
        self.bodies: list[bytes] = []
        self.paths: list[str] = []
        super().__init__(("127.0.0.1", 0), IngestHandler)


class IngestHandler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        self.server.bodies.append(body)
        self.server.paths.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture
def ingest():
    server = Ingest()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def run_python(code: str, **env_extra) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    env |= {"DJANGO_SETTINGS_MODULE": "o2c.settings.test", **env_extra}
    return subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def events(bodies: list[bytes]) -> list[dict]:
    """The error events of the envelopes (a header line, then item header and payload lines)."""
    found = []
    for body in bodies:
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if json.loads(header).get("type") == "event":
                found.append(json.loads(payload))
    return found


def test_a_views_and_a_tasks_errors_arrive_scrubbed(ingest):
    # given a DSN that points at the ingest endpoint on loopback
    dsn = f"http://publickey@127.0.0.1:{ingest.server_port}/1"

    # when a view and a Celery task fail
    result = run_python(
        FAILING_VIEW_AND_TASK,
        SENTRY_DSN=dsn,
        SENTRY_ENVIRONMENT="ci",
        SENTRY_RELEASE="o2c@1.2.3",
    )

    # then both exceptions arrived, tagged with the environment and release
    assert result.returncode == 0, result.stderr
    assert set(ingest.paths) == {"/api/1/envelope/"}
    by_type = {e["exception"]["values"][-1]["type"]: e for e in events(ingest.bodies)}
    assert set(by_type) == {"RuntimeError", "ValueError"}
    view, task = by_type["RuntimeError"], by_type["ValueError"]
    assert {view["environment"], task["environment"]} == {"ci"}
    assert {view["release"], task["release"]} == {"o2c@1.2.3"}
    assert (
        view["exception"]["values"][-1]["value"] == "payer account ••••3000 refused; password=***"
    )
    assert task["exception"]["values"][-1]["value"] == "cannot apply cash from ••••1234"
    assert view["request"]["url"] == "http://testserver/broken/"
    assert view["request"]["query_string"] == "iban=••••3000"
    assert view["exception"]["values"][-1]["mechanism"]["type"] == "django"
    assert task["exception"]["values"][-1]["mechanism"]["type"] == "celery"

    # and nothing that identifies a person or opens an account left the process
    assert "user" not in view or not ({"ip_address", "username", "email"} & set(view["user"]))
    assert "cookies" not in view["request"] and not view["request"].get("data")
    headers = view["request"]["headers"]
    for name in ("Authorization", "Cookie", "X-Forwarded-For"):
        assert headers.get(name, "[Filtered]") == "[Filtered]", name
    assert "REMOTE_ADDR" not in view["request"].get("env", {})
    raw = b"".join(ingest.bodies).decode()
    for leaked in [ACCOUNT, IBAN, IBAN.replace(" ", ""), "0532", *SECRETS]:
        assert leaked not in raw, leaked
    assert '"vars"' not in raw  # no frame's local variables
    # and a readiness probe's 503 (logged by Django at ERROR) is no error to track
    assert "Service Unavailable" not in raw


def test_without_a_dsn_sentry_is_not_initialised(ingest):
    # given no SENTRY_DSN, when Django starts and a view fails
    result = run_python(
        FAILING_VIEW_AND_TASK.replace("sentry_sdk.flush(timeout=10)", "")
        + "import sys; print(sentry_sdk.get_client().is_active(), 'o2c.error_tracking' in sys.modules)"
    )

    # then no client is active, the module is not even imported, and nothing was sent
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "False"]
    assert ingest.bodies == []
