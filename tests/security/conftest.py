"""Objects every security test reaches: one of each kind a URL can name, owned by an EAST customer."""

import pytest

from core.roles import Role
from integrations.models import Connector
from tests.fixtures.users import make_user

ROLES = [role.value for role in Role]


@pytest.fixture
def world(enter, released_order, ship, west_customer):
    """A held order with a credit hold, an invoice waiting for finance, and a connector."""
    from billing.models import Invoice

    held = enter(quantity="60")  # 6,000 against a 5,000 limit: a credit hold
    invoiced = released_order(lines=[("B", "4")])
    ship(invoiced, {1: "4"})
    connector = Connector.objects.create(
        name="erp-sec", kind="erp", base_url="http://127.0.0.1:9", enabled=False
    )
    return {
        "order": held,
        "line": held.lines.get(),
        "hold": held.holds.get(),
        "invoice": Invoice.objects.get(),
        "connector": connector,
    }


@pytest.fixture
def users(db):
    """A user per role, a user with no role, and a superuser, by name."""
    from tests.fixtures.factories import UserFactory

    people = {role: make_user(f"sec_{role}", role) for role in ROLES}
    people["nobody"] = make_user("sec_nobody")
    people["superuser"] = UserFactory(username="sec_root", is_superuser=True, is_staff=True)
    return people
