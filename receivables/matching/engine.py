"""Matching one payment: references and amounts make drafts, signals score them, thresholds decide.

Pure and deterministic: it reads only the payment, the prefetched ``Context`` and the thresholds,
and breaks every tie by customer and invoice id. A payment from nobody known that names no
invoice is left unmatched, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from receivables.matching.by_amount import Budget, amount_drafts, fill_drafts
from receivables.matching.by_reference import (
    Resolution,
    amount_agrees,
    reference_draft,
    resolve,
    swapped_keys,
)
from receivables.matching.drafts import Draft
from receivables.matching.references import Reference, extract_references
from receivables.matching.scoring import STRONG_NAME, Payer, RefEvidence, lineage, score
from receivables.matching.types import (
    Candidate,
    Context,
    MatchResult,
    OpenInvoice,
    Outcome,
    PaymentIn,
    Reason,
    Thresholds,
    Weights,
)

DEFAULT_THRESHOLDS = Thresholds()
DEFAULT_WEIGHTS = Weights()
#: Payer families one payment may search for combinations of invoices (each a bounded search).
MAX_COMBINED_FAMILIES = 2


def payers_for(payment: PaymentIn, context: Context, t: Thresholds) -> tuple[Payer, ...]:
    """Who the payment seems to come from: its confirmed bank account, then its payer name."""
    found: list[Payer] = []
    account = payment.payer_account_fingerprint
    if account and (cid := context.customers_by_account.get(account)) is not None:
        info = context.customer(cid)
        found.append(Payer(cid, 100, info.name if info else f"customer {cid}", "account"))
    if payment.payer_name and context.name_index is not None:
        for hit in context.name_index.lookup(payment.payer_name, t.name_cutoff):
            found.append(Payer(hit.customer_id, hit.score, hit.matched, "name"))
    return tuple(found)


def _family(customer_id: int, context: Context) -> tuple[int, ...]:
    if context.name_index is None:
        return (customer_id,)
    return context.name_index.family(customer_id)


def customers_for_payment(
    payment: PaymentIn, context: Context, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> set[int]:
    """Customers whose open invoices the caller should prefetch into ``open_by_customer``: the
    likely payers and their subsidiaries (needs only ``name_index`` and ``customers_by_account``)."""
    ids: set[int] = set()
    for payer in payers_for(payment, context, thresholds):
        ids.update(_family(payer.customer_id, context))
    return ids


def customers_named(payment: PaymentIn, context: Context) -> set[int]:
    """Customers whose open invoices the caller should prefetch besides the payers': the families
    of the invoices the payment's references name as written (needs ``invoices_by_key``). What
    the named invoices leave over is looked for among their family's, and a reference naming two
    of a group's members is drafted for the group's root. Transposed readings and bare numbers
    in free text are not followed here: in a dense number range they name strangers' invoices,
    and reading those strangers' whole families tripled the rows a batch read."""
    ids: set[int] = set()
    for ref in extract_references(payment):
        if ref.bare:
            continue
        for invoice in context.invoices_by_key.get(ref.key, ()):
            chain = lineage(invoice.customer_id, context)
            ids.update(_family(invoice.customer_id, context))
            ids.update(_family(chain[-1], context))
    return ids


def _strength(r: Resolution, w: Weights):
    if r.ref.source == "remittance":
        base = w.reference_remittance
    else:
        base = w.reference_bare if r.ref.bare else w.reference_text
    return base * w.transposed if r.transposed else base


def _reference_drafts(
    payment: PaymentIn,
    resolutions: list[Resolution],
    payers: tuple[Payer, ...],
    context: Context,
    t: Thresholds,
    w: Weights,
) -> list[Draft]:
    """One draft per customer family the references name: per reference, the invoice whose
    amount agrees, else the exact reading, else the lowest id."""
    by_root: dict[int, list[Resolution]] = {}
    for r in resolutions:
        by_root.setdefault(lineage(r.invoice.customer_id, context)[-1], []).append(r)
    drafts = []
    for root in sorted(by_root):
        options: dict[Reference, list[Resolution]] = {}
        for r in by_root[root]:
            options.setdefault(r.ref, []).append(r)
        chosen = [
            found[0]
            if len(found) == 1
            else min(
                found,
                key=lambda r: (
                    not amount_agrees(r, payment, t.amount_tolerance),
                    r.transposed,
                    r.invoice.id,
                ),
            )
            for found in options.values()
        ]
        customers = {r.invoice.customer_id for r in chosen}
        chains = [lineage(c, context) for c in customers]
        owner = next(
            (p.customer_id for p in payers if all(p.customer_id in chain for chain in chains)),
            None,
        )
        if owner is None:
            owner = next(iter(customers)) if len(customers) == 1 else root
        drafts.append(reference_draft(payment, chosen, owner, t.amount_tolerance, w))
    return drafts


