"""Single sign-on end to end, over real HTTP: o2c's live server, a real OpenID provider in its own
process (tests/sso/provider_project), and a client that follows redirects with cookie jars like a
browser. Mapped groups give roles and a territory, the provider taking a group away takes the role
away at the next sign-in, unmapped people are refused, and a forged callback is rejected."""

import secrets
from urllib.parse import urlsplit

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore

from core.roles import Role
from o2c.settings.parsing import oidc_config
from orders.models import TerritoryAssignment
from sso.models import Grant, GroupMapping, Identity
from tests.fixtures.factories import CustomerFactory, OrderFactory
from tests.sso.conftest import CLIENT_ID, forms, links

User = get_user_model()


@pytest.fixture(params=["discovery"])
def o2c(request, live_server, settings, identity_provider):
    """o2c's live server with single sign-on on, configured the way the environment would: from
    the issuer's discovery document, or (param "explicit") from endpoints given one by one."""
    secret = secrets.token_urlsafe(24)
    identity_provider.client(
        secret=secret,
        redirect_uri=f"{live_server.url}/sso/callback/",
        post_logout_redirect_uri=f"{live_server.url}/login/",
    )
    env = {
        "O2C_OIDC_CLIENT_ID": CLIENT_ID,
        "O2C_OIDC_CLIENT_SECRET": secret,
        "O2C_OIDC_ISSUER": identity_provider.issuer,
    }
    if request.param == "explicit":
        env |= {
            "O2C_OIDC_AUTHORIZATION_ENDPOINT": f"{identity_provider.issuer}/authorize",
            "O2C_OIDC_TOKEN_ENDPOINT": f"{identity_provider.issuer}/token",
            "O2C_OIDC_JWKS_URI": f"{identity_provider.issuer}/jwks",
            "O2C_OIDC_USERINFO_ENDPOINT": f"{identity_provider.issuer}/userinfo",
        }
    settings.O2C_OIDC = oidc_config(env)
    GroupMapping.objects.create(idp_group="o2c-customer-service", role=Role.CUSTOMER_SERVICE)
    GroupMapping.objects.create(idp_group="o2c-collections", role=Role.COLLECTIONS)
    GroupMapping.objects.create(idp_group="region-west", territory="WEST")
    return live_server.url


def company_sign_in(browser: httpx.Client, o2c: str, provider, username: str, next_path: str = ""):
    """What a person does: the o2c login page's company button, the provider's login form (if
    not signed in there already), its consent page (the first time), and back to o2c."""
    login_page = browser.get(f"{o2c}/login/" + (f"?next={next_path}" if next_path else ""))
    button = links(login_page.text)["Sign in with your company account"]
    response = browser.get(f"{o2c}{button}")
    if urlsplit(str(response.url)).path == "/accounts/login/":
        form = forms(response.text)[0]
        fields = {**form["fields"], "username": username, "password": f"{username}-idp-password"}
        response = browser.post(str(response.url), data=fields)
    if "Request for Permission" in response.text:
        form = forms(response.text)[0]
        response = browser.post(
            f"{provider.url}{form['action']}", data={**form["fields"], "allow": "Authorize"}
        )
    return response


def sign_out(browser: httpx.Client, o2c: str) -> httpx.Response:
    page = browser.get(f"{o2c}/")
    form = next(f for f in forms(page.text) if f["action"] == "/logout/")
    return browser.post(f"{o2c}/logout/", data=form["fields"])


