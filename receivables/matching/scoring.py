"""A draft's signals, its confidence from 0 to 1, and the sentence that explains it.

Evidence combines as independent signals, ``1 - prod(1 - weight)``, so two moderate signals
that agree count more than either alone; factors (a payer who looks like someone else, a payment
dated before the invoice) then scale the result down. Confidence is cut, not rounded, to two
decimals, so a score never rounds up into automatic application.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import ROUND_DOWN, Decimal

from receivables.matching.drafts import Draft
from receivables.matching.types import Candidate, Context, OpenInvoice, PaymentIn, Signal, Weights

ONE = Decimal("1")
HUNDREDTH = Decimal("0.01")
#: Days after the due date a payment still counts as paid on terms (for the date signal).
GRACE = timedelta(days=30)
#: Ancestors followed up a customer tree; a cycle in bad master data stops here too.
MAX_DEPTH = 8
#: A payer name this close to another customer, not this one, is a reason for doubt.
STRONG_NAME = 95
FACTORS = frozenset({"conflict", "before_issue", "on_account"})


@dataclass(frozen=True)
class Payer:
    """A customer the payment appears to come from, and on what evidence."""

    customer_id: int
    score: int  # name similarity 0..100; 100 for a confirmed account
    shown: str  # the customer's name or alias that matched
    via: str  # "name" or "account"


@dataclass(frozen=True)
class RefEvidence:
    """The best reference naming one invoice."""

    strength: Decimal
    source: str  # "remittance", "text" or "bare"
    written: str
    transposed: bool


def lineage(customer_id: int, context: Context) -> tuple[int, ...]:
    """The customer, its parent, the parent's parent ... (bounded; remembered per context)."""
    known = context.lineages.get(customer_id)
    if known is not None:
        return known
    chain = [customer_id]
    current = context.customer(customer_id)
    while current is not None and current.parent_id is not None and len(chain) < MAX_DEPTH:
        if current.parent_id in chain:
            break
        chain.append(current.parent_id)
        current = context.customer(current.parent_id)
    context.lineages[customer_id] = found = tuple(chain)
    return found


def _relation(payer_id: int, customers: set[int], context: Context) -> str:
    """'own' when every invoice is the payer's, 'parent' when the payer is above them all,
    'family' when they share a top company, else 'other'."""
    if customers == {payer_id}:
        return "own"
    chains = [lineage(c, context) for c in customers]
    if all(payer_id in chain for chain in chains):
        return "parent"
    payer_root = lineage(payer_id, context)[-1]
    return "family" if any(chain[-1] == payer_root for chain in chains) else "other"


def _reference_signal(invoices: list[OpenInvoice], refs: dict[int, RefEvidence], w: Weights):
    named = [(inv, refs[inv.id]) for inv in invoices if inv.id in refs]
    if not named:
        return None
    weight = min(ev.strength for _, ev in named) * len(named) / len(invoices)
    groups: dict[str, list[str]] = {}
    for inv, ev in named:
        where = {"remittance": "remittance names", "text": "free text names"}.get(
            ev.source, "free text has the number of"
        )
        how = f"written {ev.written}, two digits swapped" if ev.transposed else "exact"
        groups.setdefault(f"{where}|{how}", []).append(inv.number)
    parts = []
    for label, found in groups.items():
        where, how = label.split("|")
        shown = ", ".join(found[:3]) + (f" and {len(found) - 3} more" if len(found) > 3 else "")
        parts.append(f"{where} {shown} ({how})")
    text = "; ".join(parts)
    if len(named) < len(invoices):
        text += f"; {len(invoices) - len(named)} of the invoices unnamed"
    return Signal("reference", weight, text[0].upper() + text[1:])


def _payer_weight(score: int, cutoff: int, w: Weights) -> Decimal:
    span = max(100 - cutoff, 1)
    share = Decimal(max(min(score, 100) - cutoff, 0)) / Decimal(span)
    return w.payer_floor + (w.payer_top - w.payer_floor) * share