def _fill_wanted(named: Draft, t: Thresholds) -> bool:
    """Whether what ``named`` leaves unapplied is looked for among its family's open invoices."""
    return named.unapplied > t.amount_tolerance and bool(named.allocations)


def _firmly_named(drafts: list[Draft], refs: dict[int, RefEvidence], t: Thresholds) -> bool:
    """The remittance names what it pays and the amount bears it out: no amount-only drafts."""
    return any(
        d.amount is not None
        and d.unapplied <= t.amount_tolerance
        and not d.guessed
        and any(
            a.invoice_id in refs
            and not refs[a.invoice_id].transposed
            and refs[a.invoice_id].source != "bare"
            for a in d.allocations
        )
        for d in drafts
    )


def _by_reference(
    payment: PaymentIn, context: Context, t: Thresholds, w: Weights
) -> tuple[tuple[Payer, ...], dict[int, RefEvidence], list[Draft]]:
    """The payers, each invoice the references name with its best reference, and a draft per
    customer family the references name: all read from the context's payers and
    ``invoices_by_key``, never its ``open_by_customer``. Remembered in the context (nothing
    changes the drafts once made)."""
    known = context.by_reference.get((payment, t, w))
    if known is None:
        known = context.by_reference[(payment, t, w)] = _references_found(payment, context, t, w)
    return known


def _vouched_for(payers: tuple[Payer, ...], context: Context) -> Callable[[OpenInvoice], bool]:
    """Whether an invoice belongs to the family of one of the payers."""
    payer_roots = {lineage(p.customer_id, context)[-1] for p in payers}
    return lambda inv: lineage(inv.customer_id, context)[-1] in payer_roots


def _references_found(payment: PaymentIn, context: Context, t: Thresholds, w: Weights):
    payers = payers_for(payment, context, t)
    resolutions = resolve(
        extract_references(payment),
        payment,
        context.invoices_by_key,
        _vouched_for(payers, context),
        t.amount_tolerance,
    )
    refs = _reference_evidence(resolutions, w)
    named = _reference_drafts(payment, resolutions, payers, context, t, w)
    return payers, refs, named


def swapped_keys_for_payment(
    payment: PaymentIn, context: Context, thresholds: Thresholds = DEFAULT_THRESHOLDS
) -> set[str]:
    """The swapped-digit keys matching will read for ``payment`` (in ``invoices_by_key``): those
    of the references whose reading as written names no invoice the payer or the amount agrees
    with. Needs the context's names, accounts and the invoices of ``reference_keys``; fetching
    every reference's swapped keys up front read five times the rows, each a stranger's invoice
    in a dense number range."""
    return swapped_keys(
        extract_references(payment),
        payment,
        context.invoices_by_key,
        _vouched_for(payers_for(payment, context, thresholds), context),
        thresholds.amount_tolerance,
    )


def reads_open_invoices(
    payment: PaymentIn,
    context: Context,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    weights: Weights = DEFAULT_WEIGHTS,
) -> bool:
    """Whether matching ``payment`` reads any open invoice of ``Context.open_by_customer``: not
    when its references name, firmly and in full, what it pays (about two payments in three),
    so a caller need not fetch its payers' open invoices for it. Needs the context without
    them: names, accounts and ``invoices_by_key``. Exact: the same payment matched with or
    without those invoices gets the same result when this says False."""
    if payment.amount <= 0:
        return False
    _, refs, named = _by_reference(payment, context, thresholds, weights)
    if any(_fill_wanted(draft, thresholds) for draft in named):
        return True
    return not _firmly_named(named, refs, thresholds)


def _drafts(
    payment: PaymentIn,
    named_drafts: list[Draft],
    refs: dict[int, RefEvidence],
    payers: tuple[Payer, ...],
    context: Context,
    t: Thresholds,
    w: Weights,
) -> list[Draft]:
    budget = Budget(t.search_budget)
    drafts = []
    for named in named_drafts:
        filled = []
        if _fill_wanted(named, t):
            family = _family(named.customer_id, context)
            filled = fill_drafts(payment, named, family, context, t, w, budget)
        drafts += filled or [named]
    if _firmly_named(drafts, refs, t):
        return drafts
    # Amount-only drafts for the likely payers: single invoices for each; combinations, the
    # costly search, only for the first few payers known firmly (confirmed account or a name
    # that is all but exact), as a weaker name could not carry a combination far anyway.
    searched: set[int] = set()
    combined = 0
    owners = [(p.customer_id, p.via == "account" or p.score >= STRONG_NAME) for p in payers]
    owners += [(d.customer_id, True) for d in drafts if not d.settles]
    for owner, firm in dict.fromkeys(owners):
        family = _family(owner, context)
        if searched.issuperset(family):
            continue
        searched.update(family)
        combine = firm and combined < MAX_COMBINED_FAMILIES
        combined += combine
        drafts += amount_drafts(payment, family, owner, context, t, w, budget, combine=combine)
    covered = {lineage(inv.customer_id, context)[-1] for d in drafts for inv in d.invoices.values()}
    for payer in payers:
        root = lineage(payer.customer_id, context)[-1]
        if root not in covered:
            covered.add(root)
            drafts.append(
                Draft(payer.customer_id, [], {}, payment.amount, settles=False, amount=None)
            )
    return drafts


