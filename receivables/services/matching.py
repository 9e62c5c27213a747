"""Matching stored payments: the engine's candidates and explanation kept on each payment, an
unambiguous confident one applied at once, the rest routed to the cash application queue."""

from dataclasses import replace

from django.db import transaction
from django.utils import timezone

from ..matching import Candidate, MatchResult, Outcome, match_payments
from ..models import APPLICABLE_STATES, Payment
from ..selectors import cash_policy, matching_context, payment_input, thresholds_of
from .applying import Allocation
from .batch import AutoApplication, payments_apply_auto, payments_save


def candidate_json(candidate: Candidate, numbers: dict[int, str], names: dict[int, str]) -> dict:
    return {
        "customer_id": candidate.customer_id,
        "customer": names.get(candidate.customer_id, ""),
        "confidence": str(candidate.confidence),
        "explanation": candidate.explanation,
        "unapplied": str(candidate.unapplied),
        "allocations": [
            {
                "invoice_id": a.invoice_id,
                "invoice": numbers.get(a.invoice_id, str(a.invoice_id)),
                "amount": str(a.amount),
                "discount": str(a.discount),
                "short": str(a.short),
                "reason_code": a.reason_code,
            }
            for a in candidate.allocations
        ],
    }


def allocations_of(candidate: dict) -> list[Allocation]:
    """A stored candidate's allocations, as the apply service takes them."""
    from decimal import Decimal

    return [
        Allocation(
            invoice_id=a["invoice_id"],
            amount=Decimal(a["amount"]),
            discount=Decimal(a["discount"]),
            short=Decimal(a["short"]),
            reason_code=a["reason_code"],
        )
        for a in candidate["allocations"]
    ]


@transaction.atomic
def payments_match(*, payment_ids: list[int], actor) -> dict[str, int]:
    """Match the payments (locked, in id order; those no longer waiting are skipped): store the
    candidates with their explanations, apply an automatic match, route the rest. Returns
    counts by outcome."""
    payments = list(
        Payment.objects.select_for_update(of=("self",))
        .filter(pk__any=list(payment_ids), state__in=APPLICABLE_STATES)
        .prefetch_related("remittances__lines")
        .order_by("pk")
    )
    lines = {
        p.pk: [line for advice in p.remittances.all() for line in advice.lines.all()]
        for p in payments
    }
    return _match(payments, lines, actor=actor)


def payments_match_new(*, payments: list[Payment], lines: dict[int, list], actor) -> dict[str, int]:
    """``payments_match`` for payments the caller's transaction has just made, given as
    ``payments_create(..., insert=False)`` left them (their values as stored, not yet written)
    with their remittance lines by payment id; they are written once matched. They are not read
    back: no other transaction can see them, so they need no lock, and they wait in the state
    they were made in. That read was 7 % of a bank file's time."""
    return _match(sorted(payments, key=lambda p: p.pk), lines, actor=actor, insert=True)


def _match(
    payments: list[Payment], lines: dict[int, list], *, actor, insert: bool = False
) -> dict[str, int]:
    if not payments:
        return {}
    policy = cash_policy()
    inputs = [payment_input(p, lines.get(p.pk, ())) for p in payments]
    context = matching_context(inputs, policy)
    results = match_payments(inputs, context, thresholds_of(policy))
    # the candidates' invoices and customers only: the context holds every customer's name
    named = {a.invoice_id for r in results for c in r.candidates for a in c.allocations}
    numbers = {
        invoice.id: invoice.number
        for invoices in (*context.invoices_by_key.values(), *context.open_by_customer.values())
        for invoice in invoices
        if invoice.id in named
    }
    names = {
        cid: info.name
        for cid in {c.customer_id for r in results for c in r.candidates}
        if (info := context.customer(cid)) is not None
    }
    now = timezone.now()
    counts: dict[str, int] = {}
    sure: list[AutoApplication] = []
    routed: list[tuple[Payment, MatchResult]] = []
    for payment, result in zip(payments, results, strict=True):
        counts[result.outcome] = counts.get(result.outcome, 0) + 1
        payment.outcome = result.outcome
        payment.candidates = [candidate_json(c, numbers, names) for c in result.candidates]
        best = result.best
        payment.confidence = best.confidence if best else None
        payment.explanation = "; ".join(result.reasons)
        payment.matched_at = now
        if result.outcome == Outcome.AUTO and best is not None:
            sure.append(
                AutoApplication(
                    payment=payment,
                    customer_id=best.customer_id,
                    allocations=allocations_of(payment.candidates[0]),
                    explanation=best.explanation,
                    note=f"Applied automatically at confidence {best.confidence}",
                )
            )
        else:
            routed.append((payment, result))
    # the sure ones applied together; one an invoice no longer allows (another payment of this
    # file, or another worker, settled it since the prefetch) is suggested instead, not the file
    # refused
    result_of = {payment.pk: result for payment, result in zip(payments, results, strict=True)}
    for item, why in payments_apply_auto(sure, actor=actor, at=now, save=not insert):
        counts["auto"] -= 1
        counts["suggested"] = counts.get("suggested", 0) + 1
        item.payment.explanation = f"{item.payment.explanation}; not applied: {why}"
        result = replace(result_of[item.payment.pk], outcome=Outcome.SUGGESTED)
        routed.append((item.payment, result))
    for payment, result in routed:
        best = result.best
        if best is not None and payment.customer_id is None and result.outcome == Outcome.SUGGESTED:
            # a credible payer is known even when the invoices are not
            payment.customer_id = best.customer_id
        {
            Outcome.SUGGESTED: payment.suggest,
            Outcome.AMBIGUOUS: payment.find_ambiguous,
        }.get(result.outcome, payment.find_unmatched)()
        payment._history_user = actor
        payment._change_reason = (
            f"Matched: {result.outcome}"
            + (f" at {best.confidence}" if best else "")
            + (f" ({payment.explanation})" if payment.explanation else "")
        )
    if insert:  # every payment, applied or routed, written once as matching left it
        payments_save(payments, actor=actor, at=now, insert=True)
    else:
        payments_save([payment for payment, _ in routed], actor=actor, at=now)
    return counts
