"""Drafts from invoice references: the invoices a payment names, paid as its remittance says.

A remittance line that names one invoice and states what was paid, discounted or deducted is
followed as written (within the money rules). Invoices named without amounts share what is left
of the payment: in full, less the discounts their terms allow, or, failing both, oldest due
first with the rest left open.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from core.money import ZERO
from receivables.matching.combinations import cents, find_combinations
from receivables.matching.drafts import Draft, Ledger, Plan, discount_state, money, numbers, percent
from receivables.matching.references import Reference, transposition_keys
from receivables.matching.types import OpenInvoice, PaymentIn, Reason, Signal, Weights


@dataclass(frozen=True)
class Resolution:
    """A reference found to name an open invoice, exactly or with two digits swapped."""

    ref: Reference
    invoice: OpenInvoice
    transposed: bool


def resolve(
    refs: Sequence[Reference],
    payment: PaymentIn,
    invoices_by_key: Mapping[str, Sequence[OpenInvoice]],
    vouched_for: Callable[[OpenInvoice], bool],
    tolerance: Decimal,
) -> list[Resolution]:
    """Each reference's open invoices as written; and, when none of those is one the payer
    (``vouched_for``) or the amount agrees with, those it names with two digits swapped that
    the payer or the amount does agree with. In a dense number range a swapped reading nearly
    always hits somebody's invoice, so on its own it proves nothing."""
    found = []
    for ref in refs:
        exact = _as_written(ref, payment, invoices_by_key, tolerance)
        found += exact
        if not _swap_wanted(exact, payment, vouched_for, tolerance):
            continue
        for key in transposition_keys(ref.written):
            for inv in invoices_by_key.get(key, ()):
                if inv.open_amount > 0:
                    r = Resolution(ref, inv, True)
                    if vouched_for(inv) or amount_agrees(r, payment, tolerance):
                        found.append(r)
    return found


def swapped_keys(
    refs: Sequence[Reference],
    payment: PaymentIn,
    invoices_by_key: Mapping[str, Sequence[OpenInvoice]],
    vouched_for: Callable[[OpenInvoice], bool],
    tolerance: Decimal,
) -> set[str]:
    """The swapped-digit keys ``resolve`` will look up, given only the invoices the references
    name as written: those of each reference whose reading as written nobody vouches for."""
    keys: set[str] = set()
    for ref in refs:
        exact = _as_written(ref, payment, invoices_by_key, tolerance)
        if _swap_wanted(exact, payment, vouched_for, tolerance):
            keys.update(transposition_keys(ref.written))
    return keys


def _as_written(ref, payment, invoices_by_key, tolerance) -> list[Resolution]:
    return [
        Resolution(ref, inv, False)
        for inv in invoices_by_key.get(ref.key, ())
        if inv.open_amount > 0 and not contradicted(ref, inv, payment, tolerance)
    ]


def _swap_wanted(exact: list[Resolution], payment, vouched_for, tolerance) -> bool:
    return not any(vouched_for(r.invoice) or amount_agrees(r, payment, tolerance) for r in exact)


def contradicted(ref: Reference, invoice: OpenInvoice, payment: PaymentIn, tol: Decimal) -> bool:
    """The remittance line naming the invoice states what the payer believes was due, and that
    is not what this invoice owes (with or without its discount): most often two digits typed
    the wrong way round, landing on someone else's invoice. Such a reading is no evidence; the
    swapped readings are tried instead."""
    if ref.line is None:
        return False
    stated = getattr(payment.remittance[ref.line], "invoice_amount", None)
    if stated is None:
        return False
    owed = (invoice.open_amount, invoice.open_amount - invoice.discount_amount)
    return all(abs(stated - o) > tol for o in owed)


def amount_agrees(resolution: Resolution, payment: PaymentIn, tolerance: Decimal) -> bool:
    """Whether the invoice's open amount (with or without its discount) is what the payment or
    the naming remittance line says was paid."""
    figures = [payment.amount]
    if resolution.ref.line is not None:
        line = payment.remittance[resolution.ref.line]
        if line.paid is not None:
            figures += [line.paid, line.paid + line.discount + line.adjustment]
        stated = getattr(line, "invoice_amount", None)  # what the payer believes was due
        if stated is not None:
            figures.append(stated)
    invoice = resolution.invoice
    owed = (invoice.open_amount, invoice.open_amount - invoice.discount_amount)
    return any(abs(f - o) <= tolerance for f in figures for o in owed)