def _payer_signals(
    payment: PaymentIn,
    customers: set[int],
    payers: tuple[Payer, ...],
    context: Context,
    cutoff: int,
    w: Weights,
) -> list[Signal]:
    signals: list[Signal] = []
    supported = False
    doubts: list[Payer] = []
    for via in ("name", "account"):
        for p in (p for p in payers if p.via == via):
            relation = _relation(p.customer_id, customers, context)
            if relation in ("own", "parent"):
                factor = ONE if relation == "own" else w.parent_factor
                parent = ", the parent company" if relation == "parent" else ""
                if via == "name":
                    weight = _payer_weight(p.score, cutoff, w) * factor
                    text = f"payer '{payment.payer_name}' ~ '{p.shown}' ({p.score}){parent}"
                else:
                    weight = w.account * factor
                    text = f"bank account confirmed for '{p.shown}' before{parent}"
                signals.append(Signal("payer" if via == "name" else "account", weight, text))
                supported = True
                break  # the best supporting payer of each kind speaks for this draft
            if relation == "other" and (via == "account" or p.score >= STRONG_NAME):
                doubts.append(p)
    if doubts and not supported:
        p = doubts[0]
        what = "bank account belongs to" if p.via == "account" else "payer looks like"
        signals.append(Signal("conflict", w.conflict, f"{what} '{p.shown}', another customer"))
    return signals


def _date_signals(payment: PaymentIn, invoices: list[OpenInvoice], w: Weights) -> list[Signal]:
    if not invoices:
        return []
    vd = payment.value_date
    early = [inv for inv in invoices if vd < inv.issued_on]
    if early:
        return [Signal("before_issue", w.before_issue, f"paid before {early[0].number} was issued")]
    if all(vd <= inv.due_date + GRACE for inv in invoices):
        if len(invoices) == 1:
            days = (invoices[0].due_date - vd).days
            when = (
                f"{days} days before due"
                if days > 0
                else ("on the due date" if days == 0 else f"{-days} days after due")
            )
        else:
            both = "both" if len(invoices) == 2 else f"all {len(invoices)}"
            when = f"within the terms of {both} invoices"
        return [Signal("date", w.date, f"paid {when}")]
    return []


def score(
    draft: Draft,
    payment: PaymentIn,
    refs: dict[int, RefEvidence],
    payers: tuple[Payer, ...],
    context: Context,
    cutoff: int,
    w: Weights,
) -> Candidate:
    invoices = [draft.invoices[a.invoice_id] for a in draft.allocations]
    customers = {inv.customer_id for inv in invoices} or {draft.customer_id}
    signals: list[Signal] = []
    if (ref := _reference_signal(invoices, refs, w)) is not None:
        signals.append(ref)
    if draft.amount is not None:
        signals.append(draft.amount)
    signals += _payer_signals(payment, customers, payers, context, cutoff, w)
    paid = [draft.invoices[a.invoice_id] for a in draft.allocations if a.amount > 0]
    signals += _date_signals(payment, paid, w)
    if not draft.allocations:
        signals.append(Signal("on_account", w.on_account, "no open invoice fits: on account"))
    doubt = ONE
    for s in signals:
        if s.name not in FACTORS:
            doubt *= ONE - s.weight
    confidence = ONE - doubt
    for s in signals:
        if s.name in FACTORS:
            confidence *= s.weight
    confidence = min(max(confidence, Decimal(0)), ONE).quantize(HUNDREDTH, rounding=ROUND_DOWN)
    notes = list(draft.notes)
    if draft.unapplied > 0 and draft.allocations:
        notes.append(f"{draft.unapplied:,.2f} unapplied, on account")
    explanation = "; ".join([s.text for s in signals] + notes)
    return Candidate(
        customer_id=draft.customer_id,
        allocations=tuple(draft.allocations),
        confidence=confidence,
        explanation=explanation,
        unapplied=draft.unapplied,
        signals=tuple(signals),
    )
