"""Remittance lines read from free text: bank addenda, camt.053 Ustrd, BAI2 88 records.

Two readings. NACHA CCD+/CTX ``RMR`` segments (with an ``ADX`` adjustment after one) give
structured lines. Prose gives loose invoice references, read conservatively: a token with an
INV prefix in some spelling, or a bare run of 3 to 10 digits that no label marks as something
else (a PO, an account, a trace number). The matcher decides what a reference means; this
module only never invents one and never raises.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import replace
from datetime import date
from decimal import Decimal, InvalidOperation

from .currencies import MINOR_UNITS
from .records import MONEY_LIMIT, RemittanceLine

_FLAGS = re.ASCII | re.IGNORECASE

#: RMR01 qualifiers that name an invoice: IV seller's invoice, OI original invoice number.
INVOICE_QUALIFIERS = frozenset({"IV", "OI"})

# RMR and ADX are distinctive enough to start anywhere: banks glue segments together
# ("TRN*1*CZ1000DACRMR*IV*..."). Other segment ids end a segment only after a non-letter.
_RMR_OR_ADX = re.compile(r"(RMR|ADX)\*", _FLAGS)
_NEXT_SEGMENT = re.compile(
    r"(?:RMR|ADX)\*|(?<![A-Z0-9])(?:ST|BPR|TRN|CUR|REF|DTM|N1|N2|N3|N4|PER|RDM|ENT|NM1|NTE|"
    r"IT1|TXP|SE|DED|LX|SAC)\*",
    _FLAGS,
)
_TERMINATOR = re.compile(r"[\\~\n\r]")
_X12_AMOUNT = re.compile(r"-?(?:[0-9]{1,15}(?:\.[0-9]{0,6})?|\.[0-9]{1,6})", re.ASCII)

_PREFIXED = re.compile(
    r"(?<![A-Z0-9])(?:INVOICE|INVC|INV)(?:\s*(?:NUMBER|NBR|NUM|NO)(?![A-Z]))?[\s.#:\-]*"
    r"[0-9][0-9A-Z]*(?:[-/][0-9A-Z]+)*",
    _FLAGS,
)
# Dates, times and written amounts hold digit runs that are no invoice number.
_NOT_REFERENCES = re.compile(
    r"[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}"
    r"|[0-9]{1,2}[/.][0-9]{1,2}[/.][0-9]{2,4}"
    r"|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
    r"|[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?"
    r"|[0-9]{1,15}[.,][0-9]{2}(?![0-9])",
    re.ASCII,
)
_TOKEN = re.compile(r"[^\s,;()\[\]{}<>\"'|]+")
_BARE = re.compile(r"[0-9]{3,10}", re.ASCII)
_AMOUNT_AFTER = re.compile(
    r"\s*(?:[:=]\s*)?(?:(?:USD|EUR|GBP|CAD|AMT|AMOUNT|PAID)\s*[:=]?\s*|[$\u20ac\u00a3]\s*)?"
    r"([0-9]{1,3}(?:,[0-9]{3})+\.[0-9]{2}|[0-9]{1,15}\.[0-9]{2})(?![0-9])",
    _FLAGS,
)

#: A digit run right after one of these labels is something else than an invoice.
_LABELS = frozenset(
    {
        "PO", "PURCHASE", "ORDER", "ORD", "SO", "CUST", "CUSTOMER", "ACCT", "ACCOUNT", "AC",
        "ACC", "CHECK", "CHK", "CHQ", "CHEQUE", "SERIAL", "ID", "TRACE", "TEL", "PHONE", "FAX",
        "ZIP", "ABA", "RTN", "ROUTING", "IBAN", "BIC", "SWIFT", "AMT", "AMOUNT", "TOTAL", "SUM",
        "DATE", "DT", "EED", "SEC", "BATCH", "ITEM", "SEQ", "DACT", "DABA", "CACT", "CABA",
        "CHKN", "IDNM", "EREF", "CREF", "TRN", "UETR", "QTY", "PAGE",
        *MINOR_UNITS,
    }
)  # fmt: skip
#: Words between a label and its number ("PO NO 4500", "ORDER # 77").
_FILLERS = frozenset({"NO", "NUMBER", "NBR", "NUM", ""})


def parse_addenda(text: str) -> tuple[RemittanceLine, ...]:
    """Every remittance line ``text`` gives: RMR segments first, then loose references.

    Never raises: anything that is not understood is left for the free text.
    """
    if not text:
        return ()
    structured, spans = _rmr_lines(text)
    prose = _blank(text, spans)
    seen = {line.reference for line in structured}
    loose = []
    for position, raw, end in _loose_references(prose):
        if raw in seen or raw != text[position:end]:
            # (the second: a prefix before an RMR segment read across its blanked span, as
            # "INV" and the "0" after "RMR*" in "INVRMR*\n0": not what the text says)
            continue
        seen.add(raw)
        loose.append((position, RemittanceLine(reference=raw, paid=_amount_after(text, end))))
    return (*structured, *(line for _, line in sorted(loose, key=lambda pair: pair[0])))


def _rmr_lines(text: str) -> tuple[list[RemittanceLine], list[tuple[int, int]]]:
    """The RMR segments' lines (an ADX after an RMR adjusts it) and the spans they took."""
    lines: list[RemittanceLine] = []
    spans = []
    last: int | None = None  # index in ``lines`` of the RMR an ADX would adjust
    stops = [stop.start() for stop in _TERMINATOR.finditer(text)]  # once: linear time
    for match in _RMR_OR_ADX.finditer(text):
        start = match.start()
        if spans and start < spans[-1][1]:
            continue  # inside the previous segment's span
        following = bisect.bisect_left(stops, match.end())
        stop = stops[following] if following < len(stops) else len(text)
        end = _segment_end(text, match.end(), stop)
        spans.append((start, end))
        elements = [element.strip() for element in text[start:end].split("*")]
        if match.group(1).upper() == "RMR":
            last = None
            if len(elements) > 2 and elements[1].upper() in INVOICE_QUALIFIERS and elements[2]:
                lines.append(
                    RemittanceLine(
                        reference=elements[2],
                        paid=_x12(elements, 4),
                        discount=_x12(elements, 6) or Decimal("0"),
                        text=text[start:end].strip(),
                        invoice_amount=_x12(elements, 5),
                    )
                )
                last = len(lines) - 1
        elif last is not None:
            # ADX01 is signed from the payment's side: -30.00 means 30.00 less was paid.
            amount = _x12(elements, 1)
            if amount is not None:
                line = lines[last]
                reason = elements[2] if len(elements) > 2 else ""
                lines[last] = replace(
                    line,
                    adjustment=line.adjustment - amount,
                    reason_code=",".join(filter(None, (line.reason_code, reason))),
                    text=f"{line.text} {text[start:end].strip()}",
                )
    return lines, spans


