"""A bank account's fingerprint stays the same when SECRET_KEY is rotated (sessions), and changes
only with its own key: a re-sent statement is still recognised, and the matcher still knows
which customer pays from which account."""

from pathlib import Path

import pytest
from django.test import override_settings

from receivables.accounts import account_fingerprint, mask_account, mask_accounts_in


def test_rotating_the_secret_key_keeps_every_fingerprint():
    before = account_fingerprint("021000021/99887766")
    with override_settings(SECRET_KEY="a-rotated-session-key", SECRET_KEY_FALLBACKS=["old"]):
        assert account_fingerprint("021000021 / 99887766") == before
    with override_settings(O2C_ACCOUNT_FINGERPRINT_KEY="another-fingerprint-key"):
        assert account_fingerprint("021000021/99887766") != before
    assert "99887766" not in before and mask_account("021000021/99887766") == "••••7766"


FIXTURES = Path(__file__).parent / "fixtures"
#: Every account number the fixture files carry, and what else must stay readable beside them.
ACCOUNTS = {
    "bai2_prior_day.txt": (
        ["4455667788", "000123456789", "DE44500105175407324931"],
        ["250000000", "INV-0000123", "1470.00", "ACME FOODS INC"],
    ),
    "camt053_v02.xml": (
        ["DE44500105175407324931", "DE89370400440532013000", "0532013000"],
        ["1470.00", "E-0001", "Acme Foods GmbH", "2026-03-11"],
    ),
    "lockbox.csv": (
        ["4455667788", "000123456789", "99001122"],
        ["2450.00", "INV-0000150", "10452", "Northwind Trading, LLC"],
    ),
}


@pytest.mark.parametrize("name", sorted(ACCOUNTS))
def test_a_bank_file_shown_to_people_keeps_no_account_number_and_every_figure(name):
    text = (FIXTURES / name).read_text()
    numbers, kept = ACCOUNTS[name]
    present = [number for number in numbers if number in text]
    assert present, "the fixture carries the accounts this test masks"
    shown = mask_accounts_in(text, micr=True)
    for number in present:
        assert number not in shown
        assert mask_account(number) in shown
    for figure in kept:
        assert figure in shown


def test_an_account_labelled_after_a_records_comma_is_masked_whole():
    text = "88,ORG=/4455667788 ACME\n16,195,1,Z,,1029,B/O=/021000021/5566778899 WIRE/\n"
    shown = mask_accounts_in(text, micr=True)
    assert shown == "88,ORG=/••••7788 ACME\n16,195,1,Z,,1029,B/O=/••••8899 WIRE/\n"


def test_a_payments_text_masks_labelled_accounts_and_keeps_what_looks_like_a_reference():
    text = "WIRE ORG=/000111222333 DACT: 000123456789 PO 123456/7890 INV-0000151"
    assert mask_accounts_in(text) == (
        "WIRE ORG=/••••2333 DACT: ••••6789 PO 123456/7890 INV-0000151"
    )
