"""Remittance advices that travel apart from their money (EDI 820): stored as they come, tied to
their payment whichever of the two arrives second, and the payment matched again with what the
advice says it pays.

An advice names its payment by the reference the bank reports it under (TRN02: the ACH trace,
check or wire reference) and by its amount; both must agree, and exactly one payment must carry
them, or the advice waits (its ``note`` says why) rather than guess. A transaction-scoped
advisory lock per reference makes the two arrivals meet: whichever commits second sees the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from ..matching import RemittanceLine as LineIn
from ..models import APPLICABLE_STATES, Payment, RemittanceAdvice, RemittanceLine

EDI_820 = RemittanceAdvice.EDI_820


@dataclass(frozen=True)
class AdviceIn:
    """One remittance advice as a partner sent it, apart from its payment."""

    customer_id: int | None
    payer_name: str
    reference: str  # TRN02
    amount: Decimal  # BPR02
    currency: str
    method: str  # BPR04
    paid_on: date | None  # BPR16
    lines: tuple[LineIn, ...]


@dataclass(frozen=True)
class Stored:
    advice: RemittanceAdvice
    created: bool  # False: the same advice was sent before, and nothing changed
    payment_id: int | None
    outcome: str  # what matching made of the payment with it, "" when not matched again


def lock_references(references: set[str]) -> None:
    """Hold each reference until commit, in one order, so an advice and its payment stored at
    the same moment by two workers cannot miss each other. Taken before any row lock, on every
    path (a bank file takes all of its references at once), so the paths cannot deadlock."""
    references = {r for r in references if r}
    if not references or connection.vendor != "postgresql":
        return  # SQLite (the demo's default) runs one writing transaction at a time anyway
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended("
            "'remittance:' || r, 0) AS k FROM unnest(%s::text[]) AS r ORDER BY k) AS keys",
            [sorted(references)],
        )


#: How far the bank's value date may be from the 820's effective date (BPR16) for the two to be
#: the same money: ACH settles in a day or two; a check is deposited within days.
DATE_WINDOW = timedelta(days=10)


def _fits(payment: Payment, advice) -> bool:
    """The same money: amount and currency, a payer not known to be someone else, a date near."""
    same_money = (payment.amount, payment.currency) == (advice.amount, advice.currency)
    other_payer = None not in (payment.customer_id, advice.customer_id) and (
        payment.customer_id != advice.customer_id
    )
    far = bool(advice.paid_on) and abs(payment.value_date - advice.paid_on) > DATE_WINDOW
    return same_money and not other_payer and not far


def _candidates(advice) -> list[Payment]:
    """Payments the bank reported under the advice's reference that could be its money and have
    no remittance yet (one that came with addenda or an 820 would have its lines counted twice)."""
    return [
        payment
        for payment in Payment.objects.filter(
            Q(bank_reference=advice.reference) | Q(entry_reference=advice.reference),
            amount=advice.amount,
            currency=advice.currency,
            remittances__isnull=True,
        ).order_by("pk")[:5]
        if _fits(payment, advice)
    ]


def _outcome(counts: dict[str, int]) -> str:
    """What matching made of the one payment (a count may have been moved to zero)."""
    return next((outcome for outcome, n in counts.items() if n), "")


@transaction.atomic
def remittance_store(*, advice: AdviceIn, actor, message_id: int | None = None) -> Stored:
    """Store an 820's advice once (payer + reference + amount) and tie it to its payment if the
    bank has reported it and it still waits to be applied, then match that payment again with
    it. A payment already applied is not touched: the advice waits, saying so, for an analyst."""
    from .applying import lock_payment
    from .matching import payments_match  # matching imports the batch writers, as does this

    lock_references({advice.reference})
    same = RemittanceAdvice.objects.filter(
        source=EDI_820,
        customer_id=advice.customer_id,
        reference=advice.reference,
        amount=advice.amount,
    ).first()
    if same is not None:
        return Stored(same, False, same.payment_id, "")
    found = _candidates(advice)
    payment = None
    if len(found) == 1:
        payment = lock_payment(found[0].pk)
        if payment.state not in APPLICABLE_STATES or payment.remittances.exists():
            payment = None
    row = RemittanceAdvice(
        payment=payment,
        source=EDI_820,
        received_at=timezone.now(),
        customer_id=advice.customer_id,
        payer_name=advice.payer_name[:200],
        reference=advice.reference[:100],
        amount=advice.amount,
        currency=advice.currency,
        method=advice.method[:8],
        paid_on=advice.paid_on,
        message_id=message_id,
        note=_note(payment, found, advice),
    )
    row._history_user = actor
    row._change_reason = "Received in an 820" + (
        f", inbox message {message_id}" if message_id else ""
    )
    row.save()
    RemittanceLine.objects.bulk_create([remittance_line(line, advice=row) for line in advice.lines])
    outcome = ""
    if payment is not None:
        outcome = _outcome(payments_match(payment_ids=[payment.pk], actor=actor))
    return Stored(row, True, payment.pk if payment else None, outcome)


def remittance_line(line, **extra) -> RemittanceLine:
    """A stored remittance line from a parsed or mapped one (any ``RemittanceLineLike``)."""
    return RemittanceLine(
        reference=line.reference[:100],
        paid=line.paid,
        discount=line.discount,
        adjustment=line.adjustment,
        reason_code=line.reason_code[:16],
        text=line.text,
        invoice_amount=line.invoice_amount,
        **extra,
    )


def _note(payment: Payment | None, found: list[Payment], advice: AdviceIn) -> str:
    if payment is not None:
        return "Tied to its payment on arrival; the payment was matched again with it"
    if len(found) > 1:
        return f"Several payments carry {advice.reference} for {advice.amount}: choose one"
    if found:
        return (
            f"Payment {found[0].pk} carries {advice.reference} for {advice.amount} but was "
            "already applied: tie it by hand if its applications should follow this 820"
        )[:200]
    return f"Waiting for the bank to report {advice.reference} for {advice.amount}"


def remittances_link(payments: list[Payment], *, actor) -> list[RemittanceAdvice]:
    """Tie the 820s waiting for these just-stored payments (those without a remittance of their
    own) to them, before they are matched, in the caller's transaction. The caller has locked
    the payments' references (``lock_references``). Returns the advices tied."""
    by_reference: dict[str, list[Payment]] = {}
    for payment in payments:
        for reference in {payment.bank_reference, payment.entry_reference} - {""}:
            by_reference.setdefault(reference, []).append(payment)
    if not by_reference:
        return []
    lock_references(set(by_reference))  # already held when the caller took them: a no-op
    waiting = list(
        RemittanceAdvice.objects.select_for_update()
        .filter(source=EDI_820, payment__isnull=True, reference__any=list(by_reference))
        .order_by("pk")
    )
    taken: set[int] = set()
    tied = []
    for advice in waiting:
        fits = [p for p in by_reference[advice.reference] if p.pk not in taken and _fits(p, advice)]
        if len(fits) != 1:
            continue
        taken.add(fits[0].pk)
        advice.payment = fits[0]
        advice.note = "Tied to its payment when the bank reported it"
        tied.append(advice)
    if tied:
        bulk_update_with_history(
            tied,
            RemittanceAdvice,
            ["payment", "note"],
            default_user=actor,
            default_change_reason="Tied to its payment",
        )
    return tied


