"""Drafts from the amount alone: one open invoice of the payer's family, or a few together,
that add up to the payment, with or without the discount their terms allow.

Single invoices are checked across all the family's open invoices given (one pass). Combinations
are searched only when no single invoice fits, among the ``combination_pool`` invoices due closest
to the value date, up to ``max_combination`` at a time, within a node budget.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from core.money import CENT, ZERO
from receivables.matching.combinations import find_combinations
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


def _cents(value: Decimal) -> int:
    return int((value / CENT).to_integral_value())


def _open_invoices(
    payment: PaymentIn, family: Iterable[int], context: Context
) -> list[OpenInvoice]:
    """The family's open invoices in the payment's currency, due closest to the value date first."""
    seen: dict[int, OpenInvoice] = {}
    for customer_id in family:
        for inv in context.open_by_customer.get(customer_id, ()):
            if inv.currency == payment.currency and inv.open_amount > 0:
                seen.setdefault(inv.id, inv)
    vd = payment.value_date
    return sorted(seen.values(), key=lambda inv: (abs((inv.due_date - vd).days), inv.id))


def _single(
    payment: PaymentIn, inv: OpenInvoice, kind: str, customer_id: int, t: Thresholds, w: Weights
) -> Draft:
    ledger = Ledger(payment.amount, payment.value_date, t.amount_tolerance)
    opens = money(inv.open_amount)
    if kind == "full":
        ledger.apply([Plan(inv, inv.open_amount)])
        signal = Signal("amount", w.amount_exact, f"amount equals {inv.number}'s open {opens}")
    elif kind == "on_time":
        d = inv.discount_amount
        ledger.apply([Plan(inv, inv.open_amount - d, d)])
        text = f"amount equals {inv.number}'s open {opens} less {percent(d, inv.open_amount)}discount {money(d)}"
        signal = Signal("amount", w.amount_exact, text)
    else:
        d = inv.discount_amount
        ledger.apply([Plan(inv, inv.open_amount - d, short=d, reason_code=Reason.LATE_DISCOUNT)])
        ledger.notes.append(
            f"{inv.number}: discount {money(d)} taken after {inv.discount_until:%Y-%m-%d}: "
            "a short payment, left open"
        )
        text = f"amount equals {inv.number}'s open {opens} less a discount {money(d)} taken late"
        signal = Signal("amount", w.amount_late_discount, text)
    return ledger.draft(customer_id, settles=kind != "late", amount=signal)


def _combination(
    payment: PaymentIn,
    invoices: list[OpenInvoice],
    discounted: bool,
    customer_id: int,
    t: Thresholds,
    w: Weights,
) -> Draft:
    ledger = Ledger(payment.amount, payment.value_date, t.amount_tolerance)
    plans = []
    for inv in sorted(invoices, key=lambda i: i.id):
        on_time = discounted and discount_state(inv, payment.value_date) == "on_time"
        d = inv.discount_amount if on_time else ZERO
        plans.append(Plan(inv, inv.open_amount - d, d))
    ledger.apply(plans)
    total = sum((inv.open_amount for inv in invoices), ZERO)
    discount = sum((p.discount for p in plans), ZERO)
    extra = len(invoices) - 2
    weight = max(
        w.amount_combination - w.amount_combination_step * extra, w.amount_combination_floor
    )
    text = (
        f"amount equals {len(invoices)} open invoices together ({numbers(invoices)}: {money(total)}"
    )
    text += f" less discounts {money(discount)})" if discount else ")"
    return ledger.draft(customer_id, settles=True, amount=Signal("amount", weight, text))


def amount_drafts(
    payment: PaymentIn,
    family: Iterable[int],
    customer_id: int,
    context: Context,
    t: Thresholds,
    w: Weights,
) -> list[Draft]:
    """Drafts for the invoices of ``family`` whose amounts add up to the payment, for the payer
    ``customer_id``; none when nothing fits."""
    invoices = _open_invoices(payment, family, context)
    amount, tol = payment.amount, t.amount_tolerance
    singles: list[tuple[OpenInvoice, str]] = []
    for inv in invoices:
        state = discount_state(inv, payment.value_date)
        if abs(inv.open_amount - amount) <= tol:
            singles.append((inv, "full"))
        elif state != "none" and abs(inv.open_amount - inv.discount_amount - amount) <= tol:
            singles.append((inv, state))
        if len(singles) >= MAX_SINGLES:
            break
    if singles:
        return [_single(payment, inv, kind, customer_id, t, w) for inv, kind in singles]

    def owed(inv: OpenInvoice, discounted: bool) -> Decimal:
        on_time = discounted and discount_state(inv, payment.value_date) == "on_time"
        return inv.open_amount - (inv.discount_amount if on_time else ZERO)

    pool = [inv for inv in invoices if owed(inv, True) <= amount + tol][: t.combination_pool]
    drafts: list[Draft] = []
    budget = t.search_budget
    for discounted in (False, True):
        if discounted and not any(owed(inv, True) != inv.open_amount for inv in pool):
            break
        found, _exhausted = find_combinations(
            [_cents(owed(inv, discounted)) for inv in pool],
            _cents(amount),
            _cents(tol),
            max_size=t.max_combination,
            limit=MAX_SOLUTIONS,
            budget=budget,
        )
        for indexes in found:
            chosen = [pool[i] for i in indexes]
            drafts.append(_combination(payment, chosen, discounted, customer_id, t, w))
        if drafts:
            break
    return drafts
