"""Signing in from a provider's claims: accounts found by subject, first sign-ins linked only when
safe, and roles and territories that follow the mapping table without touching an admin's own."""

import pytest
from django.contrib.auth.models import Group

from core.roles import Role
from orders.models import TerritoryAssignment
from sso.models import Grant, GroupMapping, Identity
from sso.services import Refusal, sso_sign_in
from tests.fixtures.factories import UserFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db

ISSUER = "https://id.example.com"


@pytest.fixture
def mappings():
    GroupMapping.objects.create(idp_group="o2c-cs", role=Role.CUSTOMER_SERVICE)
    GroupMapping.objects.create(idp_group="o2c-credit", role=Role.CREDIT)
    GroupMapping.objects.create(idp_group="region-west", territory="WEST")
    GroupMapping.objects.create(idp_group="o2c-managers", role=Role.MANAGER, every_territory=True)


def claims(sub="s-1", groups=("o2c-cs", "region-west"), **extra):
    return {"sub": sub, "groups": list(groups), "email": "dana@example.com",
            "email_verified": True, "preferred_username": "dana", **extra}  # fmt: skip


def roles(user) -> set[str]:
    return set(user.groups.values_list("name", flat=True))


def territories(user) -> set[str]:
    return set(TerritoryAssignment.objects.filter(user=user).values_list("territory", flat=True))


def test_a_first_sign_in_creates_an_account_without_password_with_the_mapped_access(mappings):
    # when a new person signs in with the customer-service and west groups
    result = sso_sign_in(issuer=ISSUER, claims=claims(given_name="Dana", family_name="Reyes"))
    # then an account exists for them, with no password and no admin rights
    user = result.user
    assert result.refusal is None
    assert (user.username, user.email, user.get_full_name()) == (
        "dana",
        "dana@example.com",
        "Dana Reyes",
    )
    assert not user.has_usable_password() and not user.is_staff and not user.is_superuser
    # with the mapped role and territory, recorded as single sign-on's
    assert roles(user) == {Role.CUSTOMER_SERVICE} and territories(user) == {"WEST"}
    assert Identity.objects.get(user=user).subject == "s-1"
    assert set(Grant.objects.values_list("kind", "value")) == {
        ("role", Role.CUSTOMER_SERVICE),
        ("territory", "WEST"),
    }


def test_groups_the_provider_drops_take_back_only_what_sso_granted(mappings):
    # given a person signed in once with two roles, then given a role and a territory by an admin
    user = sso_sign_in(
        issuer=ISSUER, claims=claims(groups=["o2c-cs", "o2c-credit", "region-west"])
    ).user
    user.groups.add(Group.objects.get_or_create(name=Role.PRICING)[0])
    TerritoryAssignment.objects.create(user=user, territory="EAST")
    # when the provider now sends only customer service and west
    again = sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-cs", "region-west"]))
    # then credit is gone; the admin's pricing and EAST stay
    assert again.user == user
    assert roles(user) == {Role.CUSTOMER_SERVICE, Role.PRICING}
    assert territories(user) == {"WEST", "EAST"}
    # and when the provider drops the west region too, the admin's territory still limits them
    sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-cs"]))
    assert territories(user) == {"EAST"}


def test_a_role_the_admin_gave_before_sso_is_not_taken_by_sso(mappings):
    # given a person whose customer-service role an admin gave by hand after their first sign-in
    user = sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-credit", "region-west"])).user
    user.groups.add(Group.objects.get_or_create(name=Role.CUSTOMER_SERVICE)[0])
    # when the provider starts and then stops sending the customer-service group
    sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-credit", "o2c-cs", "region-west"]))
    sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-credit", "region-west"]))
    # then the role stays: it was the admin's, never single sign-on's
    assert roles(user) == {Role.CUSTOMER_SERVICE, Role.CREDIT}


def test_groups_mapping_to_nothing_are_refused_and_create_nothing(mappings):
    result = sso_sign_in(issuer=ISSUER, claims=claims(groups=["all-staff"]))
    assert result.user is None and result.refusal == Refusal.NO_ACCESS
    assert "no o2c access" in result.message
    assert not Identity.objects.exists() and not Grant.objects.exists()


def test_a_person_who_loses_every_mapped_group_is_refused_and_keeps_nothing(mappings):
    user = sso_sign_in(issuer=ISSUER, claims=claims()).user
    result = sso_sign_in(issuer=ISSUER, claims=claims(groups=[]))
    assert result.refusal == Refusal.NO_ACCESS
    assert roles(user) == set() and territories(user) == set()


def test_a_role_without_a_territory_is_refused_never_every_territory(mappings):
    # given a person with customer service and west, who then leaves the west region group
    user = sso_sign_in(issuer=ISSUER, claims=claims()).user
    # when they sign in with the role alone
    result = sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-cs"]))
    # then they are refused rather than shown every territory, and lose the role
    assert result.refusal == Refusal.NO_TERRITORY
    assert roles(user) == set() and territories(user) == set()


