"""In chromium: a credit analyst sees the hold-outcome model's recommendation and the reasons
behind it on a hold in the credit queue, opens the hold and reads them again, and decides; a
manager reads the model card: its version, held-out metrics beside the baseline, and the
analyst's decision among the live outcomes."""

import pytest
from playwright.sync_api import expect

from core.roles import Role
from exceptions.models import ACTIVE_STATES, Hold
from tests.browser.nav import nav
from tests.fixtures.users import make_user
from tests.triage.test_hold_outcome import _history
from tests.triage.test_hold_outcome import model as model  # noqa: F401 - the fixture
from triage.models import Prediction
from triage.scoring import holds_score
from triage.training import model_train

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_credit_analyst_reads_the_recommendation_and_a_manager_the_card(
    page, live_server, login, model, hold_policy
):
    analyst = make_user("credit", Role.CREDIT, first_name="Cora", last_name="Credit")
    make_user("manager", Role.MANAGER, first_name="Max", last_name="Manager")
    _history(analyst)
    version = model_train(name=model.name)
    holds_score()
    hold = (
        Hold.objects.filter(state__in=ACTIVE_STATES, value_at_risk__lte=2500)
        .exclude(suggestion={})
        .order_by("pk")
        .first()
    )
    tip = hold.suggestion

    login("credit")
    nav(page, "My work")
    page.goto(f"{live_server.url}/queues/credit/")
    row = page.locator(f"#hold-{hold.pk}")
    expect(row).to_contain_text(tip["text"])
    expect(row).to_contain_text(tip["factors"][0]["text"])
    row.locator(".hold-link").click()  # the hold's drawer
    advice = page.locator("#drawer").get_by_label("Recommendation")
    expect(advice).to_contain_text(tip["text"])
    expect(advice).to_contain_text("you decide")
    page.go_back()  # Back closes the drawer
    expect(page.locator("#drawer")).to_be_hidden()
    row.get_by_label(f"More actions for hold {hold.pk}").click()
    row.get_by_label(f"Reason for hold {hold.pk}").fill("customer paid the old invoice")
    row.get_by_role("button", name="Release").click()
    expect(page.locator(f"#hold-{hold.pk}")).to_contain_text("Released")

    page.get_by_role("button", name="Log out").click()
    login("manager")
    nav(page, "Triage")
    page.get_by_role("link", name="Hold outcome: released or rejected").click()
    card = page.get_by_role("region", name="Active version")
    expect(card).to_contain_text(f"Version {version.number}")
    expect(card).to_contain_text(str(version.metrics["roc_auc"]))
    expect(card).to_contain_text("the customer's earlier release rate for the reason")
    outcomes = page.get_by_role("region", name="Live outcomes")
    expect(outcomes).to_contain_text("Followed")
    decided = Prediction.objects.get(subject_id=hold.pk)
    assert decided.outcome == "release" and decided.decided_by == analyst
