"""A bank account's fingerprint stays the same when SECRET_KEY is rotated (sessions), and changes
only with its own key: a re-sent statement is still recognised, and the matcher still knows
which customer pays from which account."""

from django.test import override_settings

from receivables.accounts import account_fingerprint, mask_account


def test_rotating_the_secret_key_keeps_every_fingerprint():
    before = account_fingerprint("021000021/99887766")
    with override_settings(SECRET_KEY="a-rotated-session-key", SECRET_KEY_FALLBACKS=["old"]):
        assert account_fingerprint("021000021 / 99887766") == before
    with override_settings(O2C_ACCOUNT_FINGERPRINT_KEY="another-fingerprint-key"):
        assert account_fingerprint("021000021/99887766") != before
    assert "99887766" not in before and mask_account("021000021/99887766") == "••••7766"