def test_a_mapping_that_says_every_territory_lets_a_role_see_them_all(mappings):
    result = sso_sign_in(issuer=ISSUER, claims=claims(groups=["o2c-managers"]))
    assert roles(result.user) == {Role.MANAGER} and territories(result.user) == set()


def test_the_account_follows_the_subject_not_the_email(mappings):
    # given dana signed in once
    dana = sso_sign_in(issuer=ISSUER, claims=claims()).user
    # when her email changes at the provider, she is still the same account
    assert sso_sign_in(issuer=ISSUER, claims=claims(email="d.reyes@example.com")).user == dana
    # and another subject claiming her email does not get her account
    other = sso_sign_in(issuer=ISSUER, claims=claims(sub="s-2", email="d.reyes@example.com"))
    assert other.user is None and other.refusal == Refusal.EMAIL_TAKEN


@pytest.mark.parametrize(
    ("local", "verified"),
    [
        ({"password": "a-usable-password"}, True),  # it signs in by password: not taken over
        ({"is_staff": True, "password": None}, True),  # admin rights never come through SSO
        ({"password": None}, False),  # the provider does not vouch for the email
    ],
)
def test_a_local_account_with_the_email_is_linked_only_when_safe(mappings, local, verified):
    # given a local account with the person's email
    password = local.pop("password")
    account = UserFactory(username="dreyes", email="Dana@example.com", **local)
    if password is None:
        account.set_unusable_password()
    else:
        account.set_password(password)
    account.save()
    # when they sign in for the first time
    result = sso_sign_in(issuer=ISSUER, claims=claims(email_verified=verified))
    # then nothing is linked or created, and they are told to ask an admin
    assert (
        result.refusal == Refusal.EMAIL_TAKEN
        and "ask an o2c administrator" in result.message.lower()
    )
    assert not Identity.objects.exists() and roles(account) == set()


def test_a_password_less_local_account_with_the_verified_email_is_linked(mappings):
    account = UserFactory(username="dreyes", email="dana@example.com")
    account.set_unusable_password()
    account.save()
    result = sso_sign_in(issuer=ISSUER, claims=claims())
    assert result.user == account and roles(account) == {Role.CUSTOMER_SERVICE}


def test_admin_and_disabled_accounts_are_refused(mappings):
    user = sso_sign_in(issuer=ISSUER, claims=claims()).user
    user.is_superuser = True
    user.save()
    assert sso_sign_in(issuer=ISSUER, claims=claims()).refusal == Refusal.ADMIN_ACCOUNT
    user.is_superuser, user.is_active = False, False
    user.save()
    assert sso_sign_in(issuer=ISSUER, claims=claims()).refusal == Refusal.DISABLED


def test_a_taken_username_gets_a_suffix_and_claims_without_sub_are_refused(mappings):
    make_user("dana", Role.FINANCE, email="someone-else@example.com")
    assert sso_sign_in(issuer=ISSUER, claims=claims()).user.username == "dana-2"
    assert sso_sign_in(issuer=ISSUER, claims={"groups": ["o2c-cs"]}).refusal == Refusal.BAD_CLAIMS


def test_a_first_sign_in_that_loses_the_race_uses_the_account_linked_first(mappings, monkeypatch):
    # given another request links the same subject while this one is creating its account
    from sso import services

    first = sso_sign_in(issuer=ISSUER, claims=claims()).user
    real_filter = services.Identity.objects.filter
    calls = {"n": 0}

    def not_found_once(*args, **kwargs):
        calls["n"] += 1
        queryset = real_filter(*args, **kwargs)
        return queryset.none() if calls["n"] == 1 else queryset

    monkeypatch.setattr(services.Identity.objects, "filter", not_found_once)
    # when this one tries to create the identity too
    result = sso_sign_in(issuer=ISSUER, claims=claims())
    # then it signs in as the account linked first, and no second identity exists
    assert result.user == first and Identity.objects.count() == 1


def test_the_admin_form_refuses_a_row_that_grants_nothing_or_both_territories(admin_client):
    # when an administrator saves a row with nothing, or with a territory and every territory
    empty = admin_client.post("/admin/sso/groupmapping/add/", {"idp_group": "o2c-x"})
    both = admin_client.post(
        "/admin/sso/groupmapping/add/",
        {"idp_group": "o2c-x", "territory": "WEST", "every_territory": "on"},
    )
    # then each is refused, saying what to do, and nothing is saved
    assert "Give the group a role, a territory or every territory." in empty.content.decode()
    assert "Choose a territory or every territory, not both." in both.content.decode()
    assert not GroupMapping.objects.exists()
