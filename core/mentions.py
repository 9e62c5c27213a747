"""@-mentions in a note: the user names written as ``@name`` (not an e-mail address's domain),
and the colleagues they name, refused when nobody would receive the note."""

import re
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db.models import Q

from .errors import ApplicationError

#: More mentions than this is a broadcast, not a note to colleagues.
MAX_MENTIONS = 10

# A mention starts a word: the "@" of "ap@acme.com" follows a letter and is no mention. User
# names may hold letters, digits and . + - _ (Django's rule, less "@"); a trailing full stop
# ends the sentence, not the name.
_MENTION = re.compile(r"(?<![\w.@+-])@([\w.+-]+)")


def mentioned_usernames(text: str) -> list[str]:
    """The names mentioned in ``text``, each once, in the order written."""
    found: dict[str, None] = {}
    for match in _MENTION.finditer(text or ""):
        name = match.group(1).rstrip(".-")
        if name:
            found.setdefault(name, None)
    return list(found)


def mentioned_colleagues(text: str, *, actor, can_see: Callable, where: str) -> list:
    """The active users ``text`` mentions, the writer left out. A mention nobody would receive
    is refused, not dropped: the writer believes they told someone, so they must learn they did
    not (a misspelt name, or a colleague who may not see ``where`` and could not open the link).
    ``can_see(user)`` says whether a user may see the item; names match case-insensitively."""
    names = mentioned_usernames(text)
    if not names:
        return []
    if len(names) > MAX_MENTIONS:
        raise ApplicationError(
            f"Mention at most {MAX_MENTIONS} colleagues in one note.", {"field": "text"}
        )
    match = Q()
    for name in names:
        match |= Q(username__iexact=name)
    people = {
        user.username.lower(): user
        for user in get_user_model().objects.filter(match, is_active=True)
    }
    unknown = [f"@{name}" for name in names if name.lower() not in people]
    if unknown:
        raise ApplicationError(
            f"No colleague is called {', '.join(unknown)}; check the user name (the note was "
            "not saved).",
            {"field": "text"},
        )
    blind = [f"@{user.username}" for user in people.values() if not can_see(user)]
    if blind:
        raise ApplicationError(
            f"{', '.join(blind)} may not see {where}, so they could not read the note; mention "
            "someone who works it, or a manager (the note was not saved).",
            {"field": "text"},
        )
    return [user for user in people.values() if user.pk != actor.pk]