@dataclass
class _Claim:
    """What the remittance says about one invoice, summed over the lines naming only it."""

    paid: Decimal | None = None
    discount: Decimal = ZERO
    adjustment: Decimal = ZERO
    reason_code: str = ""


def _claims(payment: PaymentIn, chosen: Sequence[Resolution]) -> dict[int, _Claim]:
    """Remittance amounts by invoice; a line naming several invoices gives no per-invoice amount."""
    by_line: dict[int, set[int]] = {}
    for r in chosen:
        if r.ref.line is not None:
            by_line.setdefault(r.ref.line, set()).add(r.invoice.id)
    claims: dict[int, _Claim] = {}
    for index in sorted(by_line):
        invoice_ids = by_line[index]
        line = payment.remittance[index]
        if len(invoice_ids) != 1 or (
            line.paid is None and not line.discount and not line.adjustment
        ):
            continue
        claim = claims.setdefault(next(iter(invoice_ids)), _Claim())
        if line.paid is not None:
            claim.paid = (claim.paid or ZERO) + max(line.paid, ZERO)
        claim.discount += max(line.discount, ZERO)
        claim.adjustment += max(line.adjustment, ZERO)
        claim.reason_code = claim.reason_code or (line.reason_code or "").strip()
    return claims


def _explicit_plan(ledger: Ledger, invoice: OpenInvoice, claim: _Claim) -> Plan:
    paid = claim.paid
    if paid is None:  # only a discount or a deduction given: the rest of the invoice was paid
        paid = max(invoice.open_amount - claim.discount - claim.adjustment, ZERO)
    granted, denied, why = ledger.discount(invoice, claim.discount)
    if denied:
        late = why == Reason.LATE_DISCOUNT
        ledger.notes.append(
            f"{invoice.number}: discount {money(denied)} "
            + (
                f"taken after {invoice.discount_until:%Y-%m-%d}: a short payment, left open"
                if late
                else "beyond the terms: left open"
            )
        )
    if claim.adjustment:
        code = f" (reason {claim.reason_code})" if claim.reason_code else ""
        ledger.notes.append(
            f"{invoice.number}: {money(claim.adjustment)} deducted{code}, left open"
        )
    if paid > invoice.open_amount:
        ledger.notes.append(
            f"remittance pays {money(paid)} on {invoice.number}, open {money(invoice.open_amount)}"
        )
    reason = (
        claim.reason_code if claim.adjustment and claim.reason_code else why or claim.reason_code
    )
    return Plan(invoice, paid, granted, claim.adjustment + denied, reason)


def _discounts_taken(
    invoices: list[OpenInvoice], states: dict[int, str], gap: Decimal, tol: Decimal
) -> set[int] | None:
    """Which invoices' discounts the customer took, when their sum explains ``gap`` one way
    only: all on time ones, all allowed ones, or else the single subset that adds up."""
    eligible = [inv for inv in invoices if states[inv.id] != "none"]
    if gap <= tol or not eligible:
        return None
    on_time = [inv for inv in eligible if states[inv.id] == "on_time"]
    for taken in (on_time, eligible):
        if taken and abs(sum((inv.discount_amount for inv in taken), ZERO) - gap) <= tol:
            return {inv.id for inv in taken}
    found, _ = find_combinations(
        [cents(inv.discount_amount) for inv in eligible],
        cents(gap),
        cents(tol),
        min_size=1,
        max_size=len(eligible),
        limit=2,
        budget=2_000,
    )
    return {eligible[i].id for i in found[0]} if len(found) == 1 else None


