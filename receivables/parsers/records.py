"""The records every bank-file parser returns: statements, money-in entries, remittance lines.

Plain frozen dataclasses with no database behind them; a malformed file raises ``ParseError``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

#: How a payment reached the bank; every format maps its own codes onto these.
METHODS = frozenset({"ach", "wire", "check", "lockbox", "card"})


class ParseError(Exception):
    """A file that cannot be read as a whole: where (line, field) and why.

    ``line`` is the 1-based line of the source file, or None where the format gives none.
    Raised before anything of the file is returned, so a caller never holds half a statement.
    """

    def __init__(self, message: str, *, line: int | None = None, field: str = "") -> None:
        self.line = line
        self.field = field
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.field:
            where.append(f"field {self.field}")
        return f"{', '.join(where)}: {self.message}" if where else self.message

    def __reduce__(self):
        # Celery and the dead-letter store pickle exceptions; keep the keyword arguments.
        return (_rebuild_parse_error, (self.message, self.line, self.field))


def _rebuild_parse_error(message: str, line: int | None, field: str) -> ParseError:
    return ParseError(message, line=line, field=field)


@dataclass(frozen=True, slots=True)
class RemittanceLine:
    """One invoice the payer says a payment is for.

    ``reference`` is the invoice reference exactly as the payer wrote it (the matcher
    normalises). ``paid`` is None where the source gives no amount for the line.
    ``adjustment`` is what the payer took off the invoice for ``reason_code`` (positive: paid
    less; negative: paid more); ``discount`` is the early-payment discount taken.
    ``invoice_amount`` is the amount the payer believes was due, where the source states it.
    """

    reference: str
    paid: Decimal | None
    discount: Decimal = Decimal("0")
    adjustment: Decimal = Decimal("0")
    reason_code: str = ""
    text: str = ""
    invoice_amount: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Entry:
    """One credit to the bank account: a payment received.

    ``payer_account`` is the payer's full account as the bank reported it; the caller masks
    it before storing or logging. ``position`` says where in the file the entry was read
    ("line 14", "Stmt[1]/Ntry[3] (line 42)").
    """

    entry_reference: str
    amount: Decimal
    currency: str
    value_date: date
    payer_name: str
    payer_account: str
    bank_reference: str
    method: str
    free_text: str
    remittance: tuple[RemittanceLine, ...]
    position: str


@dataclass(frozen=True, slots=True)
class Statement:
    """One account's statement: its credits, and how many entries were left out and why.

    ``skipped_debits`` counts money out; ``skipped_other`` counts entries that move no money
    in yet (pending or information-only entries), so a reader can account for every entry.
    """

    format: str
    bank_account: str
    statement_id: str
    created_at: datetime | None
    currency: str
    entries: tuple[Entry, ...]
    skipped_debits: int
    skipped_other: int = 0


def entry_key(statement: Statement, entry: Entry) -> str:
    """The idempotency key of an entry: bank account + statement id + entry reference.

    Hashed, so the key has a fixed length (64) whatever the bank's identifiers, and no account
    number is stored in clear where the key is. The unit separator keeps ("ab", "c") and
    ("a", "bc") apart.
    """
    parts = (statement.bank_account, statement.statement_id, entry.entry_reference)
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()


def fallback_reference(*parts: str, seen: dict[str, int]) -> str:
    """A reference for an entry the bank gave none: its content, numbered among equals.

    The same file always yields the same references, and an entry added elsewhere in a
    re-sent statement does not shift the others. ``seen`` counts per statement.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
    seen[digest] = seen.get(digest, 0) + 1
    return f"auto:{digest}:{seen[digest]}"
