"""Triage model quality, each model trained on a generated history with the demo's hidden structure
(``demo.triage``; the truth never a feature) and tested on the most recent fifth it did not see,
beside its naive baseline in the same run:

- hold outcome (shaky customers, risky large orders, pricing holds usually released): ROC AUC
  against the customer's own earlier release rate for the reason;
- case reason (three customer dialects for the ambiguous remittance codes): top-1 accuracy and
  macro ROC AUC against what the code most often meant for any customer;
- payment risk (slow payers, large invoices paid late more often): ROC AUC against the
  customer's own earlier share of late payments;
- late shipment (slow carriers, remote customers, warehouse queues in busy spells, stock holds):
  ROC AUC against the best single rule, chosen on the training orders.

Written to the measurement's scratch copy of the data set, like every figure."""

from __future__ import annotations

from core.roles import Role
from demo.triage import (
    one_invoice_each,
    seed_case_history,
    seed_payment_history,
    seed_shipment_history,
    seed_triage_history,
)
from orders.models import Customer, Item, Warehouse
from triage.models import TriageModel
from triage.training import model_train

from .measure import Figure, _user

TARGET = ">= 0.80 and above the baseline"
CASE_TARGET = ">= 0.85 and above the baseline"


def hold_outcome_quality(holds: int) -> list[Figure]:
    name = "hold outcome ROC AUC"
    deciders = {
        "credit": _user("bench-credit", Role.CREDIT),
        "pricing": _user("bench-pricing", Role.PRICING),
    }
    made = seed_triage_history(holds=holds, deciders=deciders)
    TriageModel.objects.get_or_create(name=TriageModel.HOLD_OUTCOME)
    version = model_train(name=TriageModel.HOLD_OUTCOME)
    metrics = version.metrics
    return [
        Figure(
            name,
            metrics["roc_auc"],
            "",
            TARGET,
            {
                "baseline ROC AUC": metrics["baseline"]["roc_auc"],
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "Brier": metrics["brier"],
                "history": made,
                "trained on": version.counts["train"],
                "held out": version.counts["held_out"],
                "active": version.active,
            },
        )
    ]


def case_reason_quality(cases: int) -> list[Figure]:
    made = seed_case_history(cases=cases, seed=20261205, invoices=one_invoice_each(),
                             decider=_user("bench-cash", Role.CASH_APPLICATION))  # fmt: skip
    TriageModel.objects.get_or_create(name=TriageModel.CASE_REASON)
    version = model_train(name=TriageModel.CASE_REASON)
    metrics = version.metrics
    return [
        Figure(
            "case reason top-1 accuracy",
            metrics["accuracy"],
            "",
            CASE_TARGET,
            {
                "baseline accuracy": metrics["baseline"]["accuracy"],
                "top-2": metrics["top2"],
                "ROC AUC (macro)": metrics["roc_auc"],
                "baseline ROC AUC": metrics["baseline"]["roc_auc"],
                "history": made,
                "trained on": version.counts["train"],
                "held out": version.counts["held_out"],
                "active": version.active,
            },
        )
    ]


def payment_risk_quality(invoices: int) -> list[Figure]:
    made = seed_payment_history(invoices=invoices, seed=20261205,
                                customers=Customer.objects.order_by("number")[:40])  # fmt: skip
    TriageModel.objects.get_or_create(name=TriageModel.PAYMENT_RISK)
    version = model_train(name=TriageModel.PAYMENT_RISK)
    metrics = version.metrics
    return [
        Figure(
            "payment risk ROC AUC",
            metrics["roc_auc"],
            "",
            "above the baseline",
            {
                "baseline ROC AUC": metrics["baseline"]["roc_auc"],
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "days late MAE": metrics["days"]["mae"],
                "baseline days MAE": metrics["days"]["baseline_mae"],
                "history": made,
                "held out": version.counts["held_out"],
                "active": version.active,
            },
        )
    ]


def late_shipment_quality(orders: int) -> list[Figure]:
    made = seed_shipment_history(
        orders=orders, seed=20261205, customers=Customer.objects.order_by("number")[:60],
        items=Item.objects.order_by("sku")[:20], warehouses=Warehouse.objects.order_by("code")[:3],
    )  # fmt: skip
    TriageModel.objects.get_or_create(name=TriageModel.LATE_SHIPMENT)
    version = model_train(name=TriageModel.LATE_SHIPMENT)
    metrics = version.metrics
    return [
        Figure(
            "late shipment ROC AUC",
            metrics["roc_auc"],
            "",
            TARGET,
            {
                "baseline ROC AUC": metrics["baseline"]["roc_auc"],
                "baseline": metrics["baseline"]["rule"],
                "precision": metrics["precision"],
                "recall": metrics["recall"],
                "Brier": metrics["brier"],
                "history": made,
                "trained on": version.counts["train"],
                "held out": version.counts["held_out"],
                "active": version.active,
            },
        )
    ]
