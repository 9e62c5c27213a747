"""Bank account numbers are never stored nor logged: a mask showing the last four digits for
people, and a keyed fingerprint to recognise the same account again."""

import hashlib
import hmac

from django.conf import settings


def mask_account(number: str) -> str:
    digits = "".join(ch for ch in number if ch.isalnum())
    if not digits:
        return ""
    return "••••" + digits[-4:]


def account_fingerprint(number: str) -> str:
    """HMAC-SHA256 under its own key (``O2C_ACCOUNT_FINGERPRINT_KEY``, never rotated, unlike
    SECRET_KEY): equal for the same account for good, useless to recover it."""
    digits = "".join(ch for ch in number if ch.isalnum()).upper()
    if not digits:
        return ""
    return hmac.new(
        settings.O2C_ACCOUNT_FINGERPRINT_KEY.encode(), digits.encode(), hashlib.sha256
    ).hexdigest()