def _segment_end(text: str, after: int, terminator: int) -> int:
    """Where a segment that started before ``after`` ends: its terminator or the next segment."""
    following = _NEXT_SEGMENT.search(text, after, terminator)
    return following.start() if following else terminator


def _x12(elements: list[str], index: int) -> Decimal | None:
    """Element ``index`` as an X12 decimal ("1500", "1500.00", "-30"); None if absent or not one."""
    if index >= len(elements) or not _X12_AMOUNT.fullmatch(elements[index]):
        return None
    try:
        return _storable(Decimal(elements[index]))
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def _storable(value: Decimal) -> Decimal | None:
    """``value``, or None where no amount column holds it: addenda are the payer's free text,
    and a date typed where an amount belongs ("PI*20260311093000") is no amount. Read as
    absent, the line keeps its reference; the bank's file is not refused for the payer's typo."""
    return value if abs(value) < MONEY_LIMIT else None


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with ``spans`` replaced by spaces, so positions still point into ``text``."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _loose_references(prose: str) -> list[tuple[int, str, int]]:
    """(position, raw token, end) of each invoice-looking token in ``prose``."""
    found = []
    prefixed = []
    for match in _PREFIXED.finditer(prose):
        found.append((match.start(), match.group(0), match.end()))
        prefixed.append(match.span())
    rest = _blank(prose, prefixed + [m.span() for m in _NOT_REFERENCES.finditer(prose)])
    tokens = list(_TOKEN.finditer(rest))
    for index, token in enumerate(tokens):
        core = token.group(0).lstrip("#:=").rstrip(".:=")
        if not _BARE.fullmatch(core) or _looks_like_date(core):
            continue
        if _labelled(tokens, index):
            continue
        start = token.start() + token.group(0).index(core)
        found.append((start, core, start + len(core)))
    return found


def _labelled(tokens: list[re.Match], index: int) -> bool:
    """Whether the words before token ``index`` say it is no invoice ("PO 4500", "ID: 77")."""
    for back in (1, 2):
        if index - back < 0:
            return False
        word = tokens[index - back].group(0)
        if word in ("$", "\u20ac", "\u00a3"):
            return True
        label = re.sub(r"[^A-Za-z0-9]", "", word).upper()
        if label in _LABELS:
            return True
        if label not in _FILLERS:
            return False
    return False


def _looks_like_date(digits: str) -> bool:
    """YYYYMMDD between 1990 and 2099: a date before it is an invoice number."""
    if len(digits) != 8 or not ("1990" <= digits[:4] <= "2099"):
        return False
    try:
        date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return False
    return True


def _amount_after(text: str, end: int) -> Decimal | None:
    """The amount written right after a reference ("INV 123 1,500.00"), if there is one."""
    match = _AMOUNT_AFTER.match(text, end)
    return _storable(Decimal(match.group(1).replace(",", ""))) if match else None
