"""Scoring open invoices with the payment-risk model's active version, as its mode allows: shadow
records; suggest (and act: the model moves no money, so it acts no further) writes the expectation
to ``Invoice.payment_risk`` and feeds the collections worklist: each customer's account gets the
chance its open invoices are paid late, weighted by what is owed on each
(``CollectionAccount.late_risk``), and its score is raised by it.

Each run also records outcomes: a scored invoice since paid gets whether it was paid late."""

from __future__ import annotations

import logging
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import DecimalField, ExpressionWrapper, F
from django.utils import timezone

from billing.models import Invoice
from dunning.models import CollectionAccount
from dunning.services import account_score

from . import payment_risk
from .models import SHOWN_MODES, Mode, Prediction, TriageModel
from .scoring import BATCH, FACTORS, active_scorer, outcomes_write

logger = logging.getLogger(__name__)
GROUPS = {
    "amount_log": "amount",
    "terms_days": "terms",
    "customer_late_rate": "history",
    "customer_days_late": "days",
}


def invoices_score(*, limit: int = BATCH) -> dict[str, int | str]:
    model = TriageModel.objects.filter(name=TriageModel.PAYMENT_RISK).first()
    if model is None or model.mode == Mode.OFF:
        return {"scored": 0, "why": "the model is off"}
    recorded = payment_outcomes_record(model)
    version, scorer, why = active_scorer(model)
    if scorer is None:
        (logger.warning if version is not None else logger.info)("Invoices not scored: %s", why)
        if version is not None:
            payment_risk_clear()
        return {"scored": 0, "why": why, "outcomes": recorded}
    shown = model.mode in SHOWN_MODES
    rows = payment_risk.open_invoices(limit, exclude_scored_by=version.pk)
    if not rows:
        return {"scored": 0, "outcomes": recorded}
    tally = payment_risk.current_tally({r[1] for r in rows})
    threshold = float(model.threshold)
    now = timezone.now()
    predictions, shown_on = [], {}
    for pk, customer, total, issued, due in rows:
        features = tally.features(customer, total, (due - issued).days)
        probability = scorer.probability(features)
        days = scorer.days(features)
        factors = _factors(scorer, features, total, (due - issued).days, tally.words(customer))
        label = (
            "late" if probability >= threshold
            else "on_time" if probability <= 1 - threshold else "uncertain"
        )  # fmt: skip
        predictions.append(
            Prediction(version=version, subject="invoice", subject_id=pk, label=label,
                       probability=Decimal(f"{probability:.4f}"), factors=factors,
                       expected_days=round(days, 1), shown=shown, made_at=now)
        )  # fmt: skip
        if shown:
            shown_on[pk] = _expectation(model, version, probability, days, factors)
    with transaction.atomic():
        Prediction.objects.bulk_create(predictions, batch_size=1000, ignore_conflicts=True)
        if shown_on:
            Invoice.objects.bulk_update(
                [Invoice(pk=pk, payment_risk=e) for pk, e in shown_on.items()],
                ["payment_risk"], batch_size=1000,
            )  # fmt: skip
            accounts_feed({customer for _, customer, *_ in rows})
    return {"scored": len(predictions), "shown": len(shown_on), "outcomes": recorded}


def _factors(scorer, features, total, terms: int, words: dict[str, str]) -> list[dict]:
    weights: dict[str, float] = {}
    for name, weight in zip(scorer.names, scorer.contributions(features), strict=True):
        weights[GROUPS[name]] = weights.get(GROUPS[name], 0.0) + weight
    texts = {
        "amount": f"amount {total:,.2f}",
        "terms": f"{terms} days to pay",
        "history": words["customer_late_rate"],
        "days": words["customer_days_late"],
    }
    named = [
        {"text": texts[group], "direction": "+" if weight > 0 else "-", "weight": round(weight, 3)}
        for group, weight in weights.items()
    ]
    named.sort(key=lambda f: -abs(f["weight"]))
    return named[:FACTORS]