def _reference_evidence(resolutions: list[Resolution], w: Weights) -> dict[int, RefEvidence]:
    best: dict[int, RefEvidence] = {}
    for r in resolutions:
        source = "bare" if r.ref.bare else r.ref.source
        ev = RefEvidence(_strength(r, w), source, r.ref.written, r.transposed)
        if r.invoice.id not in best or ev.strength > best[r.invoice.id].strength:
            best[r.invoice.id] = ev
    return best


def _same_currency(draft: Draft, payment: PaymentIn) -> bool:
    return all(
        draft.invoices[a.invoice_id].currency == payment.currency
        and a.reason_code != Reason.CURRENCY
        for a in draft.allocations
    )


def _decide(
    payment: PaymentIn, ranked: list[tuple[Candidate, Draft]], t: Thresholds
) -> tuple[str, list[str]]:
    if not ranked:
        return Outcome.UNMATCHED, ["no invoice reference and no known payer: never guessed"]
    best, draft = ranked[0]
    second = ranked[1][0] if len(ranked) > 1 else None
    c = best.confidence
    if c < t.suggest:
        return Outcome.UNMATCHED, [
            f"best confidence {c} is below the suggest threshold {t.suggest}"
        ]
    if second is not None and second.confidence >= t.suggest and c - second.confidence < t.margin:
        return Outcome.AMBIGUOUS, [
            f"two candidates within {t.margin} of each other ({c} and {second.confidence}): "
            "an analyst chooses"
        ]
    reasons = []
    if c < t.auto:
        reasons.append(f"confidence {c} is below the auto threshold {t.auto}")
    if second is not None and c - second.confidence < t.margin:
        reasons.append(f"only {c - second.confidence} ahead of the next candidate")
    if not _same_currency(draft, payment):
        reasons.append(
            f"payment in {payment.currency} and an invoice in another currency: "
            "never applied automatically"
        )
    if not best.allocations:
        reasons.append("nothing to apply to an invoice")
    if draft.guessed:
        reasons.append("how the payment splits across the named invoices is a guess")
    if best.allocations and not any(s.name == "amount" for s in best.signals):
        reasons.append("the amount does not bear out the invoices named")
    if draft.combined > t.auto_combination:
        reasons.append(f"{draft.combined} invoices found by amount alone may add up by chance")
    if best.allocations and best.unapplied > t.amount_tolerance:
        reasons.append(f"{best.unapplied:,.2f} would be left unapplied: an analyst decides")
    if reasons:
        return Outcome.SUGGESTED, reasons
    lead = f"{c - second.confidence} ahead of the next" if second else "no other candidate"
    return Outcome.AUTO, [f"confidence {c} is at or above the auto threshold {t.auto}; {lead}"]


def match_payment(
    payment: PaymentIn,
    context: Context,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    weights: Weights = DEFAULT_WEIGHTS,
) -> MatchResult:
    """Candidates for ``payment``, best first, and what to do with it."""
    t, w = thresholds, weights
    if payment.amount <= 0:
        return MatchResult(payment.key, Outcome.UNMATCHED, (), ("the amount is not positive",))
    payers, refs, named = _by_reference(payment, context, t, w)
    drafts = _drafts(payment, named, refs, payers, context, t, w)
    scored = [(score(d, payment, refs, payers, context, t.name_cutoff, w), d) for d in drafts]
    scored.sort(
        key=lambda cd: (
            -cd[0].confidence,
            not cd[1].settles,
            sum(abs((inv.due_date - payment.value_date).days) for inv in cd[1].invoices.values()),
            cd[0].customer_id,
            tuple(a.invoice_id for a in cd[0].allocations),
        )
    )
    ranked: list[tuple[Candidate, Draft]] = []
    seen: set[tuple] = set()
    for candidate, draft in scored:
        mark = tuple(
            (a.invoice_id, a.amount, a.discount, a.short, a.reason_code)
            for a in candidate.allocations
        ) or ("on account", candidate.customer_id)
        if mark not in seen:
            seen.add(mark)
            ranked.append((candidate, draft))
    ranked = ranked[: t.max_candidates]
    outcome, reasons = _decide(payment, ranked, t)
    return MatchResult(payment.key, outcome, tuple(c for c, _ in ranked), tuple(reasons))


def match_payments(
    payments: Iterable[PaymentIn],
    context: Context,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
    weights: Weights = DEFAULT_WEIGHTS,
) -> list[MatchResult]:
    """``match_payment`` over a batch that shares one prefetched context."""
    return [match_payment(p, context, thresholds, weights) for p in payments]
