"""Act mode: the hold-outcome model releases the holds it is surest of, only inside its limits, as
its version's own account with its explanation as the reason; a limit refuses and changes nothing;
a person undoes a release and the model never releases that hold again; the model's account can
approve no invoice and write nothing off; live precision below the floor drops it back to suggest
and tells the managers."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from core.errors import Conflict, PermissionDenied
from core.roles import Role, model_user
from exceptions.models import Hold, HoldPolicy, HoldState, Notification
from exceptions.services import hold_auto_release, hold_raise, hold_reinstate, hold_release
from orders.models import OrderState
from tests.fixtures.users import make_user
from tests.triage.test_hold_outcome import RELIABLE, _history
from triage.models import Mode, Prediction, TriageModel
from triage.scoring import holds_score, precision_watch
from triage.training import model_train

pytestmark = pytest.mark.django_db


@pytest.fixture
def credit(hold_policy):
    return make_user("credit-analyst", Role.CREDIT)


@pytest.fixture
def acting(db, credit):
    """A model trained on the generated history, in act mode: calls and releases at 0.75 or more,
    holds worth at most 2,000."""
    model, _ = TriageModel.objects.get_or_create(name=TriageModel.HOLD_OUTCOME)
    model.mode, model.min_examples = Mode.SUGGEST, 200
    model.save()
    customers = _history(credit, still_open=0)
    version = model_train(name=model.name)
    assert version.active
    model.mode, model.act_value_limit = Mode.ACT, Decimal("2000")
    model.threshold = model.act_confidence = Decimal("0.75")
    model.save()
    # the reliable customers, those whose credit holds were released most often first
    released = dict(
        Hold.objects.filter(reason__code="CREDIT_LIMIT", state=HoldState.RELEASED)
        .values_list("order__customer")
        .annotate(n=Count("pk"))
    )
    reliable = sorted(
        (customer for customer, kind in customers if kind == RELIABLE),
        key=lambda customer: -released.get(customer.pk, 0),
    )
    return model, version, reliable


def _credit_hold(enter, customer, *, quantity: str, segment: str = "standard") -> Hold:
    """A real order over the customer's 1,000 credit limit: a CREDIT_LIMIT hold, order on hold."""
    customer.credit_limit, customer.segment = Decimal("1000"), segment
    customer.save()
    order = enter(customer=customer, quantity=quantity)
    assert order.state == OrderState.ON_HOLD
    return Hold.objects.get(order=order, reason__code="CREDIT_LIMIT")


def test_act_releases_inside_its_limits_and_refuses_outside(acting, enter):
    model, version, reliable = acting
    HoldPolicy.objects.filter(segment="key").update(maker_checker_amount=Decimal("10"))
    HoldPolicy.objects.filter(segment="strategic").update(model_credit_amount=Decimal("20"))
    inside = _credit_hold(enter, reliable[0], quantity="11")  # 1,100: 50 over
    maker_checker = _credit_hold(enter, reliable[1], quantity="11", segment="key")
    credit_policy = _credit_hold(enter, reliable[2], quantity="12", segment="strategic")
    too_big = _credit_hold(enter, reliable[3], quantity="21")  # 2,100 > the 2,000 value limit

    done = holds_score()

    # every one of them is a confident release call: only the limits tell them apart
    predictions = {p.subject_id: p for p in Prediction.objects.filter(version=version)}
    for hold in (inside, maker_checker, credit_policy, too_big):
        p = predictions[hold.pk]
        assert p.label == "release" and p.probability >= model.act_confidence, p
    assert done["released"] == 1 and done["refused"] == 3

    # released as the version's own account, with the explanation as the reason
    inside.refresh_from_db()
    actor = model_user(model.name, version.number)
    assert inside.state == HoldState.RELEASED and inside.resolution_code == "MODEL"
    assert inside.resolved_by == actor and not actor.is_active
    last = inside.history.latest()
    assert last.history_user == actor
    assert last.history_change_reason.startswith("hold_outcome v1: Likely release")
    assert "this customer's earlier" in last.history_change_reason
    inside.order.refresh_from_db()
    assert inside.order.state == OrderState.RELEASED
    assert Prediction.objects.get(pk=predictions[inside.pk].pk).action == "released"

    # each refusal names its limit and changed nothing
    notes = dict(
        Prediction.objects.filter(version=version, action="refused").values_list(
            "subject_id", "action_note"
        )
    )
    assert "above the maker-checker amount 10.00" in notes[maker_checker.pk]
    assert "model credit amount 20.00" in notes[credit_policy.pk]
    assert "above the model's limit 2,000.00" in notes[too_big.pk]
    for hold in (maker_checker, credit_policy, too_big):
        assert hold.history.count() == 1  # raised, nothing since
        hold.refresh_from_db()
        hold.order.refresh_from_db()
        assert hold.state == HoldState.OPEN and hold.order.state == OrderState.ON_HOLD

    # a second run tries nothing again
    assert holds_score()["refused"] == 0


