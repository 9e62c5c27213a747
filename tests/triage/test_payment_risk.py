"""The payment-risk model on a generated history with learnable structure (``demo.triage``: slow
payers, large invoices paid late more often; the truth never a feature): it trains on the past and
beats the customer's own late share on the most recent invoices; it scores open invoices with the
days late expected and why, on the collections account page; it raises the worklist priority of
the customers likely to pay late; a payment records the outcome."""

from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Invoice
from core.roles import Role
from demo.triage import seed_payment_history, slow_payer
from dunning.models import CollectionAccount
from dunning.services import accounts_refresh
from tests.fixtures.factories import CustomerFactory
from tests.fixtures.users import make_user
from triage.models import Mode, Prediction, TriageModel
from triage.payment_scoring import invoices_score
from triage.training import NotEnoughHistory, model_train

pytestmark = pytest.mark.django_db


@pytest.fixture
def model(db):
    made, _ = TriageModel.objects.get_or_create(name=TriageModel.PAYMENT_RISK)
    made.mode, made.min_examples, made.threshold = Mode.SUGGEST, 200, Decimal("0.60")
    made.save()
    return made


def _customers(n=18):
    return [CustomerFactory() for _ in range(n)]


def test_it_trains_beats_the_customers_own_rate_and_feeds_the_worklist(
    model, client, dunning_defaults
):
    customers = _customers()
    seed_payment_history(invoices=1500, seed=5, customers=customers, still_open=30)
    version = model_train(name=model.name)
    metrics = version.metrics
    assert version.active and version.counts["held_out"] == 300
    assert metrics["roc_auc"] >= 0.80, metrics
    assert metrics["roc_auc"] > metrics["baseline"]["roc_auc"], metrics
    # the days late are reported beside the naive rule's on the same invoices (no target)
    assert metrics["days"]["mae"] > 0 and metrics["days"]["baseline_mae"] > 0

    # two customers owing the same, as late, one of them a slow payer
    slow = next(c for c in customers if slow_payer(c.number))
    prompt = next(c for c in customers if not slow_payer(c.number))
    for customer in (slow, prompt):
        Invoice.objects.filter(customer=customer, paid_at__isnull=True).delete()
    seed_open = Invoice.objects.filter(number__startswith="PH-").order_by("-pk").first()
    due = timezone.localdate() - timedelta(days=10)
    for n, customer in enumerate((slow, prompt)):
        Invoice.objects.create(
            number=f"PX-{n}", customer=customer, billing_rule=customer.billing_rule,
            currency="USD", payment_terms="NET30", issued_on=due - timedelta(days=30),
            due_date=due, subtotal=Decimal("2500"), total=Decimal("2500"),
            created_at=seed_open.created_at, state="released",
        )  # fmt: skip
    accounts_refresh()
    scores = dict(CollectionAccount.objects.values_list("customer_id", "score"))
    assert scores[slow.pk] == scores[prompt.pk]  # nothing tells them apart yet

    done = invoices_score()
    open_now = Invoice.objects.filter(paid_at__isnull=True).count()
    assert done["scored"] == open_now and done["shown"] == open_now
    slow_invoice = Invoice.objects.get(number="PX-0")
    risk = slow_invoice.payment_risk
    assert risk["text"].startswith("Likely paid late") and risk["days"] > 5
    assert any("paid late" in f["text"] for f in risk["factors"])
    accounts = {a.customer_id: a for a in CollectionAccount.objects.all()}
    assert accounts[slow.pk].late_risk > Decimal("0.5") > accounts[prompt.pk].late_risk
    assert accounts[slow.pk].score > accounts[prompt.pk].score
    # a refresh keeps the model's share in the score
    accounts_refresh()
    assert CollectionAccount.objects.get(customer=slow).late_risk == accounts[slow.pk].late_risk

    # the collector sees the slow payer first, with why, and the expectation on its invoice
    client.force_login(make_user("collector-x", Role.COLLECTIONS))
    page = unescape(client.get(reverse("dunning:worklist")).content.decode())
    assert page.index(f"<small>{slow.number}</small>") < page.index(
        f"<small>{prompt.number}</small>"
    )
    assert "% late risk" in page
    account = unescape(client.get(reverse("dunning:account", args=[slow.pk])).content.decode())
    assert risk["text"] in account

    # paid: the outcome is recorded and the expectation comes off
    Invoice.objects.filter(pk=slow_invoice.pk).update(
        state="paid", settled_amount=Decimal("2500"), paid_at=timezone.now()
    )
    assert invoices_score()["outcomes"] == 1
    made = Prediction.objects.get(subject="invoice", subject_id=slow_invoice.pk)
    assert (made.outcome, made.followed) == ("late", True)
    assert Invoice.objects.get(pk=slow_invoice.pk).payment_risk == {}


def test_too_little_payment_history_refuses(model):
    seed_payment_history(invoices=120, seed=5, customers=_customers(4))
    with pytest.raises(NotEnoughHistory, match="at least 200 paid invoices"):
        model_train(name=model.name)
    assert not model.versions.exists()
