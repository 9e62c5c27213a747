"""Signing a person in from an identity provider's claims: find or link their account, then bring
the roles and territories its groups map to in line with what the provider says today."""

import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.roles import Role, get_system_user
from orders.models import TerritoryAssignment

from .models import Grant, GrantKind, GroupMapping, Identity

logger = logging.getLogger(__name__)

_USERNAME_UNSAFE = re.compile(r"[^\w.@+-]")


class Refusal(StrEnum):
    NO_ACCESS = "no_access"  # the groups map to no role (and none was given here)
    NO_TERRITORY = "no_territory"  # a role, but no territory and no "every territory" row
    ADMIN_ACCOUNT = "admin_account"  # staff and superusers sign in with their password only
    DISABLED = "disabled"
    EMAIL_TAKEN = "email_taken"  # a local account has the email and cannot be linked safely
    BAD_CLAIMS = "bad_claims"


REFUSAL_MESSAGES = {
    Refusal.NO_ACCESS: "Your company account has no o2c access: none of your groups gives a role "
    "in o2c. Ask an o2c administrator to map one of your groups to a role.",
    Refusal.NO_TERRITORY: "Your company account has no o2c access: your groups give a role but no "
    "territory. Ask an o2c administrator to map one of your groups to your territory.",
    Refusal.ADMIN_ACCOUNT: "This o2c account is an administrator's and signs in with its own "
    "password only, never through the company account.",
    Refusal.DISABLED: "This o2c account is disabled. Ask an o2c administrator.",
    Refusal.EMAIL_TAKEN: "An o2c account with your email already exists and signs in with a "
    "password, so it is not linked to your company account by itself. Ask an o2c administrator "
    "to turn off its password sign-in; your next sign-in then links it.",
    Refusal.BAD_CLAIMS: "The identity provider's answer names no subject, so nobody can be "
    "signed in with it. Ask an o2c administrator to check the provider's client settings.",
}


@dataclass(frozen=True)
class SignIn:
    user: AbstractUser | None
    refusal: Refusal | None = None

    @property
    def message(self) -> str:
        return REFUSAL_MESSAGES[self.refusal] if self.refusal else ""


@dataclass(frozen=True)
class Access:
    """What the provider's groups map to, through the admin's mapping table."""

    roles: frozenset[str]
    territories: frozenset[str]
    every_territory: bool


def groups_from_claim(value) -> list[str]:
    """The groups claim as a sorted list of names; a lone string is one group."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, Iterable):
        return []
    return sorted({item for item in value if isinstance(item, str) and item})


def access_for_groups(groups: list[str]) -> Access:
    rows = list(GroupMapping.objects.filter(idp_group__in=groups))
    return Access(
        roles=frozenset(row.role for row in rows if row.role),
        territories=frozenset(row.territory for row in rows if row.territory),
        every_territory=any(row.every_territory for row in rows),
    )


def sso_sign_in(*, issuer: str, claims: Mapping, groups_claim: str = "groups") -> SignIn:
    """The account the provider's verified claims sign in as, with its mapped roles and
    territories brought up to date; or a refusal saying why. A person the provider no longer
    puts in a group loses what that group gave them here, even when refused."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        return SignIn(None, Refusal.BAD_CLAIMS)
    groups = groups_from_claim(claims.get(groups_claim))
    access = access_for_groups(groups)
    with transaction.atomic():
        # the lock makes two sign-ins of one person at once take turns
        identity = (
            Identity.objects.select_for_update()
            .select_related("user")
            .filter(issuer=issuer, subject=subject)
            .first()
        )
        if identity is None:
            if not access.roles:
                return SignIn(None, Refusal.NO_ACCESS)  # nothing created for a stranger
            try:
                with transaction.atomic():  # a savepoint: the first sign-in in two tabs at once
                    user, refusal = _linked_or_new_user(claims)
                    if refusal:
                        return SignIn(None, refusal)
                    identity = Identity.objects.create(user=user, issuer=issuer, subject=subject)
                logger.info("sso: %s linked to subject %s of %s", user.username, subject, issuer)
            except IntegrityError:
                # the other tab linked it first: carry on with its account
                identity = (
                    Identity.objects.select_for_update()
                    .select_related("user")
                    .get(issuer=issuer, subject=subject)
                )
        user = identity.user
        if user.is_staff or user.is_superuser:
            return SignIn(None, Refusal.ADMIN_ACCOUNT)
        if not user.is_active:
            return SignIn(None, Refusal.DISABLED)
        _update_profile(user, claims)
        identity.groups = groups
        identity.last_sign_in_at = timezone.now()
        identity.save(update_fields=["groups", "last_sign_in_at"])
        refusal = _refusal_for(user, access)
        # A refused person keeps nothing the provider granted before.
        granted = access if refusal is None else Access(frozenset(), frozenset(), False)
        _sync_grants(user, granted, reason=f"single sign-on: groups {', '.join(groups) or 'none'}")
    return SignIn(None if refusal else user, refusal)


