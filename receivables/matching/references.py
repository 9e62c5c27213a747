"""Invoice references read from remittance lines and free text, tolerant of how people write them.

"INV-0000123", "Inv#123", "invoice no. 123", "000 0123" all reduce to the key "123" (the digits,
leading zeros dropped). A reference written with two adjacent digits swapped is looked up too, as
a weaker variant the engine trusts only when the amount or the payer agrees.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from receivables.matching.types import PaymentIn

#: Most references read from one payment: a remittance of hundreds of lines is normal (EDI 820),
#: but the work per payment must stay bounded.
MAX_REFERENCES = 500
#: Digits beyond this are an account or trace number, not an invoice number.
MAX_DIGITS = 12

#: Digits, maybe grouped by spaces or dashes, not the whole part of an amount ("1500.00").
_NUMBER = r"\d+(?:[ \-]\d+){0,3}(?!\d|[.,]\d{1,2}(?!\d))"
_PREFIX = r"(?<![a-z])(?:invoices?|inv)(?:\s*(?:no|nr|num|number)\b)?\.?\s*[#:\-.]*\s*"
_PREFIXED = re.compile(_PREFIX + "(" + _NUMBER + ")", re.IGNORECASE)
_CONTINUED = re.compile(
    r"\s*(?:,|/|&|\+|;|\band\b)\s*(?:" + _PREFIX + ")?(" + _NUMBER + ")", re.IGNORECASE
)
#: A zero-padded or long bare number in free text; shorter ones are amounts, dates, quantities.
_BARE = re.compile(r"(?<![\w.,])\d{6,10}(?!\d|[.,]\d{1,2}(?!\d))")
#: A bare number right after one of these labels is not an invoice number.
_NOT_INVOICE = re.compile(
    r"(?:\bp\.?o|\border|\bord|\bcheck|\bcheque|\bchk|\btrace|\bacct|\baccount)\W{0,3}$",
    re.IGNORECASE,
)
#: The usual remittance reference, "INV-0000123" or "123": read without the general scan.
_SIMPLE = re.compile(
    r"\s*(?:(?:invoice|inv)\.?\s*(?:no\.?|nr\.?)?)?[\s#:.\-]*(\d{1,12})\s*", re.IGNORECASE
)
_SPLIT = re.compile(r"\s*[,;/&+]\s*|\s+and\s+", re.IGNORECASE)
_PLAIN = re.compile(r"[\s#:.\-]*\d[\d\s\-]*")


@dataclass(frozen=True, eq=False)
class Reference:
    """One invoice reference as found in a payment (each found once: compared by identity)."""

    written: str  # the digits as written, zeros kept (transpositions are read from these)
    key: str  # canonical: digits without leading zeros
    source: str  # "remittance" (a line's reference field) or "text" (free text, line text)
    bare: bool  # a bare number in free text, with no invoice prefix
    line: int | None  # index of the remittance line it came from, if any


def reference_key(number: str) -> str | None:
    """The canonical key of an invoice number: its digits without leading zeros, None if none."""
    digits = "".join(ch for ch in number if ch.isdigit())
    key = digits.lstrip("0")
    return key if key and len(digits) <= MAX_DIGITS else None


def transposition_keys(written: str) -> tuple[str, ...]:
    """Keys of the numbers ``written`` (digits only) could be if two adjacent digits were
    swapped in typing."""
    original = written.lstrip("0")
    found: list[str] = []
    for i in range(len(written) - 1):
        if written[i] != written[i + 1]:
            key = (written[:i] + written[i + 1] + written[i] + written[i + 2 :]).lstrip("0")
            if key and key != original and key not in found:
                found.append(key)
    return tuple(found)


def _forms(number: str) -> list[str]:
    """Digit strings a matched number may stand for: all its groups joined, and each long group
    alone ("INV 000 0123" is 0000123; "INV 0000123 4500" is 0000123 followed by something)."""
    groups = re.split(r"[ \-]", number)
    forms = ["".join(groups)]
    if len(groups) > 1:
        forms += [g for g in groups if len(g) >= 4 and g not in forms]
    return [f for f in forms if len(f) <= MAX_DIGITS]


def _from_text(text: str, source: str, line: int | None) -> list[Reference]:
    found: list[Reference] = []
    taken: list[tuple[int, int]] = []
    for match in _PREFIXED.finditer(text):
        numbers = [match.group(1)]
        end = match.end()
        while more := _CONTINUED.match(text, end):
            numbers.append(more.group(1))
            end = more.end()
        taken.append((match.start(), end))
        for number in numbers:
            for written in _forms(number):
                if key := reference_key(written):
                    found.append(Reference(written, key, source, False, line))
    for match in _BARE.finditer(text):
        start = match.start()
        if any(a <= start < b for a, b in taken) or _NOT_INVOICE.search(
            text, max(0, start - 12), start
        ):
            continue
        written = match.group(0)
        if key := reference_key(written):
            found.append(Reference(written, key, "text", True, line))
    return found


def _from_field(reference: str, line: int) -> list[Reference]:
    """A remittance line's reference field: the whole field names invoices, so bare digits count."""
    simple = _SIMPLE.fullmatch(reference)
    if simple is not None:
        key = simple.group(1).lstrip("0")
        return [Reference(simple.group(1), key, "remittance", False, line)] if key else []
    found: list[Reference] = []
    for part in _SPLIT.split(reference.strip()):
        if not part:
            continue
        if _PREFIXED.search(part):
            found += [
                Reference(r.written, r.key, "remittance", False, line)
                for r in _from_text(part, "remittance", line)
                if not r.bare
            ]
        elif _PLAIN.fullmatch(part):
            written = "".join(ch for ch in part if ch.isdigit())
            if key := reference_key(written):
                found.append(Reference(written, key, "remittance", False, line))
        else:  # "PO 4500012" and the like: only what free text would accept
            found += _from_text(part, "text", line)
    return found


