"""The test identity provider as a real process on a loopback port, and o2c pointed at it."""

import os
import secrets
import socket
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT_ID = "o2c-tests"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Provider:
    """The running provider: its issuer, and the control endpoint that sets people and the client."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.issuer = f"{url}/openid"
        self.token = token

    def _control(self, body: dict) -> httpx.Response:
        response = httpx.post(
            f"{self.url}/control/", json=body, headers={"X-Control-Token": self.token}
        )
        response.raise_for_status()
        return response

    def person(self, username: str, *, groups: list[str], email: str = "") -> str:
        """Create or change a person at the provider; returns their ``sub``."""
        return self._control(
            {
                "person": {
                    "username": username,
                    "password": f"{username}-idp-password",
                    "email": email,
                    "first_name": username.title(),
                    "last_name": "Example",
                    "groups": groups,
                }
            }
        ).json()["sub"]

    def client(self, *, secret: str, redirect_uri: str, post_logout_redirect_uri: str) -> None:
        self._control(
            {
                "client": {
                    "client_id": CLIENT_ID,
                    "client_secret": secret,
                    "redirect_uri": redirect_uri,
                    "post_logout_redirect_uri": post_logout_redirect_uri,
                }
            }
        )


@pytest.fixture(scope="session")
def identity_provider(tmp_path_factory):
    """django-oidc-provider in its own project and process (tests/sso/provider_project)."""
    port = free_port()
    folder = tmp_path_factory.mktemp("idp")
    token = secrets.token_urlsafe(16)
    env = os.environ | {
        "IDP_DB": str(folder / "idp.sqlite3"),
        "IDP_CONTROL_TOKEN": token,
        "DJANGO_SETTINGS_MODULE": "tests.sso.provider_project.settings",
    }
    log = open(folder / "idp.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(  # noqa: S603 - fixed argv
        [sys.executable, "-m", "tests.sso.provider_project.run", str(port)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"{url}/openid/.well-known/openid-configuration").status_code == 200:
                break
        except httpx.TransportError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(
                f"the test identity provider did not start: {(folder / 'idp.log').read_text()}"
            )
        time.sleep(0.2)
    yield Provider(url, token)
    process.terminate()
    process.wait(timeout=10)
    log.close()


class _Forms(HTMLParser):
    """Every form's action and inputs, in order."""

    def __init__(self):
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "fields": {}, "submits": {}})
        elif tag == "input" and self.forms and attrs.get("name"):
            kind = "submits" if attrs.get("type") == "submit" else "fields"
            self.forms[-1][kind][attrs["name"]] = attrs.get("value") or ""


def forms(html: str) -> list[dict]:
    parser = _Forms()
    parser.feed(html)
    return parser.forms


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links: dict[str, str] = {}
        self._href = None

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href = dict(attrs).get("href")

    def handle_data(self, data):
        if self._href and data.strip():
            self.links[data.strip()] = self._href
            self._href = None


def links(html: str) -> dict[str, str]:
    """Link text → href."""
    parser = _Links()
    parser.feed(html)
    return parser.links
