"""ANSI X12 interchanges read and written through pyx12 (see docs/architecture.md, "EDI").

pyx12 takes the delimiters from the ISA, splits segments (with or without line breaks after the
terminator), checks the envelopes (ISA/IEA, GS/GE, ST/SE control numbers and counts) and writes
the trailers with their counts. Each line it reads becomes o2c's ``Segment``, which keeps the
elements' text (pyx12's own makes an object of every element and component). Its findings come as one list for the whole file; ``read`` gives
each to the group or transaction set it belongs to, because an interchange is judged set by set:
a set with a wrong SE count is rejected in the 997 while its neighbours are applied.
"""

from __future__ import annotations

import io
import re
import unicodedata
from dataclasses import dataclass, field

import pyx12.errors
import pyx12.segment
from pyx12.x12file import X12Reader, X12Writer

#: 997 AK502 / AK905 codes for the envelope findings pyx12 reports (its own codes are these).
SET_CODES = {
    "1": "Transaction set not supported",
    "2": "Transaction set trailer missing",
    "3": "Transaction set control number in header and trailer do not match",
    "4": "Number of included segments does not match actual count",
    "5": "One or more segments in error",
    "23": "Transaction set control number not unique within the functional group",
}
GROUP_CODES = {
    "1": "Functional group not supported",
    "2": "Functional group version not supported",
    "3": "Functional group trailer missing",
    "4": "Group control number in the functional group header and trailer do not agree",
    "5": "Number of included transaction sets does not match actual count",
    "6": "Group control number violates syntax",
}