def _expectation(model, version, probability: float, days: float, factors) -> dict:
    if probability >= float(model.threshold):
        text = f"Likely paid late, {probability:.0%}: about {round(days)} days after due"
    elif probability <= 1 - float(model.threshold):
        text = f"Likely paid on time, {1 - probability:.0%}"
    else:
        text = f"Uncertain: {probability:.0%} chance of a late payment"
    return {"probability": round(probability, 4), "days": round(days, 1), "text": text,
            "factors": factors, "model": model.name, "version": version.number}  # fmt: skip


def accounts_feed(customer_ids: set[int]) -> int:
    """Each of these customers' collection accounts: the owed-weighted chance its open invoices
    are paid late, and the worklist score with it. Returns how many accounts changed."""
    owed = ExpressionWrapper(
        F("total") - F("settled_amount") - F("credited_amount"),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )
    weighted: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for customer, currency, open_, expected in (
        Invoice.objects.filter(customer_id__in=customer_ids, state__in=payment_risk.OPEN_STATES,
                               paid_at__isnull=True)
        .exclude(payment_risk={})
        .annotate(owed=owed)
        .filter(owed__gt=0)
        .values_list("customer_id", "currency", "owed", "payment_risk")
    ):  # fmt: skip
        pair = weighted[(customer, currency)]
        pair[0] += open_ * Decimal(str(expected.get("probability", 0)))
        pair[1] += open_
    changed = []
    for account in CollectionAccount.objects.filter(customer_id__in=customer_ids).order_by(
        "customer_id", "currency"
    ):
        total, owed_all = weighted.get((account.customer_id, account.currency), (0, 0))
        late = (Decimal(total) / owed_all).quantize(Decimal("0.001")) if owed_all else Decimal(0)
        if late != account.late_risk:
            account.late_risk = late
            account.score = account_score(account.past_due, account.days_past_due, account.risk,
                                          late)  # fmt: skip
            changed.append(account)
    CollectionAccount.objects.bulk_update(changed, ["late_risk", "score"], batch_size=1000)
    return len(changed)


def payment_risk_clear() -> int:
    """Take every expectation off the pages and out of the worklist's order."""
    cleared = Invoice.objects.exclude(payment_risk={}).update(payment_risk={})
    accounts = list(CollectionAccount.objects.exclude(late_risk=0).order_by("customer_id"))
    for account in accounts:
        account.score = account_score(account.past_due, account.days_past_due, account.risk, 0)
        account.late_risk = Decimal(0)
    CollectionAccount.objects.bulk_update(accounts, ["late_risk", "score"], batch_size=1000)
    return cleared


def payment_outcomes_record(model: TriageModel, *, limit: int = BATCH) -> int:
    """Scored invoices since paid: whether they were paid late, when, on the latest prediction
    of each (older ones are superseded); the expectation comes off the invoice, and its
    customer's late risk is worked out again without it."""
    pending = Prediction.objects.filter(version__model=model, subject="invoice", outcome="")
    paid = {
        pk: (customer, due, paid_at)
        for pk, customer, due, paid_at in Invoice.objects.filter(
            paid_at__isnull=False, pk__in=pending.values("subject_id")
        ).values_list("pk", "customer_id", "due_date", "paid_at")[:limit]
    }
    if not paid:
        return 0
    latest: dict[int, Prediction] = {}
    for p in pending.filter(subject_id__in=paid).order_by("subject_id", "made_at", "pk"):
        latest[p.subject_id] = p  # the last one made wins
    with transaction.atomic():
        for pk, p in latest.items():
            _, due, paid_at = paid[pk]
            p.outcome = "late" if paid_at.date() > due else "on_time"
            p.decided_at = paid_at
        outcomes_write(list(latest.values()))
        pending.filter(subject_id__in=paid).update(outcome="superseded")
        Invoice.objects.filter(pk__in=paid).exclude(payment_risk={}).update(payment_risk={})
        accounts_feed({customer for customer, _, _ in paid.values()})
    return len(latest)
