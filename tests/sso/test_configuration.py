"""Single sign-on's settings: off by default with nothing changed and no network, refused when half
set, and the break-glass list that limits password sign-in."""

import os
import subprocess
import sys

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from o2c.settings.parsing import oidc_config
from tests.fixtures.factories import PASSWORD
from tests.fixtures.users import make_user
from tests.sso.conftest import ROOT

BASE = {
    "O2C_OIDC_CLIENT_ID": "o2c",
    "O2C_OIDC_CLIENT_SECRET": "from-the-environment",
    "O2C_OIDC_ISSUER": "https://id.example.com/realms/staff/",
}


def test_nothing_set_is_off():
    assert oidc_config({}) == {}


def test_the_issuer_alone_means_discovery():
    config = oidc_config(BASE)
    assert config["issuer"] == "https://id.example.com/realms/staff"
    assert config["discovery"] is True and config["endpoints"] == {}
    assert config["scopes"] == ["openid", "email", "profile", "groups"]
    assert config["session_seconds"] == 10 * 3600


def test_explicit_endpoints_turn_discovery_off():
    config = oidc_config(
        BASE
        | {
            "O2C_OIDC_AUTHORIZATION_ENDPOINT": "https://id.example.com/auth",
            "O2C_OIDC_TOKEN_ENDPOINT": "https://id.example.com/token",
            "O2C_OIDC_JWKS_URI": "https://id.example.com/certs",
        }
    )
    assert config["discovery"] is False and set(config["endpoints"]) == {
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
    }


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"O2C_OIDC_ISSUER": "https://id.example.com"}, "without O2C_OIDC_CLIENT_ID"),
        ({"O2C_OIDC_CLIENT_ID": "o2c", "O2C_OIDC_ISSUER": "https://x"}, "O2C_OIDC_CLIENT_SECRET"),
        (BASE | {"O2C_OIDC_ISSUER": "http://id.example.com"}, "must be an https:// URL"),
        (BASE | {"O2C_OIDC_TOKEN_ENDPOINT": "https://id.example.com/t"}, "O2C_OIDC_JWKS_URI"),
        (BASE | {"O2C_OIDC_SCOPES": "email groups"}, "must include openid"),
        (BASE | {"O2C_OIDC_SESSION_HOURS": "soon"}, "number of hours"),
    ],
)
def test_half_a_configuration_is_refused_with_its_name(env, says):
    with pytest.raises(ImproperlyConfigured, match=says):
        oidc_config(env)


def test_a_break_glass_list_without_sso_stops_the_start():
    env = os.environ | {"O2C_LOCAL_LOGIN_USERS": "admin"}
    env.pop("O2C_OIDC_CLIENT_ID", None)
    done = subprocess.run(  # noqa: S603 - fixed argv
        [sys.executable, "-c", "import o2c.settings.local"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode != 0 and "O2C_LOCAL_LOGIN_USERS" in done.stderr


@pytest.mark.django_db
def test_off_the_login_page_is_unchanged_and_nothing_reaches_the_network(client, monkeypatch):
    # given single sign-on is off (the default) and any outgoing request would fail loudly
    def no_network(*args, **kwargs):
        raise AssertionError("single sign-on reached the network while off")

    monkeypatch.setattr(requests.Session, "request", no_network)
    make_user("cs", "customer_service")
    # when the login page is read and a person signs in with their password
    page = client.get("/login/")
    signed_in = client.post("/login/", {"username": "cs", "password": PASSWORD})
    # then there is no company button, the password works, and the SSO routes do not exist
    assert "company account" not in page.content.decode()
    assert signed_in.status_code == 302 and signed_in["Location"] == "/"
    assert client.get("/sso/login/").status_code == 404
    assert client.get("/sso/callback/?code=x&state=y").status_code == 404


@pytest.fixture
def sso_on(settings):
    settings.O2C_OIDC = oidc_config(BASE)
    return settings


@pytest.mark.django_db
def test_on_the_login_page_offers_the_company_account_beside_the_form(client, sso_on):
    page = client.get("/login/?next=/orders/%3Fstate%3Don_hold%26q%3Dacme").content.decode()
    assert "Sign in with your company account" in page
    # the page asked for travels whole, its own query included
    assert 'href="/sso/login/?next=%2Forders%2F%3Fstate%3Don_hold%26q%3Dacme"' in page
    assert 'name="password"' in page


@pytest.mark.django_db
def test_the_break_glass_list_limits_password_sign_in(client, sso_on):
    # given only "breakglass" may sign in by password
    sso_on.O2C_LOCAL_LOGIN_USERS = ["breakglass"]
    make_user("cs", "customer_service")
    make_user("breakglass", "manager")
    # when an analyst with a password tries, then the password is not enough
    refused = client.post("/login/", {"username": "cs", "password": PASSWORD})
    assert refused.status_code == 200 and "didn't match" in refused.content.decode()
    assert "only for the emergency (break-glass) accounts" in refused.content.decode()
    # and the break-glass account still signs in
    allowed = client.post("/login/", {"username": "breakglass", "password": PASSWORD})
    assert allowed.status_code == 302 and allowed["Location"] == "/"


@pytest.mark.django_db
def test_a_single_sign_on_session_ends_when_sso_is_switched_off(client, sso_on):
    # given a person signed in by single sign-on
    user = make_user("dana", "customer_service")
    client.force_login(user, backend="sso.backends.SingleSignOnBackend")
    assert client.get("/").status_code == 200
    # when an administrator turns single sign-on off, then that session no longer signs them in
    sso_on.O2C_OIDC = {}
    assert client.get("/")["Location"].startswith("/login/")


@pytest.mark.django_db
def test_the_break_glass_list_ends_other_password_sessions(client, sso_on):
    # given an analyst signed in with their password
    client.force_login(
        make_user("cs", "customer_service"), backend="sso.backends.LocalPasswordBackend"
    )
    assert client.get("/").status_code == 200
    # when the break-glass list is set without them, then their session no longer signs them in
    sso_on.O2C_LOCAL_LOGIN_USERS = ["breakglass"]
    assert client.get("/")["Location"].startswith("/login/")
