"""How each kind of notice reaches each person (``NoticePreference``): read set-wise for the people
a notice is for, and set by a person for themselves on their notification preferences page."""

from django.db import transaction

from .errors import ApplicationError
from .models import NoticeKind, NoticeMode, NoticePreference


def notice_modes(*, user_ids, kind: str) -> dict[int, str]:
    """Each of these people's mode for ``kind`` (one query); a person without a row gets email,
    so a notice nobody configured still arrives."""
    chosen = dict(
        NoticePreference.objects.filter(user_id__in=list(user_ids), kind=kind).values_list(
            "user_id", "mode"
        )
    )
    return {user_id: chosen.get(user_id, NoticeMode.EMAIL) for user_id in user_ids}


def notice_preferences_for(*, user) -> dict[str, str]:
    """A person's mode for every kind, defaults filled in."""
    chosen = dict(NoticePreference.objects.filter(user=user).values_list("kind", "mode"))
    return {kind: chosen.get(kind, NoticeMode.EMAIL) for kind in NoticeKind.values}


@transaction.atomic
def notice_preferences_set(*, actor, modes: dict[str, str]) -> int:
    """Set the acting person's own modes; only their own rows are ever written. An unknown kind or
    mode refuses the whole change. Returns how many kinds changed."""
    bad = [k for k, m in modes.items() if k not in NoticeKind.values or m not in NoticeMode.values]
    if bad:
        raise ApplicationError(f"Unknown notice kind or mode: {', '.join(sorted(bad))}.")
    current = notice_preferences_for(user=actor)
    changed = 0
    for kind, mode in modes.items():
        if current[kind] == mode:
            continue
        preference = NoticePreference.objects.select_for_update().filter(user=actor, kind=kind)
        preference = preference.first() or NoticePreference(user=actor, kind=kind)
        preference.mode = mode
        preference._history_user = actor
        preference._change_reason = f"{NoticeKind(kind).label}: {NoticeMode(mode).label}"
        preference.save()
        changed += 1
    return changed
