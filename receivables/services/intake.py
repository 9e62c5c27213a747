"""Bank statements into payments: each entry stored once (bank account + statement id + entry
reference), with its remittance, then matched; a statement is stored whole or not at all."""

from django.db import transaction
from django.utils import timezone

from ..accounts import account_fingerprint, mask_account, mask_accounts_in
from ..models import BankStatement, Payment, RemittanceAdvice, RemittanceLine
from ..parsers import ParseError, Statement, entry_key
from .batch import Remittance, payments_create
from .matching import payments_match_new
from .remittances import lock_references, remittance_line, remittances_link

#: Which remittance source an entry's lines came from, by the statement's format.
_REMITTANCE_SOURCE = {
    "bai2": "addenda",
    "camt.053": "camt",
    "camt053": "camt",
    "lockbox": "lockbox",
}


@transaction.atomic
def statement_store(
    *, statement: Statement, source: str, actor, message_id: int | None = None
) -> dict[str, int]:
    """Store the statement's money-in entries as payments and match them. An entry stored
    before (the same file again, or a duplicate line in it) is counted, not stored again; one
    stored before with another amount or currency is refused (``ParseError``, naming it).
    Returns counts: new, repeated, and matching's outcomes."""
    now = timezone.now()
    # first, before any row lock: an 820 for one of these payments may be stored meanwhile
    lock_references(statement_references(statement))
    fingerprint = account_fingerprint(statement.bank_account)
    stored, _ = BankStatement.objects.get_or_create(
        bank_account_fingerprint=fingerprint,
        statement_id=statement.statement_id,
        defaults={
            "format": statement.format,
            "bank_account": mask_account(statement.bank_account),
            "received_at": now,
            "source": source,
            "message_id": message_id,
            "entries": len(statement.entries),
        },
    )
    # the parser refused a file whose entries share a key but differ (``parsers.checked``)
    keys = {entry_key(statement, entry): entry for entry in statement.entries}
    known = set()
    for key, amount, currency in Payment.objects.filter(key__any=list(keys)).values_list(
        "key", "amount", "currency"
    ):
        entry = keys[key]
        if (amount, currency) != (entry.amount, entry.currency):
            # the same entry of the same statement, sent again with other money: counting it
            # as a repeat would drop the difference unseen
            raise ParseError(
                f"entry {entry.entry_reference!r} of statement {statement.statement_id} was "
                f"stored from an earlier file as {currency} {amount}; this file says "
                f"{entry.currency} {entry.amount}",
                field=entry.position,
            )
        known.add(key)
    fresh = [(key, entry) for key, entry in keys.items() if key not in known]
    payments, remittances = [], []
    for key, entry in fresh:
        payment = Payment(
            key=key,
            statement=stored,
            entry_reference=entry.entry_reference[:100],
            position=entry.position[:40],
            amount=entry.amount,
            currency=entry.currency,
            value_date=entry.value_date,
            payer_name=entry.payer_name[:200],
            payer_account=mask_account(entry.payer_account),
            payer_account_fingerprint=account_fingerprint(entry.payer_account),
            bank_reference=entry.bank_reference[:100],
            method=entry.method,
            # the bank's text may name the payer's account (BAI2's DACT): kept masked too
            free_text=mask_accounts_in(entry.free_text),
            received_at=now,
        )
        payment._history_user = actor
        payment._change_reason = (
            f"Received in {statement.format} statement {statement.statement_id}"
        )
        payments.append(payment)
        if entry.remittance:
            remittances.append(
                Remittance(
                    payment=payment,
                    advice=RemittanceAdvice(
                        source=_REMITTANCE_SOURCE.get(statement.format, statement.format)[:16],
                        received_at=now,
                    ),
                    lines=[remittance_line(line) for line in entry.remittance],
                )
            )
    # set-wise: a few queries for the whole file, whatever its length
    # the payments themselves are written once matched (``payments_match_new``)
    payments_create(payments=payments, remittances=remittances, actor=actor, at=now, insert=False)
    lines = {r.payment.pk: r.lines for r in remittances}
    bare = [p for p in payments if p.pk not in lines]
    if bare:  # 820s that came before their money now meet it, before it is matched
        tied = remittances_link(bare, actor=actor)
        payment_of = {advice.pk: advice.payment_id for advice in tied}
        for line in RemittanceLine.objects.filter(advice__in=tied).order_by("pk"):
            lines.setdefault(payment_of[line.advice_id], []).append(line)
    counts = {"new": len(payments), "repeated": len(statement.entries) - len(payments)}
    if payments:
        counts |= payments_match_new(payments=payments, lines=lines, actor=actor)
    return counts


def statement_references(statement: Statement) -> set[str]:
    """The references the statement's entries are reported under, which an 820 may name."""
    return {
        reference
        for entry in statement.entries
        for reference in (entry.entry_reference[:100], entry.bank_reference[:100])
        if reference
    }
