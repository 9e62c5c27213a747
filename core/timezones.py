"""Which time zone a person reads times in: their preference, else ``O2C_DEFAULT_TIME_ZONE``.
The choice is kept on the session at sign-in, so finding it costs a page no query."""

from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver

from .audit import save_audited
from .errors import ApplicationError
from .models import UserPreference

#: The session key holding the user's chosen zone name, "" when they chose none.
SESSION_KEY = "o2c_time_zone"


@lru_cache(maxsize=64)
def zone_named(name: str) -> ZoneInfo | None:
    """The zone called ``name`` (an IANA name such as "Europe/Berlin"), or None if none is."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def default_zone() -> ZoneInfo:
    """The zone of a person who has not chosen one (settings are checked at start-up)."""
    return zone_named(settings.O2C_DEFAULT_TIME_ZONE) or ZoneInfo("UTC")


def preferred_zone_name(user) -> str:
    """The zone ``user`` chose, "" when they chose none: one query."""
    zone = UserPreference.objects.filter(user=user).values_list("time_zone", flat=True).first()
    return str(zone) if zone else ""


def zone_for_request(request) -> ZoneInfo:
    """The zone of the person making ``request``. Read from the session, where sign-in put it; a
    session from before that (or one that lost it) pays the one query, once."""
    user = getattr(request, "user", None)
    session = getattr(request, "session", None)
    if user is None or session is None or not user.is_authenticated:
        return default_zone()
    name = session.get(SESSION_KEY)
    if name is None:
        name = session[SESSION_KEY] = preferred_zone_name(user)
    return zone_named(name) or default_zone()


@receiver(user_logged_in, dispatch_uid="core.remember_time_zone")
def remember_time_zone(sender, request, user, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        request.session[SESSION_KEY] = preferred_zone_name(user)


@transaction.atomic
def user_time_zone_set(*, actor, time_zone: str, request=None) -> UserPreference:
    """Set the zone ``actor`` reads times in; with ``request``, from their next page on (others
    signed in elsewhere see it at their next sign-in). An unknown zone changes nothing."""
    zone = zone_named(time_zone)
    if zone is None:
        raise ApplicationError(
            f"“{time_zone}” is not a time zone o2c knows; choose one from the list.",
            {"time_zone": time_zone},
        )
    preference = UserPreference.objects.select_for_update().filter(
        user=actor
    ).first() or UserPreference(user=actor)
    preference.time_zone = zone
    save_audited(
        preference,
        actor=actor,
        reason=f"Time zone set to {zone.key}",
        conflict="Your preferences changed meanwhile; reload and try again.",
    )
    if request is not None:
        request.session[SESSION_KEY] = zone.key
    return preference
