"""Schemathesis against the API's own OpenAPI schema, over real HTTP to a live server, as a token
holder with every role: generated requests (valid and invalid) never get a 500, and every
documented response conforms to the schema."""

import pytest
import schemathesis
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from tests.summary import summary


@schemathesis.serializer("application/edi-x12")
def _x12(ctx, value) -> bytes:
    """An EDI interchange is raw text: generated strings are sent as they are (unsigned, so the
    endpoint must refuse them cleanly)."""
    return value.encode("utf-8", "replace") if isinstance(value, str) else str(value).encode()


schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
CALLS = {"n": 0}


@pytest.fixture
def api_token(transactional_db, enter, released_order, ship):
    """A manager's token (every list and action) and something in every list."""
    from tests.fixtures.users import make_user

    enter(quantity="60")  # a held order with a credit hold
    ship(released_order(lines=[("B", "4")]), {1: "4"})  # a shipment and a pending invoice
    return Token.objects.create(user=make_user("fuzz_manager", "manager")).key


@pytest.mark.django_db(transaction=True)
@schema.parametrize()
@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_errors_and_conforms(case, live_server, api_token):
    case.call_and_validate(
        base_url=live_server.url,
        headers={"Authorization": f"Token {api_token}"},
        checks=CHECKS,
        timeout=30,
    )
    CALLS["n"] += 1


def test_api_fuzz_summary():
    summary(
        "fuzz: API (schemathesis)",
        load=f"{CALLS['n']} generated requests",
        faults="generated valid and invalid requests",
        result="no 500, responses conform",
    )
