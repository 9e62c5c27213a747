"""Bank files from the inbox: parsed whole by the receivables parsers, then stored and matched in
one transaction; a malformed file is a dead letter naming its line and field, and nothing of it
is applied. Remittance advices (EDI 820s) from the inbox: stored by receivables, tied to their
payment, which is matched again with them."""

import logging

from django.db import transaction

from receivables.parsers import PARSERS, ParseError
from receivables.services import (
    lock_references,
    remittance_store,
    statement_references,
    statement_store,
)

from ..models import InboundMessage
from .attempts import finish

logger = logging.getLogger(__name__)


def statement_message_apply(message: InboundMessage, record, counts, system) -> None:
    try:
        statements = PARSERS[record.format](record.content)
    except ParseError as exc:
        finish(message, error=f"{record.format} {exc}"[:1000], dead=True, actor=system)
        counts["dead"] += 1
        return
    totals: dict[str, int] = {}
    # every reference of the file at once, before any row lock, as an 820's intake takes its
    # own: taken statement by statement, the second would wait on an 820 holding a payment
    # while holding the first's invoices
    lock_references(set().union(*(statement_references(s) for s in statements)))
    try:
        # a savepoint: a statement refused after others of the file were stored takes them
        # back with it, so nothing of the file is applied
        with transaction.atomic():
            for statement in statements:
                for key, value in statement_store(
                    statement=statement,
                    source=message.connector.name,
                    actor=system,
                    message_id=message.pk,
                ).items():
                    totals[key] = totals.get(key, 0) + value
    except ParseError as exc:
        finish(message, error=f"{record.format} {exc}"[:1000], dead=True, actor=system)
        counts["dead"] += 1
        return
    finish(message, error=None, actor=system)
    counts["processed"] += 1
    for key in ("auto", "suggested", "ambiguous", "unmatched"):
        if totals.get(key):
            counts[f"payments_{key}"] += totals[key]
    logger.info(
        "Bank file %s: %s new payments, %s repeated; %s",
        record.external_id,
        totals.get("new", 0),
        totals.get("repeated", 0),
        ", ".join(f"{k} {v}" for k, v in sorted(totals.items()) if k not in ("new", "repeated")),
    )


def remittance_message_apply(message: InboundMessage, advice, counts, system) -> None:
    stored = remittance_store(advice=advice, actor=system, message_id=message.pk)
    finish(message, error=None, actor=system)
    counts["processed"] += 1
    if stored.outcome:
        counts[f"payments_{stored.outcome}"] += 1
    logger.info(
        "Remittance %s for %s: %s",
        advice.reference,
        advice.amount,
        stored.advice.note if stored.created else "sent before, nothing changed",
    )