def test_groups_give_roles_and_territory_and_follow_the_provider(o2c, identity_provider):
    # given alice at the provider in customer service, collections, the west region and a group
    # o2c does not map; and an order in her territory and one outside it
    sub = identity_provider.person(
        "alice",
        groups=["o2c-customer-service", "o2c-collections", "region-west", "all-staff"],
        email="alice@example.com",
    )
    west = OrderFactory(customer=CustomerFactory(territory="WEST"))
    east = OrderFactory(customer=CustomerFactory(territory="EAST"))
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        # when she signs in with her company account, asking for the order list
        landed = company_sign_in(browser, o2c, identity_provider, "alice", next_path="/orders/")

        # then she is back on o2c, signed in, on the page she asked for
        assert landed.status_code == 200
        assert str(landed.url) == f"{o2c}/orders/"
        assert any(urlsplit(str(r.url)).path == "/sso/callback/" for r in landed.history)
        # with her mapped roles and territory, matched by the provider's subject
        alice = Identity.objects.get(subject=sub).user
        assert alice.username == "alice" and alice.email == "alice@example.com"
        assert not alice.has_usable_password() and not alice.is_staff and not alice.is_superuser
        assert set(alice.groups.values_list("name", flat=True)) == {
            Role.CUSTOMER_SERVICE,
            Role.COLLECTIONS,
        }
        assert list(alice.territories.values_list("territory", flat=True)) == ["WEST"]
        # for a working day at most, so someone removed at the provider is out by tomorrow
        session = SessionStore(session_key=browser.cookies["sessionid"])
        assert 9 * 3600 < session.get_expiry_age() <= 10 * 3600
        # and sees her territory's orders only
        assert west.number in landed.text and east.number not in landed.text
        assert browser.get(f"{o2c}/collections/").status_code == 200

        # given an administrator gives her pricing by hand, and the provider takes her out of
        # collections
        alice.groups.add(Group.objects.get_or_create(name=Role.PRICING)[0])
        identity_provider.person(
            "alice", groups=["o2c-customer-service", "region-west"], email="alice@example.com"
        )
        # when she signs out and in again (still signed in at the provider, consent remembered)
        signed_out = sign_out(browser, o2c)
        end_session = links(signed_out.text)["Sign out of your company account"]
        assert end_session.startswith(f"{identity_provider.issuer}/end-session")
        assert browser.get(f"{o2c}/").url.path == "/login/"
        landed = company_sign_in(browser, o2c, identity_provider, "alice")

        # then collections is gone, customer service and the territory stay, and the role the
        # administrator gave is left alone
        assert landed.status_code == 200 and str(landed.url) == f"{o2c}/"
        assert set(alice.groups.values_list("name", flat=True)) == {
            Role.CUSTOMER_SERVICE,
            Role.PRICING,
        }
        assert browser.get(f"{o2c}/collections/").status_code == 403
        assert set(Grant.objects.filter(user=alice).values_list("kind", "value")) == {
            ("role", Role.CUSTOMER_SERVICE),
            ("territory", "WEST"),
        }
        assert User.objects.filter(email="alice@example.com").count() == 1


@pytest.mark.parametrize("o2c", ["discovery", "explicit"], indirect=True)
def test_a_person_whose_groups_map_to_nothing_gets_the_no_access_page(o2c, identity_provider):
    # given bob, whose only group o2c does not map
    identity_provider.person("bob", groups=["all-staff"], email="bob@example.com")
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        # when he signs in with his company account
        landed = company_sign_in(browser, o2c, identity_provider, "bob")
        # then o2c says he has no access and whom to ask, and signs him in to nothing
        assert landed.status_code == 403
        assert "Your company account has no o2c access" in landed.text
        assert "Ask an o2c administrator" in landed.text
        assert urlsplit(str(browser.get(f"{o2c}/").url)).path == "/login/"
    assert not User.objects.filter(email="bob@example.com").exists()
    assert not TerritoryAssignment.objects.exists()


def test_a_callback_with_a_state_this_browser_did_not_start_is_rejected(o2c, identity_provider):
    # given carol, who may use o2c, has started a sign-in (so her session holds a real state)
    identity_provider.person(
        "carol", groups=["o2c-customer-service", "region-west"], email="carol@example.com"
    )
    with httpx.Client(follow_redirects=True, timeout=20) as browser:
        at_provider = browser.get(f"{o2c}/sso/login/")
        assert urlsplit(str(at_provider.url)).port == urlsplit(identity_provider.url).port
        # when a callback arrives with a state of someone else's making
        forged = browser.get(f"{o2c}/sso/callback/", params={"code": "stolen", "state": "forged"})
        # then it is refused, and nobody is signed in
        assert forged.status_code == 400
        assert "not started from this browser" in forged.text
        assert urlsplit(str(browser.get(f"{o2c}/").url)).path == "/login/"
    assert not Identity.objects.exists()
