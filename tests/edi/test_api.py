"""Interchanges posted by a partner, signed with its secret: the same intake as its drop folder."""

import hashlib
import hmac

import pytest

from integrations.models import InboundMessage, Interchange
from tests.edi.samples import interchange, po_850
from tests.edi.test_intake import partner as partner  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db
URL = "/api/v1/edi/acme/"
SECRET = "edi-test-secret"  # noqa: S105 - test-only


@pytest.fixture
def signed(partner, monkeypatch):
    monkeypatch.setenv("ACME_EDI_SECRET", SECRET)
    partner.credentials_ref = "ACME_EDI_SECRET"
    partner.save()

    def sign(body: bytes) -> str:
        return "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()

    return sign


def _post(client, body: bytes, signature: str):
    return client.post(
        URL, data=body, content_type="application/edi-x12", HTTP_X_O2C_SIGNATURE=signature
    )


def test_a_signed_interchange_is_taken_in_once(client, signed, django_capture_on_commit_callbacks):
    body = interchange([("PO", 1, [("850", "0001", po_850("PO-50"))])]).encode()
    with django_capture_on_commit_callbacks(execute=False):
        first = _post(client, body, signed(body))
        again = _post(client, body, signed(body))
    assert first.status_code == 202, first.content
    assert first.json()["sets"][0]["code"] == "850" and first.json()["state"] == "accepted"
    assert again.status_code == 200 and again.json()["repeat"] is True
    assert Interchange.objects.filter(direction="in").count() == 1


def test_unsigned_or_unreadable_posts_change_nothing_or_are_kept(
    client, signed, django_capture_on_commit_callbacks
):
    body = interchange([("PO", 1, [("850", "0001", po_850("PO-51"))])]).encode()
    assert _post(client, body, "sha256=" + "0" * 64).status_code == 401
    assert _post(client, body, "").status_code == 401
    assert not Interchange.objects.exists() and not InboundMessage.objects.exists()
    garbage = b"GS*PO*not an interchange~"
    with django_capture_on_commit_callbacks(execute=False):
        refused = _post(client, garbage, signed(garbage))
    assert refused.status_code == 400 and "ISA" in refused.json()["message"]
    kept = InboundMessage.objects.get(stream="interchanges")
    assert kept.payload["x12"] == garbage.decode() and kept.state == "dead"
    assert (
        client.post(
            "/api/v1/edi/nobody/", data=body, content_type="application/edi-x12"
        ).status_code
        == 404
    )


def test_an_interchange_past_djangos_buffer_is_read_and_one_past_the_limit_is_413(
    client, signed, django_capture_on_commit_callbacks
):
    from integrations.edi.transport import MAX_BYTES

    # given a signed interchange of 3 MB (Django buffers 2.5 MB itself), padded after its end
    body = interchange([("PO", 1, [("850", "0001", po_850("PO-52"))])]).encode()
    padded = body + b"\n" * (3_000_000 - len(body))
    with django_capture_on_commit_callbacks(execute=False):
        response = _post(client, padded, signed(padded))
    # then it is read and taken in, as a smaller one is
    assert response.status_code == 202, response.content[:300]
    assert response.json()["sets"][0]["code"] == "850"
    # and one past the documented limit is a 413 naming it, before anything is read
    huge = b"X" * (MAX_BYTES + 1)
    too_big = _post(client, huge, signed(huge))
    assert too_big.status_code == 413 and too_big.json()["code"] == "too_large"
