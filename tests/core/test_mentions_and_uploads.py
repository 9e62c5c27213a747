"""The @-mention parser and the upload check that notes and cases share."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from core.errors import ApplicationError
from core.mentions import mentioned_usernames
from core.uploads import NOTE_ATTACHMENT_TYPES, check_upload


def test_mentions_are_names_after_an_at_sign_not_email_addresses():
    text = "@manager, @cs_west. Mail ap@acme.com or write to @Manager again; @ alone is no one."
    assert mentioned_usernames(text) == ["manager", "cs_west", "Manager"]
    assert mentioned_usernames("") == []


def _check(name: str, content: bytes, limit: int = 1_000):
    upload = SimpleUploadedFile(name, content)
    return check_upload(upload, allowed=NOTE_ATTACHMENT_TYPES, limit=limit, where="notes")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("scan.PDF", b"%PDF-1.7\n..."),
        ("photo.jpeg", b"\xff\xd8\xff\xe0JFIF"),
        ("chart.gif", b"GIF89a..."),
        ("mail.eml", b"From: a@b.example\r\nSubject: hi\r\n\r\nbody"),
        ("outlook.msg", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 8),
        ("call notes.txt", "Customer called: café".encode()),
    ],
)
def test_files_that_are_what_their_names_say_pass(name, content):
    checked = _check(name, content)
    assert (checked.name, checked.size) == (name, len(content))
    assert checked.stored_name().endswith(f".{checked.extension}") and name not in (
        checked.stored_name()
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("tool.exe", b"MZ", "is not a type notes take"),
        ("no extension", b"%PDF-1.4", "is not a type notes take"),
        ("invoice.pdf", b"<html><script>", "is not what its name says"),
        ("logo.png", b"\xff\xd8\xff\xe0", "is not what its name says"),  # a JPEG
        ("notes.txt", b"MZ\x90\x00\x03\x00", "is not what its name says"),  # a program
        ("empty.pdf", b"", "is empty"),
        ("huge.pdf", b"%PDF-" + b"x" * 2_000, "the limit is"),
    ],
)
def test_files_of_other_types_or_sizes_are_refused(name, content, message):
    with pytest.raises(ApplicationError, match=message) as refusal:
        _check(name, content)
    assert refusal.value.extra == {"field": "file"}