class InterchangeError(Exception):
    """The file is not an interchange that can be read at all (no ISA of the fixed width, an
    unknown version): nothing in it is applied, and the reason names the position."""

    def __init__(self, message: str, *, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass
class SegmentError:
    """A finding within a transaction set, as the 997 reports it (AK3 and, for an element, AK4)."""

    message: str
    segment: str  # segment id
    position: int  # within the set, ST being 1
    code: str = "8"  # AK304: 1 unrecognised, 2 unexpected, 3 mandatory missing, 8 element errors
    element: int | None = None  # AK401: the element's position in the segment
    reference: str = ""  # AK402: the data element reference number
    element_code: str = ""  # AK403: 1 missing, 4 too short, 5 too long, 6 bad character, 7 code...
    value: str = ""  # AK404: the bad value, when there was one

    def text(self) -> str:
        where = f"{self.segment} (segment {self.position}"
        where += f", element {self.element:02d})" if self.element else ")"
        return f"{where}: {self.message}"


@dataclass
class TransactionSet:
    code: str  # ST01: 850, 860, 820, 997...
    control: str  # ST02
    segments: list[Segment]  # ST to SE, both included
    #: the set's first segment's position in the interchange (ISA being 1)
    offset: int
    envelope_codes: list[str] = field(default_factory=list)  # AK502 codes from the envelope
    errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return not self.envelope_codes and not self.errors

    def reasons(self) -> list[str]:
        return [SET_CODES.get(c, c) for c in self.envelope_codes] + [e.text() for e in self.errors]


@dataclass
class Group:
    functional_id: str  # GS01: PO, PC, RA, FA...
    sender: str  # GS02
    receiver: str  # GS03
    control: str  # GS06
    version: str  # GS08: 004010, 005010...
    sets: list[TransactionSet] = field(default_factory=list)
    declared: str = ""  # GE01: how many sets the sender says the group holds
    codes: list[str] = field(default_factory=list)  # AK905 codes from the envelope


@dataclass
class Interchange:
    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    date: str
    time: str
    control: str  # ISA13
    version: str  # ISA12: 00401, 00501
    usage: str  # ISA15: P production, T test
    element_separator: str
    component_separator: str
    segment_terminator: str
    groups: list[Group] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # interchange-level findings

    @property
    def sets(self) -> list[TransactionSet]:
        return [s for g in self.groups for s in g.sets]


_SEG_ID = re.compile(r"^[A-Z][A-Z0-9]{1,2}$")
_REFERENCE = re.compile(r"^(?:[A-Z][A-Z0-9]{1,2})?(\d{2})(?:-(\d+))?$")


class Segment:
    """A segment as read: its id and its elements' text, split once. pyx12's own segment makes an
    object of every element and component (a fifth of receiving an 850); o2c reads a set a few
    elements at a time, so the text is kept and a component split off only when asked. It
    answers what pyx12's reader asks of a segment (``get_seg_id``, ``is_empty``,
    ``is_seg_id_valid``, ``get_value``, ``format``), so pyx12 still checks the envelopes."""

    __slots__ = ("seg_id", "elements", "seg_term", "ele_term", "subele_term")

    def __init__(self, text: str, seg_term: str, ele_term: str, subele_term: str):
        if text and text[-1] == seg_term:
            text = text[:-1]
        parts = text.split(ele_term) if text else []
        self.seg_id: str | None = parts[0] if parts else None
        self.elements: list[str] = parts[1:]  # each element's text, components unsplit
        self.seg_term, self.ele_term, self.subele_term = seg_term, ele_term, subele_term

    def get_seg_id(self) -> str | None:
        return self.seg_id

    def __len__(self) -> int:
        return len(self.elements)

    def _components(self, text: str) -> list[str]:
        # the ISA's elements have no components (ISA16 is the component separator itself)
        return [text] if self.seg_id == "ISA" else text.split(self.subele_term)

    def _empty(self, text: str) -> bool:
        return not any(self._components(text))

    def is_empty(self) -> bool:
        return all(self._empty(text) for text in self.elements)

    def is_seg_id_valid(self) -> bool:
        return bool(self.seg_id and _SEG_ID.match(self.seg_id))

    def get_value(self, reference: str) -> str | None:
        """The element or component a reference designator names ("ISA13", "GE01", "C04003-2"),
        as pyx12 gives it: None when the segment is shorter."""
        found = _REFERENCE.match(reference)
        if found is None:
            raise ValueError(f"{reference} is not a reference designator")
        position, component = int(found[1]), found[2]
        if position > len(self.elements) or position < 1:
            return None
        text = self.elements[position - 1]
        if component is None:
            return self._composite(text, self.subele_term)
        parts = self._components(text)
        return parts[int(component) - 1] if int(component) <= len(parts) else None

    def _composite(self, text: str, subele_term: str) -> str:
        parts = self._components(text)
        while len(parts) > 1 and not parts[-1]:
            parts.pop()
        return subele_term.join(parts)

    def format(
        self,
        seg_term: str | None = None,
        ele_term: str | None = None,
        subele_term: str | None = None,
    ) -> str:
        """The segment written with the given delimiters (its own by default), trailing empty
        elements and components left off, as pyx12 writes one."""
        seg_term = self.seg_term if seg_term is None else seg_term
        ele_term = self.ele_term if ele_term is None else ele_term
        subele_term = self.subele_term if subele_term is None else subele_term
        last = 0
        for index in range(len(self.elements) - 1, -1, -1):
            if not self._empty(self.elements[index]):
                last = index
                break
        texts = [self._composite(text, subele_term) for text in self.elements[: last + 1]]
        return f"{self.seg_id}{ele_term}{ele_term.join(texts)}{seg_term}"

    def __repr__(self) -> str:
        return self.format()


def value(segment: Segment, position: int, component: int | None = None) -> str:
    """Element ``position`` (1-based) of ``segment``, or its ``component``; "" when absent."""
    elements = segment.elements
    if position > len(elements) or position < 1:
        return ""
    text = elements[position - 1]
    if component is None:
        # a composite as pyx12 gave it: its trailing empty components left off
        return (
            segment._composite(text, segment.subele_term) if segment.subele_term in text else text
        )
    parts = segment._components(text)
    return parts[component - 1] if component <= len(parts) else ""


class _Reader(X12Reader):
    """pyx12's reader, making o2c's ``Segment`` of each line instead of its own: pyx12 splits
    the file and checks the envelopes (control numbers, counts, nesting) as before."""

    def __iter__(self):
        self.err_list = []
        for line in self.raw:
            # the two findings pyx12's own iteration makes before parsing a line
            if line.startswith(" "):
                self._seg_error(
                    "1", "Segment contains a leading space", None, src_line=self.cur_line + 1
                )
                line = line.lstrip()
            if line[-1] == self.ele_term:
                self._seg_error(
                    "SEG1",
                    "Segment contains trailing element terminators",
                    None,
                    src_line=self.cur_line + 1,
                )
            seg_data = Segment(line, self.seg_term, self.ele_term, self.subele_term)
            self._parse_segment(seg_data)
            yield seg_data


def read(raw: str | bytes) -> Interchange:
    """The interchange in ``raw``: its envelope, groups and transaction sets, each set with the
    envelope findings that concern it. Raises ``InterchangeError`` for what cannot be read."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("ascii")
        except UnicodeDecodeError as exc:
            raise InterchangeError(
                f"byte {exc.start + 1}: not ASCII (X12's basic and extended character sets)",
                position=None,
            ) from exc
    text = raw.lstrip("\r\n\t ")
    try:
        reader = _Reader(io.StringIO(text))
    except pyx12.errors.X12Error as exc:
        raise InterchangeError(f"ISA (segment 1): {exc}", position=1) from exc
    try:
        interchange = _walk(reader)
    except pyx12.errors.X12Error as exc:
        raise InterchangeError(str(exc), position=reader.cur_line + 1) from exc
    except (IndexError, KeyError, ValueError, TypeError) as exc:
        # pyx12 assumes envelopes nest (a stray GE or a second IEA empties its loop stack):
        # such a file is not an interchange o2c can judge set by set
        raise InterchangeError(
            f"segment {reader.cur_line + 1}: envelopes out of order ({type(exc).__name__})",
            position=reader.cur_line + 1,
        ) from exc
    if not _ends_with_terminator(text, reader.seg_term):
        interchange.errors.append(
            "the interchange does not end with its segment terminator (truncated?)"
        )
    if not interchange.control.isdigit() or len(interchange.control) != 9:
        raise InterchangeError(
            f"ISA13 (segment 1, element 13): “{interchange.control}” is not 9 digits", position=1
        )
    return interchange


def _ends_with_terminator(text: str, terminator: str) -> bool:
    """Whether the file ends with its terminator, whitespace after it allowed (a terminator that
    is itself a line break counts as one)."""
    trailing = "".join(c for c in "\r\n\t " if c != terminator)
    return text.rstrip(trailing).endswith(terminator)


def _walk(reader: X12Reader) -> Interchange:
    interchange: Interchange | None = None
    group: Group | None = None
    current: TransactionSet | None = None
    closed: TransactionSet | None = None  # the set an SE just ended: its trailer's findings
    for position, segment in enumerate(reader, start=1):
        seg_id = segment.get_seg_id()
        if seg_id == "ISA":
            if interchange is not None:
                interchange.errors.append(
                    f"segment {position}: a second ISA; send one interchange a file"
                )
                break
            interchange = Interchange(
                sender_qualifier=value(segment, 5),
                sender=value(segment, 6).strip(),
                receiver_qualifier=value(segment, 7),
                receiver=value(segment, 8).strip(),
                date=value(segment, 9),
                time=value(segment, 10),
                control=value(segment, 13),
                version=value(segment, 12),
                usage=value(segment, 15),
                element_separator=reader.ele_term,
                component_separator=reader.subele_term,
                segment_terminator=reader.seg_term,
            )
        elif interchange is None:
            raise pyx12.errors.X12Error(f"segment {position}: {seg_id} before the ISA")
        elif seg_id == "GS":
            group = Group(
                functional_id=value(segment, 1),
                sender=value(segment, 2),
                receiver=value(segment, 3),
                control=value(segment, 6),
                version=value(segment, 8),
            )
            interchange.groups.append(group)
        elif seg_id == "ST":
            if current is not None:  # the previous set never ended
                current.envelope_codes.append("2")
            current = TransactionSet(
                code=value(segment, 1),
                control=value(segment, 2),
                segments=[segment],
                offset=position,
            )
            if group is None:
                interchange.errors.append(f"segment {position}: ST outside a functional group")
            else:
                group.sets.append(current)
        elif current is not None:
            current.segments.append(segment)
            if seg_id == "SE":
                closed, current = current, None
        elif seg_id not in ("GE", "IEA"):
            interchange.errors.append(f"segment {position}: {seg_id} outside a transaction set")
        _assign(reader.pop_errors(), interchange, group, current or closed)
        if seg_id == "GE":
            if group is not None:
                group.declared = value(segment, 1)
            group = None
        closed = None if seg_id != "SE" else closed
    if interchange is None:
        raise pyx12.errors.X12Error("no ISA segment")
    reader.cleanup()
    if current is not None:
        current.envelope_codes.append("2")
    _assign(reader.pop_errors(), interchange, group, None, final=True)
    return interchange


def _assign(errors, interchange, group, transaction_set, final: bool = False) -> None:
    for kind, code, message, _value, _line in errors:
        if kind == "st" and transaction_set is not None:
            if code not in transaction_set.envelope_codes:
                transaction_set.envelope_codes.append(code)
        elif kind == "st" and final:
            continue  # a missing SE: already marked on the set ("2") above
        elif kind == "gs" and group is not None:
            if code not in group.codes:
                group.codes.append(code)
        elif kind == "gs" and interchange.groups and not final:
            interchange.groups[-1].codes.append(code)
        elif kind == "seg" and transaction_set is not None:
            # a leading space or a trailing separator: tolerated by most readers, reported
            continue
        else:
            interchange.errors.append(message)


@dataclass(frozen=True)
class Envelope:
    """Who an outbound interchange is from and to, and its control numbers."""

    sender_qualifier: str
    sender: str
    receiver_qualifier: str
    receiver: str
    gs_sender: str
    gs_receiver: str
    version: str  # 004010 or 005010
    usage: str  # P or T
    interchange_control: int
    date: str  # CCYYMMDD
    time: str  # HHMM


Body = list[list[str]]  # a set's segments between ST and SE: [segment id, element, ...]


def write(envelope: Envelope, groups: list[tuple[str, int, list[tuple[str, str, Body]]]]) -> str:
    """An interchange: ``groups`` is [(GS01, GS06, [(ST01, ST02, body), ...]), ...]. pyx12's
    writer closes each set, group and the interchange with its trailer and counts."""
    out = io.StringIO()
    repetition = "^" if envelope.version.startswith("005") else "U"
    writer = X12Writer(
        out, seg_term="~", ele_term="*", subele_term=">", eol="\n", repetition_term="^"
    )
    isa = [
        "ISA", "00", " " * 10, "00", " " * 10,
        envelope.sender_qualifier.ljust(2), envelope.sender.ljust(15)[:15],
        envelope.receiver_qualifier.ljust(2), envelope.receiver.ljust(15)[:15],
        envelope.date[2:], envelope.time, repetition, envelope.version[:5],
        f"{envelope.interchange_control:09d}", "0", envelope.usage, ">",
    ]  # fmt: skip
    writer.Write(pyx12.segment.Segment("*".join(isa), "~", "*", ">"))
    for functional_id, group_control, sets in groups:
        writer.Write(
            _segment(
                [
                    "GS", functional_id, envelope.gs_sender, envelope.gs_receiver, envelope.date,
                    envelope.time, str(group_control), "X", envelope.version,
                ]
            )
        )  # fmt: skip
        for code, control, body in sets:
            writer.Write(_segment(["ST", code, control]))
            for row in body:
                writer.Write(_segment(row))
            writer.Write(_segment(["SE", "0", control]))
        writer.Write(_segment(["GE", "0", str(group_control)]))
    writer.Write(_segment(["IEA", "0", f"{envelope.interchange_control:09d}"]))
    writer.close()
    return out.getvalue()


def _segment(row: list[str]) -> Segment:
    # o2c's segment: pyx12's writer asks of it what its reader does (and writes the trailers)
    return Segment("*".join(_clean(str(v)) for v in row), "~", "*", ">")


def _clean(text: str) -> str:
    """A value as X12's character set can carry it: a delimiter inside it would split it, and
    a letter outside ASCII or a control character would not travel (upstream names carry both:
    "Café" becomes "Cafe")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    plain = "".join(c if " " <= c <= "~" else " " for c in plain)
    return plain.replace("*", " ").replace("~", " ").replace(">", " ").replace("^", " ")
