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


#: The largest amount a money column holds (numeric(14, 2)): twelve digits before the point.
MONEY_LIMIT = Decimal("1e12")
#: The longest statement id the statement's column holds.
STATEMENT_ID_LENGTH = 100


def checked(statements: tuple[Statement, ...]) -> tuple[Statement, ...]:
    """``statements`` if everything in them can be stored as read; else the ParseError naming
    the entry and field. Every parser returns through it, so a value the database would refuse
    (an amount of fourteen digits, a statement id of 200 characters) is a dead letter naming
    its place, not a failure retried five times and dead-lettered with none. Two entries of a
    statement under one idempotency key are one payment listed twice (counted as a repeat) only
    when they say the same; if they differ, keeping either would drop the other's money
    unseen, so the file is refused naming both."""
    for statement in statements:
        if len(statement.statement_id) > STATEMENT_ID_LENGTH:
            raise ParseError(
                f"a statement id of {len(statement.statement_id)} characters "
                f"(at most {STATEMENT_ID_LENGTH})",
                field="statement id",
            )
        first: dict[str, Entry] = {}
        for entry in statement.entries:
            _check_amounts(entry)
            key = entry_key(statement, entry)
            earlier = first.setdefault(key, entry)
            if earlier is not entry and _content(earlier) != _content(entry):
                raise ParseError(
                    f"entries {earlier.position} and {entry.position} share the reference "
                    f"{entry.entry_reference!r} but differ ({_difference(earlier, entry)})",
                    field=entry.position,
                )
    return statements


def _check_amounts(entry: Entry) -> None:
    if entry.amount >= MONEY_LIMIT:
        raise ParseError(
            f"an amount of {entry.amount} is beyond what a payment holds", field=entry.position
        )
    for number, line in enumerate(entry.remittance, 1):
        for name in ("paid", "discount", "adjustment", "invoice_amount"):
            value = getattr(line, name)
            if value is not None and abs(value) >= MONEY_LIMIT:
                raise ParseError(
                    f"a remittance {name.replace('_', ' ')} of {value} is beyond what an "
                    "amount holds",
                    field=f"{entry.position}, remittance line {number}",
                )


def _content(entry: Entry) -> tuple:
    """What an entry says, its place in the file aside."""
    return (
        entry.amount,
        entry.currency,
        entry.value_date,
        entry.payer_name,
        entry.payer_account,
        entry.bank_reference,
        entry.free_text,
        entry.remittance,
    )


def _difference(earlier: Entry, entry: Entry) -> str:
    """Which of the entries' fields differ, named (no account number is repeated)."""
    differ = [
        name
        for name, a, b in zip(_NAMES, _content(earlier), _content(entry), strict=True)
        if a != b
    ]
    if earlier.amount != entry.amount:
        differ[0] = f"amount {earlier.amount} against {entry.amount}"
    return ", ".join(differ)


_NAMES = (
    "amount",
    "currency",
    "value date",
    "payer name",
    "payer account",
    "bank reference",
    "free text",
    "remittance",
)


def fallback_reference(*parts: str, seen: dict[str, int]) -> str:
    """A reference for an entry the bank gave none: its content, numbered among equals.

    The same file always yields the same references, and an entry added elsewhere in a
    re-sent statement does not shift the others. ``seen`` counts per statement.
    """
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
    seen[digest] = seen.get(digest, 0) + 1
    return f"auto:{digest}:{seen[digest]}"
