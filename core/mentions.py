"""@-mentions in a note: the user names written as ``@name`` (not an e-mail address's domain)."""

import re

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
