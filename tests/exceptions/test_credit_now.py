"""A credit hold's numbers today beside its snapshot: orders released since it was raised count,
the row and the API show both, and a release that now goes further over the limit than the hold
covered needs an explicit confirmation (and a second approver where the amount calls for one)."""

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from core.errors import ApplicationError
from exceptions.models import Hold, HoldPolicy, HoldState
from exceptions.services import hold_release
from orders.models import OrderState
from tests.fixtures.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def grown_exposure(enter):
    """A credit hold raised at exposure 6,000 (750 over the 5,250 allowed), then another order of
    the same customer released touchless: exposure today 7,000, 1,750 over."""
    customer = CustomerFactory(credit_limit=Decimal("5000"))
    held = enter(customer=customer, quantity="60")
    later = enter(customer=customer, quantity="10")
    assert later.state == OrderState.RELEASED
    return held.holds.get(reason__code="CREDIT_LIMIT")


def test_the_exposure_now_counts_the_orders_released_since(grown_exposure):
    # given the hold's snapshot  # when its figures today are read
    from exceptions.selectors import credit_now

    now = credit_now(hold=grown_exposure)
    # then the later release is in them, beside the snapshot
    assert (now["snapshot_exposure"], now["exposure"], now["overage"]) == (
        Decimal("6000.00"),
        Decimal("7000.00"),
        Decimal("1750.00"),
    )


def test_a_release_beyond_the_snapshot_needs_a_confirmation(grown_exposure, credit_user):
    # when the analyst releases without confirming
    with pytest.raises(ApplicationError, match="Exposure is now 7,000.00") as refused:
        hold_release(hold_id=grown_exposure.pk, actor=credit_user, reason="Paid")
    # then it is refused with the figures, and nothing changed (not even the claim)
    assert refused.value.extra["field"] == "confirm_exposure"
    hold = Hold.objects.get(pk=grown_exposure.pk)
    assert (hold.state, hold.assignee_id, hold.approval_amount) == (
        HoldState.OPEN,
        None,
        Decimal("750.00"),
    )
    # when they confirm, the release covers today's overage
    hold = hold_release(
        hold_id=grown_exposure.pk, actor=credit_user, reason="Paid", confirm_exposure=True
    )
    assert hold.state == HoldState.RELEASED and hold.approval_amount == Decimal("1750.00")
    assert hold.decision["amount"] == "1750.00"


def test_a_confirmed_release_above_the_maker_checker_amount_needs_a_second_approver(
    grown_exposure, credit_user
):
    # given a policy whose second-approval amount sits between the snapshot and today's overage
    HoldPolicy.objects.filter(segment="").update(maker_checker_amount=Decimal("1000.00"))
    # when the analyst confirms today's figures
    hold = hold_release(
        hold_id=grown_exposure.pk, actor=credit_user, reason="Paid", confirm_exposure=True
    )
    # then it waits for a second approver
    assert hold.state == HoldState.AWAITING_SECOND_APPROVAL


def test_the_row_and_the_api_show_the_exposure_now(grown_exposure, client, credit_user):
    # given a credit analyst
    client.force_login(credit_user)
    api = APIClient()
    api.force_authenticate(credit_user)
    # when they open the hold in the queue and over the API
    page = client.get(reverse("exceptions:hold", args=[grown_exposure.pk]), HTTP_HX_REQUEST="true")
    body = api.get(f"/api/v1/holds/{grown_exposure.pk}/").json()
    # then both show today's exposure beside the snapshot
    assert 'aria-label="Exposure now"' in page.content.decode()
    assert "7,000.00 USD" in page.content.decode() and "6,000.00 USD" in page.content.decode()
    assert body["credit_now"]["exposure"] == "7000.00"
    assert body["credit_now"]["snapshot_exposure"] == "6000.00"
    # and a release over the API without the confirmation is a 400 naming the field
    refused = api.post(f"/api/v1/holds/{grown_exposure.pk}/release/", {"reason": "Paid"})
    assert refused.status_code == 400 and "Exposure is now" in refused.json()["message"]
    confirmed = api.post(
        f"/api/v1/holds/{grown_exposure.pk}/release/",
        {"reason": "Paid", "confirm_exposure": True},
        format="json",
    )
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "released"
