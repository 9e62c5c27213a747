"""Cash matching: a pure, deterministic engine from a payment and prefetched open invoices to
explained candidates and an outcome (auto, suggested, ambiguous, unmatched). No database here."""

from receivables.matching.engine import (
    DEFAULT_THRESHOLDS,
    DEFAULT_WEIGHTS,
    customers_for_payment,
    customers_named,
    match_payment,
    match_payments,
    payers_for,
    reads_open_invoices,
)
from receivables.matching.names import NameHit, NameIndex, normalise_name
from receivables.matching.references import (
    extract_references,
    keys_for_payment,
    reference_key,
    transposition_keys,
)
from receivables.matching.types import (
    Allocation,
    Candidate,
    Context,
    CustomerInfo,
    MatchResult,
    OpenInvoice,
    Outcome,
    PaymentIn,
    Reason,
    RemittanceLine,
    Signal,
    Thresholds,
    Weights,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "DEFAULT_WEIGHTS",
    "Allocation",
    "Candidate",
    "Context",
    "CustomerInfo",
    "MatchResult",
    "NameHit",
    "NameIndex",
    "OpenInvoice",
    "Outcome",
    "PaymentIn",
    "Reason",
    "RemittanceLine",
    "Signal",
    "Thresholds",
    "Weights",
    "customers_for_payment",
    "customers_named",
    "extract_references",
    "keys_for_payment",
    "match_payment",
    "match_payments",
    "normalise_name",
    "payers_for",
    "reads_open_invoices",
    "reference_key",
    "transposition_keys",
]
