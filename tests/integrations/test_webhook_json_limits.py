"""The signed webhook refuses a body nested deeper or larger than the JSON limits with a 400 that
says so, where the parser's RecursionError used to make a 500; nothing is stored."""

import pytest

from integrations.models import InboundMessage
from tests.integrations.test_webhook import SECRET, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_erp(erp, monkeypatch):
    monkeypatch.setenv("SANDBOX_ERP_SECRET", SECRET)
    erp.credentials_ref = "SANDBOX_ERP_SECRET"
    erp.save()
    return erp


def test_a_body_nested_5000_deep_is_a_400_and_stores_nothing(client, signed_erp):
    # given: a correctly signed record with 5,000 levels of nesting inside it
    body = ('{"id": "DEEP-1", "name": ' + "[" * 5000 + "]" * 5000 + "}").encode()
    # when
    response = post(client, body)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "message": "The JSON body nests more than 64 levels deep; the limit is 64.",
        "code": "json_too_deep",
        "extra": {"field": "body"},
    }
    assert not InboundMessage.objects.exists()


def test_a_body_over_the_size_limit_is_a_400_and_stores_nothing(client, signed_erp):
    body = ('{"id": "BIG-1", "name": "' + "x" * 1_000_000 + '"}').encode()
    response = post(client, body)
    assert response.status_code == 400 and response.json()["code"] == "json_too_large"
    assert "the limit is 1,000,000" in response.json()["message"]
    assert not InboundMessage.objects.exists()


def test_malformed_json_is_still_named_as_such(client, signed_erp):
    response = post(client, b'{"id": "X-1", ')
    assert response.status_code == 400 and response.json()["code"] == "malformed_json"