def test_the_service_refuses_people_and_what_act_may_never_touch(acting, enter, credit):
    model, version, reliable = acting
    actor = model_user(model.name, version.number)
    hold = _credit_hold(enter, reliable[0], quantity="11")
    # a person cannot take the model's path
    with pytest.raises(PermissionDenied):
        hold_auto_release(hold_id=hold.pk, actor=credit, reason="x", value_limit=Decimal("9999"))
    # a claimed hold is a person's
    from exceptions.services import hold_claim

    hold_claim(hold_id=hold.pk, actor=credit)
    with pytest.raises(Conflict, match="a person has it"):
        hold_auto_release(hold_id=hold.pk, actor=actor, reason="x", value_limit=Decimal("9999"))
    # a hold of a reason nobody may override, and one that stops invoicing
    order = enter(customer=reliable[1], quantity="1")
    fixed_only = hold_raise(order_id=order.pk, reason_code="MASTER_DATA_MISSING", context={})
    with pytest.raises(Conflict, match="cannot be overridden"):
        hold_auto_release(hold_id=fixed_only.pk, actor=actor, reason="x", value_limit=Decimal("9"))
    priced = hold_raise(order_id=order.pk, reason_code="PRICE_BELOW_CONTRACT", context={})
    with pytest.raises(Conflict, match="needs a person to own the price"):
        hold_auto_release(hold_id=priced.pk, actor=actor, reason="x", value_limit=Decimal("9"))
    invoicing = hold_raise(order_id=order.pk, reason_code="SHIPMENT_UNMATCHED", context={})
    with pytest.raises(Conflict, match="shipping or invoicing"):
        hold_auto_release(hold_id=invoicing.pk, actor=actor, reason="x", value_limit=Decimal("9"))
    assert Hold.objects.get(pk=fixed_only.pk).state == HoldState.OPEN
    assert Hold.objects.get(pk=invoicing.pk).state == HoldState.OPEN


def test_the_models_account_approves_no_invoice_and_writes_nothing_off(acting):
    from billing.services import invoice_approve
    from exceptions.services import hold_approve
    from receivables.services.applying import write_off_approve, write_off_create

    model, version, _ = acting
    actor = model_user(model.name, version.number)
    with pytest.raises(PermissionDenied, match="Only finance"):
        invoice_approve(invoice_id=1, actor=actor, reason="confident")
    with pytest.raises(PermissionDenied, match="Only cash application"):
        write_off_create(actor=actor, invoice_id=1, amount=Decimal("5"), reason="confident")
    with pytest.raises(PermissionDenied, match="Only cash application"):
        write_off_approve(actor=actor, write_off_id=1, reason="confident")
    # nor takes a person's release path, nor second-approves one
    with pytest.raises(PermissionDenied, match="not in your queues"):
        hold_approve(hold_id=1, actor=actor, reason="confident")


