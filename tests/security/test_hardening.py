"""Hardening: CSRF on every unsafe method, security headers and a CSP without inline script,
templates that comply, login throttling, read-only history, and logs without secrets."""

import contextlib
import io
import logging
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib import admin
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token

from core.logs import CorrelationFilter, JsonFormatter
from orders.models import Customer
from tests.fixtures.factories import PASSWORD, CustomerFactory
from tests.security.test_access_matrix import _action_url, routes
from tests.summary import summary

pytestmark = pytest.mark.django_db
ROOT = Path(settings.BASE_DIR)


def test_every_unsafe_method_fails_without_a_csrf_token(world, users):
    """A logged-in session (the superuser's: every door open) without the token gets 403 on every
    route and every unsafe method. Only the signed webhook is exempt, and it refuses the unsigned."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["superuser"])
    checked = 0
    for name, pattern in routes():
        url = _action_url(name, pattern, world)
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)(url)
            checked += 1
            if name in ("inbound-webhook", "edi-interchange-upload"):
                assert response.status_code in (401, 404, 405), (method, url)
                continue
            assert response.status_code == 403, (method, url, response.status_code)
    # the same session with the token gets past CSRF: the 403s above were CSRF's
    client.get(reverse("orders:list"))
    token = client.cookies["csrftoken"].value
    response = client.post(
        reverse("exceptions:action", args=[world["hold"].pk, "claim"]), HTTP_X_CSRFTOKEN=token
    )
    assert response.status_code == 302
    summary("CSRF on unsafe methods", load=f"{checked} requests", result="pass")


def test_pages_carry_security_headers_and_a_csp_without_inline_script(client, users):
    client.force_login(users["manager"])
    for url in ("/", "/orders/", "/queues/credit/", "/insights/", "/billing/finance/"):
        response = client.get(url)
        csp = response["Content-Security-Policy"]
        directives = dict(
            (part.split()[0], part.split()[1:]) for part in csp.split(";") if part.strip()
        )
        assert directives["script-src"] == ["'self'"], url
        assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp, url
        assert directives["object-src"] == ["'none'"] and directives["frame-ancestors"] == [
            "'none'"
        ]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["X-Frame-Options"] == "DENY"
        assert response["Referrer-Policy"] == "same-origin"
        assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    # the API docs widen styles only; their scripts still come from this app alone
    docs = client.get("/api/docs/")["Content-Security-Policy"]
    assert "script-src 'self';" in docs + ";" and "'unsafe-eval'" not in docs
    summary("security headers + CSP", load="5 pages + API docs", result="pass")


INLINE = [
    (re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I), "inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "inline event handler"),
    (re.compile(r"\sstyle\s*=", re.I), "inline style attribute"),
    (re.compile(r"<style[\s>]", re.I), "inline <style>"),
    (re.compile(r"javascript:", re.I), "javascript: URL"),
    (re.compile(r"hx-on", re.I), "hx-on (evaluated script)"),
]


def test_templates_hold_no_inline_script_or_style():
    found = []
    templates = [p for p in (ROOT / "templates").rglob("*.html")]
    assert len(templates) > 20
    for path in templates:
        text = path.read_text()
        for pattern, what in INLINE:
            for match in pattern.finditer(text):
                line = text[: match.start()].count("\n") + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert not found, "\n".join(found)


def _login(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_repeated_failed_logins_are_throttled(users):
    client = Client(REMOTE_ADDR="203.0.113.7")
    user = users["credit"]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, user.username, "wrong-password").status_code == 200  # form error
    locked = _login(client, user.username, "wrong-password")
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # now even the right password is refused from here, and nothing logs the user in
    again = _login(client, user.username, PASSWORD)
    assert again.status_code == 429
    assert client.get(reverse("orders:list")).status_code == 302
    # another person at the same address, and the same person elsewhere, are not locked out
    assert _login(Client(REMOTE_ADDR="203.0.113.7"), "sec_finance", PASSWORD).status_code == 302
    assert _login(Client(REMOTE_ADDR="198.51.100.9"), user.username, PASSWORD).status_code == 302
    # the admin login counts the same failures
    admin_client = Client(REMOTE_ADDR="203.0.113.7")
    admin_login = admin_client.post(
        reverse("admin:login"), {"username": user.username, "password": PASSWORD}
    )
    assert admin_login.status_code == 429
    summary(
        "login throttling",
        load=f"{settings.AXES_FAILURE_LIMIT} failures",
        faults="password guessing",
        result="pass",
    )


def test_history_is_read_only_in_admin(users, world):
    """No history model is registered (so none can be edited or deleted there), and the history
    pages of registered models cannot revert an object to an old version."""
    registered = {model._meta.label for model in admin.site._registry}
    historical = [label for label in registered if ".Historical" in label]
    assert historical == []
    customer = CustomerFactory(name="Before")
    customer.name = "After"
    customer.save()
    old = customer.history.order_by("history_id").first()
    client = Client()
    client.force_login(users["superuser"])
    history_url = reverse("admin:orders_customer_history", args=[customer.pk])
    assert client.get(history_url).status_code == 200
    revert_url = reverse("admin:orders_customer_simple_history", args=[customer.pk, old.pk])
    assert client.post(revert_url, {"name": "Before"}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).name == "After"
    assert customer.history.count() == 2
    # no route outside the admin writes history (the access matrix lists them all), and the
    # order page's timeline is read-only: it posts nothing
    page = client.get(reverse("orders:detail", args=[world["order"].pk])).content.decode()
    timeline = page[page.index('aria-label="Timeline"') :].split("</ol>")[0]
    assert "<li>" in timeline and "<form" not in timeline and "<button" not in timeline
    summary("history read-only", load="admin + order timeline", result="pass")


@pytest.fixture
def captured_logs():
    """Root-logger output through the production formatter, as the deployed app writes it."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(CorrelationFilter())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def test_logs_carry_no_secrets(captured_logs, users, world, monkeypatch):
    secret = "sk-live-9f8e7d6c5b4a3f2e1d0c"  # noqa: S105 - a planted value to look for
    password = "Pl4nted-password-42"  # noqa: S105
    token = Token.objects.create(user=users["manager"]).key
    monkeypatch.setenv("O2C_SEC_CONNECTOR_TOKEN", secret)
    connector = world["connector"]
    connector.credentials_ref = "O2C_SEC_CONNECTOR_TOKEN"
    connector.save()
    # a failed login with a password, an API call with a token, a badly signed webhook,
    # and a connector call that fails (nothing listens on port 9)
    _login(Client(REMOTE_ADDR="192.0.2.1"), "sec_credit", password)
    Client().get("/api/v1/orders/", HTTP_AUTHORIZATION=f"Token {token}")
    Client().post(
        f"/api/v1/inbound/{connector.name}/orders/",
        data=b"[]",
        content_type="application/json",
        HTTP_X_O2C_SIGNATURE=f"sha256={secret}",
    )
    from integrations.services import connector_sync

    # the failure itself is not the point: its log lines are what is inspected
    with contextlib.suppress(Exception):
        connector_sync(connector_id=connector.pk, stream="orders")
    # and a library that logs a header or a form verbatim is redacted on the way out
    logging.getLogger("some.library").warning("Authorization: Bearer %s", secret)
    logging.getLogger("some.library").warning("form data password=%s", password)
    text = captured_logs.getvalue()
    assert text.count("\n") >= 3  # the scenario did log
    for planted in (secret, password, token):
        assert planted not in text
    summary("logs without secrets", load="login, API token, webhook, connector", result="pass")
