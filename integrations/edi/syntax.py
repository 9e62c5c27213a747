"""The X12 syntax o2c checks in the sets it reads: which segments each transaction may hold, which
it must, and each mapped element's requirement, type, length and codes (with the data element
reference numbers a 997's AK4 names). Segments a set may carry but o2c does not map are allowed
and not checked element by element; a segment id the transaction does not have is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from .x12 import SegmentError, TransactionSet, value


@dataclass(frozen=True)
class Element:
    position: int
    reference: str  # the data element reference number
    kind: str  # AN, ID, DT, TM, R, N0, N2
    low: int
    high: int
    required: bool = False
    codes: frozenset[str] | None = None


def _e(position, reference, kind, low, high, required=False, codes=None) -> Element:
    return Element(
        position, reference, kind, low, high, required, frozenset(codes) if codes else None
    )


ELEMENTS: dict[str, tuple[Element, ...]] = {
    "BEG": (
        _e(1, "353", "ID", 2, 2, True, {"00", "01", "05", "06", "07"}),
        _e(2, "92", "ID", 2, 2, True),
        _e(3, "324", "AN", 1, 22, True),
        _e(4, "328", "AN", 1, 30),
        _e(5, "373", "DT", 8, 8, True),
    ),
    "CUR": (_e(1, "98", "ID", 2, 3, True), _e(2, "100", "ID", 3, 3, True)),
    "REF": (_e(1, "128", "ID", 2, 3, True), _e(2, "127", "AN", 1, 50)),
    "PER": (_e(1, "366", "ID", 2, 2, True), _e(2, "93", "AN", 1, 60)),
    "DTM": (_e(1, "374", "ID", 3, 3, True), _e(2, "373", "DT", 8, 8)),
    "TD5": (_e(1, "133", "ID", 1, 2), _e(2, "66", "ID", 1, 2), _e(3, "67", "AN", 2, 80)),
    "N1": (
        _e(1, "98", "ID", 2, 3, True),
        _e(2, "93", "AN", 1, 60),
        _e(3, "66", "ID", 1, 2),
        _e(4, "67", "AN", 2, 80),
    ),
    "N3": (_e(1, "166", "AN", 1, 55, True),),
    "N4": (_e(1, "19", "AN", 2, 30), _e(2, "156", "ID", 2, 2), _e(3, "116", "ID", 3, 15)),
    "PO1": (
        _e(1, "350", "AN", 1, 20),
        _e(2, "330", "R", 1, 15, True),
        _e(3, "355", "ID", 2, 2, True),
        _e(4, "212", "R", 1, 17),
        _e(5, "639", "ID", 2, 2),
        _e(6, "235", "ID", 2, 2),
        _e(7, "234", "AN", 1, 48),
        _e(8, "235", "ID", 2, 2),
        _e(9, "234", "AN", 1, 48),
        _e(10, "235", "ID", 2, 2),
        _e(11, "234", "AN", 1, 48),
    ),
    "PID": (_e(1, "349", "ID", 1, 1, True, {"F", "S", "X"}), _e(5, "352", "AN", 1, 80)),
    "SAC": (
        _e(1, "248", "ID", 1, 1, True, {"A", "C", "N"}),
        _e(2, "1300", "ID", 4, 4),
        _e(5, "610", "N2", 1, 15),
        _e(6, "378", "ID", 1, 1),
        _e(7, "332", "R", 1, 6),
        _e(12, "331", "ID", 2, 2),
        _e(15, "352", "AN", 1, 80),
    ),
    "CTT": (_e(1, "354", "N0", 1, 6, True), _e(2, "347", "R", 1, 10)),
    "AMT": (_e(1, "522", "ID", 1, 3, True), _e(2, "782", "R", 1, 18, True)),
    "BCH": (
        _e(1, "353", "ID", 2, 2, True, {"01", "04", "05"}),
        _e(2, "92", "ID", 2, 2, True),
        _e(3, "324", "AN", 1, 22, True),
        _e(4, "328", "AN", 1, 30),
        _e(5, "327", "AN", 1, 8),
        _e(6, "373", "DT", 8, 8, True),
    ),
    "POC": (
        _e(1, "350", "AN", 1, 20, True),
        _e(2, "670", "ID", 2, 2, True, {"AI", "CA", "DI", "PC", "QD", "QI"}),
        _e(3, "380", "R", 1, 15),
        _e(4, "671", "R", 1, 9),
        _e(5, "355", "ID", 2, 2),
        _e(6, "212", "R", 1, 17),
        _e(8, "235", "ID", 2, 2),
        _e(9, "234", "AN", 1, 48),
        _e(10, "235", "ID", 2, 2),
        _e(11, "234", "AN", 1, 48),
    ),
    "BPR": (
        _e(1, "305", "ID", 1, 2, True),
        _e(2, "782", "R", 1, 18, True),
        _e(3, "478", "ID", 1, 1, True, {"C", "D"}),
        _e(4, "591", "ID", 3, 3, True),
        _e(16, "373", "DT", 8, 8),
    ),
    "TRN": (_e(1, "481", "ID", 1, 2, True), _e(2, "127", "AN", 1, 50, True)),
    "ENT": (_e(1, "554", "N0", 1, 6),),
    "RMR": (
        _e(1, "128", "ID", 2, 3, True),
        _e(2, "127", "AN", 1, 50, True),
        _e(4, "782", "R", 1, 18, True),
        _e(5, "782", "R", 1, 18),
        _e(6, "782", "R", 1, 18),
    ),
    "ADX": (_e(1, "782", "R", 1, 18, True), _e(2, "426", "ID", 2, 2, True)),
    "AK1": (_e(1, "479", "ID", 2, 2, True), _e(2, "28", "N0", 1, 9, True)),
    "AK2": (_e(1, "143", "ID", 3, 3, True), _e(2, "329", "AN", 4, 9, True)),
    "AK5": (_e(1, "717", "ID", 1, 1, True, {"A", "E", "M", "R", "W", "X"}),),
    "AK9": (
        _e(1, "715", "ID", 1, 1, True, {"A", "E", "M", "P", "R", "W", "X"}),
        _e(2, "97", "N0", 1, 6, True),
        _e(3, "123", "N0", 1, 6, True),
        _e(4, "2", "N0", 1, 6, True),
    ),
}

#: Each transaction's segments (any o2c does not map are carried, unchecked), and those it must
#: have.
SEGMENTS = {
    "850": {"ST", "BEG", "CUR", "REF", "PER", "TAX", "FOB", "CTP", "PAM", "CSH", "TC2", "SAC",
            "ITD", "DIS", "INC", "DTM", "LDT", "LIN", "SI", "PID", "MEA", "PWK", "PKG", "TD1",
            "TD5", "TD3", "TD4", "MAN", "PCT", "CTB", "TXI", "AMT", "N9", "MSG", "N1", "N2",
            "N3", "N4", "NX2", "SDQ", "PO1", "PO3", "PO4", "SCH", "SLN", "CTT", "SE"},
    "860": {"ST", "BCH", "CUR", "REF", "PER", "TAX", "FOB", "CTP", "CSH", "SAC", "ITD", "DIS",
            "DTM", "LDT", "LIN", "PID", "MEA", "PWK", "PKG", "TD1", "TD5", "TD3", "TD4", "MAN",
            "TXI", "AMT", "N9", "MSG", "N1", "N2", "N3", "N4", "POC", "PO3", "PO4", "SCH",
            "SLN", "CTT", "SE"},
    "820": {"ST", "BPR", "NTE", "TRN", "CUR", "REF", "DTM", "N1", "N2", "N3", "N4", "PER",
            "RDM", "ENT", "NM1", "ADX", "RMR", "IT1", "SAC", "TXP", "SE"},
    "997": {"ST", "AK1", "AK2", "AK3", "AK4", "AK5", "AK9", "SE"},
}  # fmt: skip
REQUIRED = {"850": ("BEG", "PO1"), "860": ("BCH",), "820": ("BPR", "TRN"), "997": ("AK1", "AK9")}

_NUMBER = re.compile(r"^-?\d+$")
_DECIMAL = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_CONTROL = re.compile(r"[\x00-\x1f]")
_TIME = re.compile(r"^([01]\d|2[0-3])[0-5]\d([0-5]\d\d*)?$")


def check(transaction_set: TransactionSet) -> list[SegmentError]:
    """The set's syntax findings, each with its segment, position and element: what a 997's AK3
    and AK4 report. An empty list: the set may be mapped."""
    allowed = SEGMENTS.get(transaction_set.code)
    if allowed is None:
        return [
            SegmentError(
                f"transaction set {transaction_set.code} is not one o2c reads",
                "ST", 1, code="1", element=1, reference="143", element_code="7",
                value=transaction_set.code,
            )
        ]  # fmt: skip
    errors, seen = [], set()
    for position, segment in enumerate(transaction_set.segments, start=1):
        seg_id = segment.get_seg_id() or ""
        seen.add(seg_id)
        if seg_id not in allowed:
            errors.append(
                SegmentError(
                    f"segment {seg_id or '(empty)'} is not part of an {transaction_set.code}",
                    seg_id[:3], position, code="2",
                )
            )  # fmt: skip
            continue
        errors += _elements(seg_id, segment, position)
    for needed in REQUIRED[transaction_set.code]:
        if needed not in seen:
            errors.append(
                SegmentError(f"mandatory segment {needed} is missing", needed, 0, code="3")
            )
    return errors


def _elements(seg_id: str, segment, position: int) -> list[SegmentError]:
    errors = []
    for spec in ELEMENTS.get(seg_id, ()):
        text = value(segment, spec.position)
        problem = _problem(spec, text)
        if problem:
            code, message = problem
            errors.append(
                SegmentError(
                    message, seg_id, position, element=spec.position,
                    reference=spec.reference, element_code=code, value=text[:99],
                )
            )  # fmt: skip
    return errors


def _problem(spec: Element, text: str) -> tuple[str, str] | None:
    """(AK403 code, what is wrong) or None."""
    if text == "":
        return ("1", "mandatory element missing") if spec.required else None
    if spec.kind in ("N0", "N2"):
        if not _NUMBER.match(text):
            return "6", f"“{text}” is not a whole number"
        size = len(text.lstrip("-"))
    elif spec.kind == "R":
        if not _DECIMAL.match(text):
            return "6", f"“{text}” is not a number"
        size = len(text.lstrip("-").replace(".", ""))
    elif spec.kind == "DT":
        if not _valid_date(text):
            return "8", f"“{text}” is not a date (CCYYMMDD)"
        return None
    elif spec.kind == "TM":
        if not _TIME.match(text):
            return "9", f"“{text}” is not a time (HHMM)"
        return None
    else:
        size = len(text)
        if _CONTROL.search(text):
            return "6", "a control character"
    if size < spec.low:
        return "4", f"“{text}” is shorter than {spec.low}"
    if size > spec.high:
        return "5", f"“{text[:20]}” is longer than {spec.high}"
    if spec.codes is not None and text not in spec.codes:
        return "7", f"“{text}” is not one of {', '.join(sorted(spec.codes))}"
    return None


def parse_date(text: str) -> date | None:
    """CCYYMMDD, or YYMMDD as 004010 envelopes write it; None when it is not a date."""
    try:
        if len(text) == 8 and text.isdigit():
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6 and text.isdigit():
            return date(2000 + int(text[:2]), int(text[2:4]), int(text[4:]))
    except ValueError:
        return None
    return None


def _valid_date(text: str) -> bool:
    return len(text) == 8 and parse_date(text) is not None
