"""Bank account numbers are never stored nor logged: a mask showing the last four digits for
people, and a keyed fingerprint to recognise the same account again."""

import hashlib
import hmac
import re

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


#: Where the bank files o2c reads carry an account number, the number the group named "n":
#: BAI2's account record (03) and its detail texts (DACT/DABA, ORG=/ and B/O=/), camt.053's IBAN
#: and other account ids.
_LABELLED_ACCOUNTS = (
    r"(?m)^03,(?P<n>[^,/\s]+)"
    # a label starts a text, or follows a space or a record's comma ("88,ORG=/…"); its value
    # runs to the next space or comma, routing number and account alike ("/021000021/4455…")
    r"|(?:\b(?:DACT|DABA):[ \t]*|(?:^|(?<=[\s,]))(?:ORG|B/O)[:=][ \t]*/)(?P<labelled>[^,\s]+)"
    r"|<IBAN>(?P<iban>[^<]+)</IBAN>"
    r"|<Othr>\s*<Id>(?P<id>[^<]+)</Id>"
)
_LABELLED = re.compile(_LABELLED_ACCOUNTS)
#: ... and a lockbox check's MICR line (routing/account), which only a whole file's columns
#: tell from a remittance's "PO 123456/7890".
_WITH_MICR = re.compile(_LABELLED_ACCOUNTS + r"|\b[0-9]{5,12}/(?P<micr>[0-9]{4,20})\b")


def mask_accounts_in(text: str, *, micr: bool = False) -> str:
    """``text`` (a payment's text from a bank file; with ``micr``, a whole bank file) with each
    account number it carries masked to its last four digits, the rest as it was: for the pages
    and the payment records people read. Amounts, dates and references stay readable, so a dead
    letter can still be diagnosed from what is shown."""

    def masked(match: re.Match) -> str:
        name = match.lastgroup
        start, end = (index - match.start() for index in match.span(name))
        whole = match.group(0)
        return whole[:start] + mask_account(match.group(name)) + whole[end:]

    return (_WITH_MICR if micr else _LABELLED).sub(masked, text)