def extract_references(payment: PaymentIn) -> tuple[Reference, ...]:
    """Every invoice reference in the payment, remittance lines first, in order, de-duplicated.
    Remembered for the last ``REMEMBERED`` payments: matching a batch asks for each payment's
    several times (the keys to read, the readings to read, the families named, then to match),
    and each asking scanned its text again: a twentieth of a bank file's Python."""
    try:
        return _remembered(payment)
    except TypeError:  # a payment given unhashable lines (a list): read afresh
        return _extract_references(payment)


#: Payments whose references are remembered: more than a bank file's (at most 1,000).
REMEMBERED = 4_096


@lru_cache(maxsize=REMEMBERED)
def _remembered(payment: PaymentIn) -> tuple[Reference, ...]:
    return _extract_references(payment)


def _extract_references(payment: PaymentIn) -> tuple[Reference, ...]:
    found: list[Reference] = []
    for index, line in enumerate(payment.remittance):
        found += _from_field(line.reference or "", index)
        if line.text:
            found += _from_text(line.text, "text", index)
    if payment.free_text:
        found += _from_text(payment.free_text, "text", None)
    seen: set[tuple[str, str, bool, int | None]] = set()
    unique = []
    for ref in found:
        mark = (ref.written, ref.source, ref.bare, ref.line)
        if mark not in seen:
            seen.add(mark)
            unique.append(ref)
    return tuple(unique[:MAX_REFERENCES])


def reference_keys(payment: PaymentIn) -> set[str]:
    """The keys of the payment's references as written, which the caller prefetches into
    ``Context.invoices_by_key`` first; then the swapped-digit keys matching will also read
    (``swapped_keys_for_payment``), given those."""
    return {ref.key for ref in extract_references(payment)}


def keys_for_payment(payment: PaymentIn) -> set[str]:
    """Every invoice-reference key, transposition variants included, the caller should prefetch
    into ``Context.invoices_by_key`` for this payment."""
    keys: set[str] = set()
    for ref in extract_references(payment):
        keys.add(ref.key)
        keys.update(transposition_keys(ref.written))
    return keys
