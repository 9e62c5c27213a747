"""The API's JSON parser refuses a body nested deeper or larger than the limits with a 400 in the
one error body, before any service runs: the hold stays as it was."""

import pytest
from rest_framework.test import APIClient

from exceptions.models import HoldState

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(credit_user):
    client = APIClient()
    client.force_authenticate(credit_user)
    return client


@pytest.fixture
def credit_hold(enter):
    return enter(quantity="60").holds.get()  # 6,000 against a 5,000 limit


def _release(api, hold, body: str):
    return api.post(f"/api/v1/holds/{hold.pk}/release/", body, content_type="application/json")


def test_a_body_nested_5000_deep_is_a_400_and_changes_nothing(api, credit_hold):
    # given: a release whose body nests 5,000 levels deep
    body = '{"reason": "ok", "note": ' + "[" * 5000 + "]" * 5000 + "}"
    # when
    response = _release(api, credit_hold, body)
    # then
    assert response.status_code == 400
    assert response.json() == {
        "message": "The JSON body nests more than 64 levels deep; the limit is 64.",
        "code": "json_too_deep",
        "extra": {},
    }
    credit_hold.refresh_from_db()
    assert credit_hold.state == HoldState.OPEN and credit_hold.assignee is None


def test_a_body_over_the_size_limit_is_a_400_and_changes_nothing(api, credit_hold):
    response = _release(api, credit_hold, '{"reason": "' + "x" * 1_000_000 + '"}')
    assert response.status_code == 400 and response.json()["code"] == "json_too_large"
    credit_hold.refresh_from_db()
    assert credit_hold.state == HoldState.OPEN


def test_malformed_and_non_finite_json_are_refused_as_before(api, credit_hold):
    malformed = _release(api, credit_hold, '{"reason": ')
    assert malformed.status_code == 400
    assert malformed.json()["message"].startswith("JSON parse error - ")
    nan = _release(api, credit_hold, '{"reason": NaN}')
    assert nan.status_code == 400 and "not JSON compliant" in nan.json()["message"]
    released = _release(api, credit_hold, '{"reason": "Wire received"}')
    assert released.status_code == 200 and released.json()["state"] == "released"