@transaction.atomic
def remittance_tie(*, actor, advice_id: int, payment_id: int, reason: str) -> Stored:
    """An analyst ties a waiting 820 to the payment it stands for (the bank reported it under
    another reference, or several payments carry it). The amounts and currencies must agree, and
    a payment takes one 820; a payment still waiting is matched again with it."""
    from core.errors import ApplicationError, Conflict, require_reason

    from .applying import lock_payment, require_cash_role
    from .matching import payments_match

    require_cash_role(actor)
    reason = require_reason(reason)
    seen = RemittanceAdvice.objects.filter(pk=advice_id).values_list("reference", flat=True)
    refs = Payment.objects.filter(pk=payment_id).values_list("bank_reference", "entry_reference")
    # the same lock as the other two paths, first, so none of them ties meanwhile
    lock_references({*seen, *(r for pair in refs for r in pair)})
    advice = (
        RemittanceAdvice.objects.select_for_update().filter(pk=advice_id, source=EDI_820).first()
    )
    if advice is None:
        raise ApplicationError("No such remittance advice.", {"advice": advice_id})
    if advice.payment_id is not None:
        raise Conflict(
            f"This remittance is already tied to payment {advice.payment_id}; nothing was changed.",
            {"payment": advice.payment_id},
        )
    payment = lock_payment(payment_id)
    if (payment.amount, payment.currency) != (advice.amount, advice.currency):
        raise ApplicationError(
            f"Payment {payment.pk} is for {payment.amount:,.2f} {payment.currency}; the remittance "
            f"says {advice.amount:,.2f} {advice.currency}. Nothing was changed.",
            {"field": "payment"},
        )
    if payment.remittances.exists():
        raise Conflict(
            f"Payment {payment.pk} already has a remittance; nothing was changed.",
            {"field": "payment"},
        )
    advice.payment = payment
    advice.note = f"Tied to payment {payment.pk} by {actor.get_username()}: {reason}"[:200]
    advice._history_user = actor
    advice._change_reason = advice.note
    advice.save(update_fields=["payment", "note"])
    outcome = ""
    if payment.state in APPLICABLE_STATES:
        outcome = _outcome(payments_match(payment_ids=[payment.pk], actor=actor))
    return Stored(advice, False, payment.pk, outcome)
