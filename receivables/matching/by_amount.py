"""Drafts from the amount alone: one open invoice of the payer's family, or a few together,
that add up to the payment (or to what the invoices it names leave over), with or without the
discount their terms allow.

Single invoices are checked across all the family's open invoices given (one pass). Combinations
are searched only when no single invoice fits, among the ``combination_pool`` invoices due closest
to the value date, up to ``max_combination`` at a time, within the payment's node budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from core.money import ZERO
from receivables.matching.combinations import cents, find_combinations
from receivables.matching.drafts import Draft, Ledger, Plan, discount_state, money, numbers, percent
from receivables.matching.types import (
    Context,
    OpenInvoice,
    PaymentIn,
    Reason,
    Signal,
    Thresholds,
    Weights,
)

#: Single-invoice fits kept per family: more than two only repeats the ambiguity.
MAX_SINGLES = 3
#: Combinations kept per search, for the same reason.
MAX_SOLUTIONS = 3


class Budget:
    """Combination-search nodes one payment may still visit, across all its searches."""

    def __init__(self, nodes: int) -> None:
        self.left = nodes


@dataclass(frozen=True)
class Fit:
    """Invoices whose open amounts add up to a target: 'full', 'on_time' or 'late' discount."""

    invoices: tuple[OpenInvoice, ...]
    kind: str


def _open_invoices(
    payment: PaymentIn, family: Iterable[int], context: Context, exclude: Iterable[int]
) -> list[OpenInvoice]:
    """The family's open invoices in the payment's currency, due closest to the value date first."""
    skip = set(exclude)
    seen: dict[int, OpenInvoice] = {}
    for customer_id in family:
        for inv in context.open_by_customer.get(customer_id, ()):
            if inv.currency == payment.currency and inv.open_amount > 0 and inv.id not in skip:
                seen.setdefault(inv.id, inv)
    vd = payment.value_date
    return sorted(seen.values(), key=lambda inv: (abs((inv.due_date - vd).days), inv.id))


def _fits(
    invoices: list[OpenInvoice],
    target: Decimal,
    payment: PaymentIn,
    t: Thresholds,
    budget: Budget,
    combine: bool = True,
) -> list[Fit]:
    """Single invoices that equal ``target``; failing those, bounded combinations (within what
    is left of the payment's search ``budget``)."""
    tol, vd = t.amount_tolerance, payment.value_date
    singles: list[Fit] = []
    for inv in invoices:
        state = discount_state(inv, vd)
        if abs(inv.open_amount - target) <= tol:
            singles.append(Fit((inv,), "full"))
        elif state != "none" and abs(inv.open_amount - inv.discount_amount - target) <= tol:
            singles.append(Fit((inv,), state))
        if len(singles) >= MAX_SINGLES:
            break
    if singles or not combine or budget.left <= 0:
        return singles

    def owed(inv: OpenInvoice, discounted: bool) -> Decimal:
        on_time = discounted and discount_state(inv, vd) == "on_time"
        return inv.open_amount - (inv.discount_amount if on_time else ZERO)

    pool = [inv for inv in invoices if owed(inv, True) <= target + tol][: t.combination_pool]
    for discounted in (False, True):
        if discounted and all(owed(inv, True) == inv.open_amount for inv in pool):
            break
        found, visited = find_combinations(
            [cents(owed(inv, discounted)) for inv in pool],
            cents(target),
            cents(tol),
            max_size=t.max_combination,
            limit=MAX_SOLUTIONS,
            budget=budget.left,
        )
        budget.left -= visited
        if found:
            kind = "on_time" if discounted else "full"
            return [Fit(tuple(pool[i] for i in indexes), kind) for indexes in found]
    return []


def _draft(
    payment: PaymentIn,
    fit: Fit,
    customer_id: int,
    base: Draft | None,
    t: Thresholds,
    w: Weights,
) -> Draft:
    """A draft paying ``fit`` (after ``base``'s allocations, when it fills what they leave)."""
    ledger = Ledger(payment.amount, payment.value_date, t.amount_tolerance)
    if base is not None:
        for a in base.allocations:
            invoice = base.invoices[a.invoice_id]
            if a.reason_code == Reason.CURRENCY:
                ledger.name(invoice)
            else:
                ledger.allocate(
                    invoice, a.amount, discount=a.discount, short=a.short, reason_code=a.reason_code
                )
        ledger.notes += base.notes
    invoices = sorted(fit.invoices, key=lambda i: i.id)
    plans, discount = [], ZERO
    for inv in invoices:
        d = inv.discount_amount
        if fit.kind == "late":
            ledger.notes.append(
                f"{inv.number}: discount {money(d)} taken after {inv.discount_until:%Y-%m-%d}: "
                "a short payment, left open"
            )
            plans.append(Plan(inv, inv.open_amount - d, short=d, reason_code=Reason.LATE_DISCOUNT))
        elif fit.kind == "on_time" and discount_state(inv, payment.value_date) == "on_time":
            plans.append(Plan(inv, inv.open_amount - d, d))
            discount += d
        else:
            plans.append(Plan(inv, inv.open_amount))
    ledger.apply(plans)
    total = sum((inv.open_amount for inv in invoices), ZERO)
    what = "the rest of the amount" if base is not None else "amount"
    if len(invoices) == 1:
        inv = invoices[0]
        text = f"{what} equals {inv.number}'s open {money(total)}"
        weight = w.amount_exact
    else:
        text = f"{what} equals {len(invoices)} open invoices together ({numbers(invoices)}: {money(total)})"
        weight = max(
            w.amount_combination - w.amount_combination_step * (len(invoices) - 2),
            w.amount_combination_floor,
        )
    if fit.kind == "late":
        text += f" less a discount {money(total - sum((p.paid for p in plans), ZERO))} taken late"
        weight = min(weight, w.amount_late_discount)
    elif discount:
        share = percent(discount, total) if len(invoices) == 1 else ""
        text += f" less {share}discount {money(discount)}"
    draft = ledger.draft(
        customer_id, settles=fit.kind != "late", amount=Signal("amount", weight, text)
    )
    draft.combined = len(invoices) if len(invoices) > 1 else 0
    if base is not None:
        draft.guessed = base.guessed
    return draft


def amount_drafts(
    payment: PaymentIn,
    family: Iterable[int],
    customer_id: int,
    context: Context,
    t: Thresholds,
    w: Weights,
    budget: Budget,
    *,
    combine: bool = True,
) -> list[Draft]:
    """Drafts for the invoices of ``family`` whose amounts add up to the payment, for the payer
    ``customer_id``; none when nothing fits. ``combine=False`` looks at single invoices only."""
    invoices = _open_invoices(payment, family, context, ())
    return [
        _draft(payment, fit, customer_id, None, t, w)
        for fit in _fits(invoices, payment.amount, payment, t, budget, combine)
    ]


def fill_drafts(
    payment: PaymentIn,
    base: Draft,
    family: Iterable[int],
    context: Context,
    t: Thresholds,
    w: Weights,
    budget: Budget,
) -> list[Draft]:
    """``base`` (the invoices a payment names) completed with the family's other open invoices
    whose amounts add up to what ``base`` leaves unapplied: a reference mistyped beyond repair,
    or an invoice paid without being listed."""
    invoices = _open_invoices(payment, family, context, base.invoices)
    return [
        _draft(payment, fit, base.customer_id, base, t, w)
        for fit in _fits(invoices, base.unapplied, payment, t, budget)
    ]