def test_a_person_undoes_a_release_and_the_model_leaves_it_alone(acting, enter, credit, client):
    model, version, reliable = acting
    hold = _credit_hold(enter, reliable[0], quantity="11")
    assert holds_score()["released"] == 1
    hold.refresh_from_db()
    assert hold.state == HoldState.RELEASED

    client.force_login(credit)
    page = client.get(reverse("exceptions:hold", args=[hold.pk])).content.decode()
    assert "Released automatically by Model hold_outcome v1" in page
    assert "Undo the model&#x27;s release" in page or "Undo the model's release" in page
    # no reason: a clear error, nothing changed
    url = reverse("exceptions:action", args=[hold.pk, "reinstate"])
    here = reverse("exceptions:hold", args=[hold.pk])
    response = client.post(url, {"reason": " ", "next": here}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and response["HX-Redirect"] == here
    assert "This field is required." in client.get(here).content.decode()
    assert Hold.objects.get(pk=hold.pk).state == HoldState.RELEASED

    response = client.post(url, {"reason": "Customer disputed an invoice this morning",
                                 "next": here}, HTTP_HX_REQUEST="true")  # fmt: skip
    assert response.status_code == 200 and response["HX-Redirect"] == here
    hold.refresh_from_db()
    hold.order.refresh_from_db()
    assert hold.state == HoldState.OPEN and hold.resolution_code == "" and not hold.decision
    # due by its SLA from the undo, not overdue for the time the model's release took
    assert hold.due_at > timezone.now() + timedelta(hours=hold.reason.sla_hours - 1)
    assert hold.escalation_level == 0
    assert hold.order.state == OrderState.ON_HOLD
    last = hold.history.latest()
    assert last.history_user == credit
    assert last.history_change_reason == (
        "Undid the release by Model hold_outcome v1: Customer disputed an invoice this morning"
    )
    assert Prediction.objects.get(version=version, subject_id=hold.pk).action == "undone"
    # an undone release counts as a wrong call in the live precision until a person decides
    from triage.scoring import live_precision

    assert live_precision(model) == (1, 0)
    # back in the credit queue, and the model does not release it again
    assert (
        hold.order.number
        in client.get(reverse("exceptions:queue", args=["credit"])).content.decode()
    )
    assert holds_score().get("released", 0) == 0
    assert Hold.objects.get(pk=hold.pk).state == HoldState.OPEN

    # a person's own release is theirs: not undone here
    hold_release(hold_id=hold.pk, actor=credit, reason="Checked with the customer")
    with pytest.raises(Conflict, match="Only a release a model made"):
        hold_reinstate(hold_id=hold.pk, actor=credit, reason="changed my mind")


def test_precision_below_the_floor_drops_act_to_suggest_and_tells_managers(acting, credit):
    model, version, _ = acting
    manager = make_user("floor-manager", Role.MANAGER)
    model.precision_floor, model.floor_calls = Decimal("0.80"), 20
    model.save()
    now = timezone.now()

    def decided(n: int, outcome: str, start: int) -> None:
        Prediction.objects.bulk_create(
            [Prediction(version=version, subject="hold", subject_id=10_000 + start + i,
                        probability=Decimal("0.9"), label="release", shown=True, made_at=now,
                        outcome=outcome, decided_by=credit, decided_at=now - timedelta(days=1))
             for i in range(n)]
        )  # fmt: skip

    # 14 right of 19 calls: below the floor, but too few calls to judge
    decided(14, "release", 0)
    decided(5, "reject", 100)
    assert precision_watch(model) is False
    assert TriageModel.objects.get(pk=model.pk).mode == Mode.ACT
    # an older week does not count
    Prediction.objects.bulk_create(
        [Prediction(version=version, subject="hold", subject_id=20_000 + i, made_at=now,
                    probability=Decimal("0.9"), label="release", outcome="reject",
                    decided_at=now - timedelta(days=30)) for i in range(40)]
    )  # fmt: skip
    assert precision_watch(model) is False
    # the 20th call is wrong: 14 of 20 = 70 % < 80 %
    decided(1, "reject", 200)
    assert precision_watch(model) is True
    model.refresh_from_db()
    assert model.mode == Mode.SUGGEST
    why = model.history.latest().history_change_reason
    assert "live precision 70% (14 of 20 release calls in 7 days)" in why
    assert Notification.objects.filter(user=manager, message__contains="dropped from act").exists()
    # in suggest, nothing more to drop
    assert precision_watch(model) is False


def test_leaving_shown_modes_clears_only_that_models_suggestions(acting, enter, admin_client):
    """Switching the payment-risk model off in admin takes its expectations off; the hold model's
    recommendations stay; switching the hold model to shadow takes them off."""
    from billing.models import Invoice

    model, version, reliable = acting
    hold = _credit_hold(enter, reliable[3], quantity="21")  # above the value limit: stays open
    holds_score()
    assert Hold.objects.get(pk=hold.pk).suggestion
    payments, _ = TriageModel.objects.get_or_create(name=TriageModel.PAYMENT_RISK)
    customer = reliable[0]
    Invoice.objects.create(
        number="PR-1", customer=customer, billing_rule=customer.billing_rule, currency="USD",
        issued_on=timezone.localdate(), due_date=timezone.localdate(), total=Decimal("10"),
        created_at=timezone.now(), state="released", payment_risk={"probability": 0.9},
    )  # fmt: skip
    assert Invoice.objects.exclude(payment_risk={}).count() == 1
    url = reverse("admin:triage_triagemodel_change", args=[payments.pk])
    form = {"mode": "off", "threshold": "0.80", "min_examples": 200, "act_confidence": "0.95",
            "act_value_limit": "1000.00", "precision_floor": "0.80", "floor_calls": 20}  # fmt: skip
    assert admin_client.post(url, form).status_code == 302
    assert not Invoice.objects.exclude(payment_risk={}).exists()
    assert Hold.objects.get(pk=hold.pk).suggestion  # not the payment model's to clear
    url = reverse("admin:triage_triagemodel_change", args=[model.pk])
    assert (
        admin_client.post(url, {**form, "mode": "shadow", "threshold": "0.75"}).status_code == 302
    )
    assert Hold.objects.get(pk=hold.pk).suggestion == {}
