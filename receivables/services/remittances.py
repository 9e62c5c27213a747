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
from datetime import date
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


def _lock(references: set[str]) -> None:
    """Hold each reference until commit, in one order, so an advice and its payment stored at
    the same moment by two workers cannot miss each other."""
    if not references:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(k) FROM (SELECT DISTINCT hashtextextended("
            "'remittance:' || r, 0) AS k FROM unnest(%s::text[]) AS r ORDER BY k) AS keys",
            [sorted(references)],
        )


def _payments_of(reference: str, amount: Decimal, currency: str) -> list[Payment]:
    return list(
        Payment.objects.filter(amount=amount, currency=currency)
        .filter(Q(bank_reference=reference) | Q(entry_reference=reference))
        .exclude(remittances__source=EDI_820)
        .order_by("pk")[:2]
    )


@transaction.atomic
def remittance_store(*, advice: AdviceIn, actor, message_id: int | None = None) -> Stored:
    """Store an 820's advice once (payer + reference + amount), tie it to its payment if the
    bank has reported it, and match that payment again if it still waits for its money to be
    applied. Applications already made stand: the advice is then kept beside them."""
    from .matching import payments_match  # matching imports the batch writers, as does this

    _lock({advice.reference})
    same = RemittanceAdvice.objects.filter(
        source=EDI_820,
        customer_id=advice.customer_id,
        reference=advice.reference,
        amount=advice.amount,
    ).first()
    if same is not None:
        return Stored(same, False, same.payment_id, "")
    payments = _payments_of(advice.reference, advice.amount, advice.currency)
    payment = payments[0] if len(payments) == 1 else None
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
        note=_note(payment, len(payments), advice),
    )
    row._history_user = actor
    row._change_reason = "Received in an 820" + (
        f", inbox message {message_id}" if message_id else ""
    )
    row.save()
    RemittanceLine.objects.bulk_create(
        [
            RemittanceLine(
                advice=row,
                reference=line.reference[:100],
                paid=line.paid,
                discount=line.discount,
                adjustment=line.adjustment,
                reason_code=line.reason_code[:16],
                text=line.text,
                invoice_amount=line.invoice_amount,
            )
            for line in advice.lines
        ]
    )
    outcome = ""
    if payment is not None and payment.state in APPLICABLE_STATES:
        counts = payments_match(payment_ids=[payment.pk], actor=actor)
        outcome = next(iter(counts), "")
    return Stored(row, True, payment.pk if payment else None, outcome)


def _note(payment: Payment | None, found: int, advice: AdviceIn) -> str:
    if payment is None:
        if found > 1:
            return f"Several payments carry {advice.reference} for {advice.amount}: choose one"
        return f"Waiting for the bank to report {advice.reference} for {advice.amount}"
    if payment.state in APPLICABLE_STATES:
        return "Tied to its payment on arrival; the payment was matched again with it"
    return "Tied to its payment on arrival; the payment had been applied, and stays as it is"


def remittances_link(payments: list[Payment], *, actor) -> int:
    """Tie the 820s waiting for these just-stored payments to them, before they are matched
    (in the caller's transaction). Returns how many were tied."""
    by_reference: dict[str, list[Payment]] = {}
    for payment in payments:
        for reference in {payment.bank_reference, payment.entry_reference} - {""}:
            by_reference.setdefault(reference, []).append(payment)
    if not by_reference:
        return 0
    _lock(set(by_reference))
    waiting = list(
        RemittanceAdvice.objects.filter(
            source=EDI_820, payment__isnull=True, reference__in=list(by_reference)
        ).order_by("pk")
    )
    taken: set[int] = set()
    tied = []
    for advice in waiting:
        fits = [
            p
            for p in by_reference[advice.reference]
            if p.amount == advice.amount and p.currency == advice.currency and p.pk not in taken
        ]
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
    return len(tied)


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
    if payment.remittances.filter(source=EDI_820).exists():
        raise Conflict(
            f"Payment {payment.pk} already has an 820; nothing was changed.", {"field": "payment"}
        )
    advice.payment = payment
    advice.note = f"Tied to payment {payment.pk} by {actor.get_username()}: {reason}"[:200]
    advice._history_user = actor
    advice._change_reason = advice.note
    advice.save(update_fields=["payment", "note"])
    outcome = ""
    if payment.state in APPLICABLE_STATES:
        counts = payments_match(payment_ids=[payment.pk], actor=actor)
        outcome = next(iter(counts), "")
    return Stored(advice, False, payment.pk, outcome)
