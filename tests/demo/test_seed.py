"""seed_demo: deterministic, idempotent, every channel and state, and history consistent with state."""

import pytest
from django.core.management import call_command

from core.roles import Role
from demo.master_data import seed_demo
from orders.models import Channel, Customer, Order, OrderLine, OrderState

pytestmark = pytest.mark.django_db


def _fingerprint():
    return list(
        Order.objects.order_by("number").values_list(
            "number", "state", "channel", "total", "customer__number"
        )
    )


def test_seed_is_deterministic_idempotent_and_covers_every_state(django_user_model):
    # when seeding a small demo twice
    first = seed_demo(orders=300, customers=20, items=40)
    snapshot = _fingerprint()
    second = seed_demo(orders=300, customers=20, items=40)

    # then the second run changes nothing and says so
    assert first.created and not second.created
    assert _fingerprint() == snapshot and Customer.objects.count() == 20

    # every state and channel is present, and one login per role exists
    assert set(Order.objects.values_list("state", flat=True)) == set(OrderState.values)
    assert set(Order.objects.values_list("channel", flat=True)) == set(Channel.values)
    for role in Role.values:
        assert django_user_model.objects.filter(groups__name=role).exists()

    # each order's latest history row matches its state; shipped lines have shipped quantities
    for order in Order.objects.all()[:100]:
        assert Order.history.filter(id=order.pk).latest("history_date").state == order.state
    shipped = OrderLine.objects.filter(order__state=OrderState.SHIPPED)
    assert all(line.shipped_qty == line.ordered_qty for line in shipped)


def test_seed_command_prints_logins(capsys):
    call_command("seed_demo", "--orders", "50", "--customers", "5", "--items", "10")
    out = capsys.readouterr().out
    assert "cs " in out and "credit " in out and "manager " in out and "Log in at" in out


def test_the_triage_history_teaches_the_hold_model_what_it_hides():
    """The demo's history has structure the model finds (ROC AUC >= 0.80 on the most recent
    weeks, above the naive baseline) without its hidden truth being a feature."""
    from demo.triage import seed_triage_history
    from triage.models import TriageModel
    from triage.training import model_train

    seed_demo(orders=50, customers=30, items=10)
    assert seed_triage_history(holds=600) == 600
    assert seed_triage_history(holds=600) == 0  # idempotent
    TriageModel.objects.get_or_create(name=TriageModel.HOLD_OUTCOME)
    version = model_train(name=TriageModel.HOLD_OUTCOME)
    assert version.active and version.metrics["roc_auc"] >= 0.80
    assert version.metrics["roc_auc"] > version.metrics["baseline"]["roc_auc"]
    assert "shaky" not in " ".join(version.features)


def test_the_triage_history_seeds_every_model_something_to_learn():
    """``seed_triage_history`` (what ``make run`` runs): holds, closed cases, paid invoices and
    shipped orders and orders with hidden unusual ones, and the case-reason, payment-risk,
    late-shipment and order-anomaly models each train on theirs and beat their baseline."""
    from io import StringIO

    from cases.models import Case
    from triage.models import TriageModel

    seed_demo(orders=60, customers=30, items=10)
    call_command("seed_triage_history", holds=300)
    assert Case.objects.exclude(root_cause="").count() == 900
    out = StringIO()
    call_command("train_models", "--model", "case_reason", "--model", "payment_risk",
                 "--model", "late_shipment", "--model", "order_anomaly", stdout=out)  # fmt: skip
    printed = out.getvalue()
    assert "case_reason v1: held-out top-1 accuracy" in printed and "payment_risk v1" in printed
    assert "late_shipment v1" in printed
    assert "order_anomaly v1: held-out ROC AUC" in printed
    assert printed.count("now active") == 4, printed
    assert TriageModel.objects.get(name="payment_risk").versions.get().active
    assert TriageModel.objects.get(name="late_shipment").versions.get().active
    shipped = Order.objects.filter(number__startswith="SH-").count()
    call_command("seed_triage_history", holds=300)  # again: nothing more
    assert Case.objects.exclude(root_cause="").count() == 900
    assert Order.objects.filter(number__startswith="SH-").count() == shipped == 1525