def _inferred_plans(
    ledger: Ledger, invoices: list[OpenInvoice], weights: Weights
) -> tuple[list[Plan], Signal | None, bool]:
    """Share what is left of the payment across invoices named without amounts: the plans, the
    amount evidence, and whether the amounts account for the whole payment."""
    target, tol = ledger.remaining, ledger.tolerance
    states = {inv.id: discount_state(inv, ledger.value_date) for inv in invoices}
    opens = sum((inv.open_amount for inv in invoices), ZERO)
    whose = "its" if len(invoices) == 1 else f"the {len(invoices)} named invoices'"
    if abs(opens - target) <= tol:
        plans = [Plan(inv, inv.open_amount) for inv in invoices]
        text = f"amount equals {whose} open {money(opens)}"
        return plans, Signal("amount", weights.amount_exact, text), True
    taken = _discounts_taken(invoices, states, opens - target, tol)
    if taken is not None:
        plans, late = [], []
        for inv in invoices:
            d = inv.discount_amount
            if inv.id not in taken:
                plans.append(Plan(inv, inv.open_amount))
            elif states[inv.id] == "on_time":
                plans.append(Plan(inv, inv.open_amount - d, d))
            else:  # a discount taken late is a short payment: the discount stays open
                late.append(inv)
                ledger.notes.append(
                    f"{inv.number}: discount {money(d)} taken after "
                    f"{inv.discount_until:%Y-%m-%d}: a short payment, left open"
                )
                plans.append(
                    Plan(inv, inv.open_amount - d, short=d, reason_code=Reason.LATE_DISCOUNT)
                )
        total = sum((inv.discount_amount for inv in invoices if inv.id in taken), ZERO)
        share = percent(total, opens) if len(invoices) == 1 else ""
        text = f"amount equals {whose} open {money(opens)} less {share}discount {money(total)}"
        if late:
            text += " taken late" if len(late) == len(taken) else f", {len(late)} taken late"
            return plans, Signal("amount", weights.amount_late_discount, text), False
        return plans, Signal("amount", weights.amount_exact, text), True
    if target > opens:
        text = f"covers {whose} open {money(opens)} in full"
        plans = [Plan(inv, inv.open_amount) for inv in invoices]
        return plans, Signal("amount", weights.amount_overpaid, text), False
    if len(invoices) > 1:
        ledger.guessed = True
    ledger.notes.append(
        f"pays {money(target)} of {whose} open {money(opens)}"
        + (", oldest due first" if len(invoices) > 1 else "")
        + ": the rest stays open"
    )
    oldest_first = sorted(invoices, key=lambda inv: (inv.due_date, inv.id))
    return [Plan(inv, inv.open_amount) for inv in oldest_first], None, False


def reference_draft(
    payment: PaymentIn,
    chosen: Sequence[Resolution],
    customer_id: int,
    tolerance: Decimal,
    weights: Weights,
) -> Draft:
    """One draft for the invoices ``chosen`` (one per reference, all of one customer family)."""
    ledger = Ledger(payment.amount, payment.value_date, tolerance)
    claims = _claims(payment, chosen)
    ordered = list({r.invoice.id: r.invoice for r in chosen}.values())
    payable = [inv for inv in ordered if inv.currency == payment.currency]
    for inv in ordered:
        if inv.currency != payment.currency:
            ledger.name(inv)
            ledger.notes.append(
                f"payment in {payment.currency}, {inv.number} in {inv.currency}: "
                "convert before applying"
            )
    explicit = [inv for inv in payable if inv.id in claims]
    inferred = [inv for inv in payable if inv.id not in claims]
    ledger.apply([_explicit_plan(ledger, inv, claims[inv.id]) for inv in explicit])
    signal: Signal | None = None
    settles = bool(explicit)
    if inferred:
        plans, signal, settles = _inferred_plans(ledger, inferred, weights)
        ledger.apply(plans)
    if explicit and settles and not ledger.capped and ledger.remaining <= tolerance:
        signal = Signal("amount", weights.amount_exact, "remittance amounts add up to the payment")
    stated = [line for line in payment.remittance if line.paid is not None]
    if explicit and ledger.remaining > tolerance and len(stated) > len(explicit):
        ledger.notes.append(
            f"{len(stated) - len(explicit)} remittance line(s) name no open invoice here"
        )
    if ledger.capped and explicit and not inferred:
        ledger.notes.append(f"remittance lines exceed the payment; named: {numbers(explicit)}")
    return ledger.draft(customer_id, settles=settles, amount=signal)