def _refusal_for(user, access: Access) -> Refusal | None:
    local_roles = set(
        user.groups.filter(name__in=Role.values)
        .exclude(name__in=_granted(user, GrantKind.ROLE))
        .values_list("name", flat=True)
    )
    if not (access.roles | local_roles):
        return Refusal.NO_ACCESS
    local_territories = TerritoryAssignment.objects.filter(user=user).exclude(
        territory__in=_granted(user, GrantKind.TERRITORY)
    )
    # An empty territory list means "every territory" to the selectors: only a mapping says so.
    if not access.territories and not access.every_territory and not local_territories.exists():
        return Refusal.NO_TERRITORY
    return None


def _granted(user, kind: GrantKind) -> set[str]:
    return set(Grant.objects.filter(user=user, kind=kind).values_list("value", flat=True))


def _sync_grants(user, access: Access, *, reason: str) -> None:
    """Grant what the provider's groups map to and take back what single sign-on granted that
    they no longer do; roles and territories an administrator gave are left alone."""
    system = get_system_user()
    grants = {(g.kind, g.value): g for g in Grant.objects.filter(user=user)}
    roles_held = set(user.groups.filter(name__in=Role.values).values_list("name", flat=True))
    territories_held = {row.territory: row for row in TerritoryAssignment.objects.filter(user=user)}

    for role in access.roles - roles_held:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        _record_grant(user, GrantKind.ROLE, role, grants, system, reason)
    for territory in access.territories - set(territories_held):
        assignment = TerritoryAssignment(user=user, territory=territory)
        assignment._history_user = system
        assignment._change_reason = reason
        assignment.save()
        _record_grant(user, GrantKind.TERRITORY, territory, grants, system, reason)

    for (kind, value), grant in grants.items():
        wanted = access.roles if kind == GrantKind.ROLE else access.territories
        if value in wanted:
            continue
        if kind == GrantKind.ROLE:
            user.groups.remove(*Group.objects.filter(name=value))
        elif value in territories_held:
            assignment = territories_held[value]
            assignment._history_user = system
            assignment._change_reason = reason
            assignment.delete()
        grant._history_user = system
        grant._change_reason = reason
        grant.delete()
        logger.info("sso: %s no longer has %s %s (%s)", user.username, kind, value, reason)


def _record_grant(user, kind, value, grants, system, reason) -> None:
    if (kind, value) in grants:
        return  # granted before, taken away since by an administrator, and granted again
    grant = Grant(user=user, kind=kind, value=value)
    grant._history_user = system
    grant._change_reason = reason
    grant.save()
    grants[(kind, value)] = grant
    logger.info("sso: %s granted %s %s (%s)", user.username, kind, value, reason)


def _linked_or_new_user(claims: Mapping):
    """A first sign-in: link the one local account with the provider's verified email if it cannot
    sign in by password and holds no admin rights; refuse if another account has that email;
    else create an account that has no password."""
    User = get_user_model()
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    email = email.strip()
    if email:
        same_email = list(User.objects.select_for_update().filter(email__iexact=email))
        if same_email:
            candidate = same_email[0]
            linkable = (
                len(same_email) == 1
                and claims.get("email_verified") is True
                and not candidate.has_usable_password()
                and not (candidate.is_staff or candidate.is_superuser)
                and not Identity.objects.filter(user=candidate).exists()
            )
            return (candidate, None) if linkable else (None, Refusal.EMAIL_TAKEN)
    user = User(username=_free_username(claims), email=email)
    user.set_unusable_password()
    _fill_names(user, claims)
    user.save()
    return user, None


def _free_username(claims: Mapping) -> str:
    User = get_user_model()
    wanted = claims.get("preferred_username") or (claims.get("email") or "").split("@")[0]
    base = _USERNAME_UNSAFE.sub("-", str(wanted or ""))[:140].strip("-") or "sso-user"
    candidate, n = base, 1
    while User.objects.filter(username__iexact=candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def _fill_names(user, claims: Mapping) -> list[str]:
    changed = []
    for field, claim in (("first_name", "given_name"), ("last_name", "family_name")):
        value = claims.get(claim)
        if isinstance(value, str) and value.strip() and getattr(user, field) != value.strip():
            setattr(user, field, value.strip()[:150])
            changed.append(field)
    return changed


def _update_profile(user, claims: Mapping) -> None:
    """Names and email follow the provider; the account itself is found by subject, not email."""
    changed = _fill_names(user, claims)
    email = claims.get("email")
    if isinstance(email, str) and email.strip() and user.email != email.strip():
        user.email = email.strip()
        changed.append("email")
    if changed:
        user.save(update_fields=changed)
