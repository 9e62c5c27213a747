"""BAI2 bank statements, read by the ``bai2`` library, as one Statement per account.

The library checks structure and control totals but knows no line numbers; this module feeds
it the records while counting them, so every refusal names the file's line and field.
"""

from __future__ import annotations

import re
from datetime import datetime, time
from decimal import Decimal

from bai2.constants import (
    AsOfDateModifier,
    FundsType,
    GroupStatus,
    RecordCode,
    TypeCodeTransaction,
)
from bai2.exceptions import IntegrityException, NotSupportedYetException, ParsingException
from bai2.helpers import IteratorHelper
from bai2.parsers import Bai2FileParser
from bai2.utils import parse_date, parse_time, parse_type_code

from .addenda import parse_addenda
from .currencies import MINOR_UNITS, checked_currency
from .records import Entry, ParseError, Statement, checked, fallback_reference

FORMAT = "bai2"

_CODES = {"01", "02", "03", "16", "49", "88", "98", "99"}

#: BAI2 detail type codes -> how the money came; a credit code not listed is "wire" (an
#: electronic credit of a kind the table does not name).
_METHOD_CODES = {
    "lockbox": "115 116 118",
    "ach": "121 122 123 142 143 145 156 164 165 166 167 168 169 257 258 829",
    "card": "146 147",
    "check": "155 171 172 173 174 175 176 184 187 189 221 222 301 395",
}
_METHODS = {code: method for method, codes in _METHOD_CODES.items() for code in codes.split()}

#: 88 records in "KEY: value" form (Goldman Sachs, J.P. Morgan): the payer's name, account
#: and routing number.
_KEYED = re.compile(r"([A-Z]{4}):\s*(.*)")
# Payer names in ACH and wire text, where a bank writes them in prose.
_NAME_PATTERNS = (
    re.compile(
        r"ORIG CO NAME[:=]\s*(.+?)(?=\s{2,}|\s+(?:ORIG ID|DESC DATE|CO ENTRY DESCR|SEC|TRACE#?|"
        r"EED|IND ID|IND NAME|TRN|CO ID)\s*[:=#]|$)"
    ),
    re.compile(r"(?:^|\s)(?:B/O|BY ORDER OF|ORG|ORIGINATOR)[:=]\s*(?:/\S+\s+)?(.+?)(?=\s{2,}|\s+[A-Z/]{2,}[:=]|$)"),
    re.compile(r"(?:^|\s)From:\s*([^,;]+)"),
)  # fmt: skip
_ACCOUNT_PATTERN = re.compile(r"(?:^|\s)(?:ORG|B/O)[:=]\s*/(\S+)")


def parse_bai2(data: bytes | str) -> tuple[Statement, ...]:
    """Every account of a BAI2 file as a Statement of its credits.

    Raises ParseError (line and field) for a file that is not whole and well-formed,
    control totals and record counts included; nothing is returned from such a file.
    """
    text = _decode(data)
    lines = [(number, line.strip()) for number, line in enumerate(text.splitlines(), start=1)]
    lines = [(number, line) for number, line in lines if line]
    records = _records(lines)
    cursor = _Cursor(line for _, line in lines)
    try:
        parsed = Bai2FileParser(cursor).parse()
    except IntegrityException as exc:
        raise _integrity_error(exc, records[cursor.consumed]) from exc
    except ParsingException as exc:
        code, line = records[cursor.index]
        raise ParseError(_structure_message(exc, code), line=line, field="record code") from exc
    except (NotSupportedYetException, ValueError, IndexError, KeyError, TypeError) as exc:
        code, line = records[cursor.index]
        field, message = _diagnose(code, cursor.current_record.fields)
        raise ParseError(message or str(exc), line=line, field=field) from exc
    if cursor.index != len(records) - 1:
        code, line = records[cursor.index]
        raise ParseError("a record after the file trailer (99)", line=line, field="record code")
    return checked(_statements(parsed, records))


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # Banks still send Latin-1 payer names; every byte is a character there.
        return data.decode("latin-1")


def _records(lines: list[tuple[int, str]]) -> list[tuple[str, int]]:
    """(record code, first line) of each logical record (an 88 belongs to the one before)."""
    if not lines:
        raise ParseError("the file is empty", line=None, field="file header (01)")
    records = []
    for number, line in lines:
        code = line[:2]
        if code not in _CODES or line[2:3] != ",":
            raise ParseError(f"not a BAI2 record: {line[:20]!r}", line=number, field="record code")
        if code == "88":
            if not records:
                raise ParseError(
                    "a continuation before any record", line=number, field="record code"
                )
            continue
        records.append((code, number))
    if records[0][0] != "01":
        raise ParseError(
            "the file does not open with a file header (01)",
            line=records[0][1],
            field="record code",
        )
    if records[-1][0] != "99":
        # A transfer cut short: the trailers that would prove the file whole never came.
        raise ParseError(
            "the file ends before its trailer: truncated",
            line=lines[-1][0] + 1,
            field="file trailer (99)",
        )
    return records


class _Cursor(IteratorHelper):
    """The library's record iterator, counting records so an error can name its line."""

    def __init__(self, lines):
        self.index = -1  # the record the library is reading
        self.consumed = -1  # the last record it finished with
        super().__init__(lines)

    def advance(self):
        self.consumed = self.index
        super().advance()  # raises StopIteration after the last record, index unchanged
        self.index += 1


#: The totals and counts a trailer states, as the library's messages name them.
_INTEGRITY_FIELDS = (
    "account control total",
    "group control total",
    "file control total",
    "number of accounts",
    "number of groups",
    "number of records",
)


def _integrity_error(exc: IntegrityException, record: tuple[str, int]) -> ParseError:
    """A control total or count that does not add up, on the trailer that states it."""
    text = str(exc)
    field = next((name for name in _INTEGRITY_FIELDS if name in text.lower()), "control total")
    numbers = re.search(r"expected (-?\d+), found (-?\d+)", text)
    message = (
        f"the trailer says {numbers.group(1)}, the records add up to {numbers.group(2)}"
        if numbers
        else text
    )
    return ParseError(message, line=record[1], field=field)


def _structure_message(exc: ParsingException, code: str) -> str:
    expected = re.search(r"Expected RecordCode\.(\w+)", str(exc))
    if expected:
        name = expected.group(1)
        return (
            f"expected a {RecordCode[name].value} record ({name.replace('_', ' ')}), found {code}"
        )
    return str(exc)


# -- naming the field the library choked on --------------------------------------------------


def _number(raw: str) -> None:
    if not re.fullmatch(r"[+-]?[0-9]+", raw):
        raise ValueError(f"not a number: {raw!r}")


def _date(raw: str) -> None:
    try:
        parse_date(raw)
    except ValueError:
        raise ValueError(f"not a date (YYMMDD): {raw!r}") from None


def _time(raw: str) -> None:
    try:
        parse_time(raw)
    except ValueError:
        raise ValueError(f"not a time (HHMM): {raw!r}") from None


def _version(raw: str) -> None:
    _number(raw)
    if int(raw) != 2:
        raise ValueError(f"version {raw} is not BAI2")


def _type_code(raw: str) -> None:
    try:
        parse_type_code(raw)
    except NotSupportedYetException:
        raise ValueError(f"unknown type code: {raw!r}") from None


def _enum(kind, label):
    def check(raw: str) -> None:
        try:
            kind(raw)
        except ValueError:
            raise ValueError(f"not a {label}: {raw!r}") from None

    return check


_FIXED = {
    "01": (
        ("sender id", None), ("receiver id", None), ("creation date", _date),
        ("creation time", _time), ("file id", None), ("physical record length", _number),
        ("block size", _number), ("version", _version),
    ),
    "02": (
        ("ultimate receiver id", None), ("originator id", None),
        ("group status", _enum(GroupStatus, "group status")), ("as-of date", _date),
        ("as-of time", _time), ("currency", None),
        ("as-of date modifier", _enum(AsOfDateModifier, "as-of date modifier")),
    ),
    "49": (("account control total", _number), ("number of records", _number)),
    "98": (("group control total", _number), ("number of accounts", _number), ("number of records", _number)),
    "99": (("file control total", _number), ("number of groups", _number), ("number of records", _number)),
}  # fmt: skip


def _diagnose(code: str, fields: list[str]) -> tuple[str, str]:
    """(field, why) for the first field of a record the library could not read."""
    rest = list(fields)
    try:
        if code in _FIXED:
            _check(rest, _FIXED[code])
        elif code == "03":
            _check(rest, (("account number", None), ("currency", None)))
            while rest and not (len(rest) == 1 and not rest[0]):
                _check(
                    rest, (("type code", _type_code), ("amount", _number), ("item count", _number))
                )
                _availability(rest)
        elif code == "16":
            _check(rest, (("type code", _type_code), ("amount", _number)))
            _availability(rest)
            _check(rest, (("bank reference", None), ("customer reference", None)))
    except _FieldError as exc:
        return exc.field, exc.message
    return "record", ""


class _FieldError(Exception):
    def __init__(self, field: str, message: str):
        self.field, self.message = field, message


def _check(rest: list[str], spec, *, required: bool = False) -> None:
    """Pop and check each field of ``spec``; an empty field passes unless ``required``."""
    for name, check in spec:
        if not rest:
            raise _FieldError(name, "missing: the record ends early")
        raw = rest.pop(0)
        if not raw and required:
            raise _FieldError(name, "missing")
        if raw and check:
            try:
                check(raw)
            except ValueError as exc:
                raise _FieldError(name, str(exc)) from None


def _availability(rest: list[str]) -> None:
    """The funds type and the availability fields it brings (the library's own reading)."""
    if not rest:
        raise _FieldError("funds type", "missing: the record ends early")
    raw = rest.pop(0)
    if not raw:
        return
    try:
        funds = FundsType(raw)
    except ValueError:
        raise _FieldError("funds type", f"not a funds type: {raw!r}") from None
    if funds is FundsType.distributed_availability_simple:
        days = ("availability 0 days", "availability 1 day", "availability 2+ days")
        _check(rest, [(day, _number) for day in days], required=True)
    elif funds is FundsType.value_dated:
        _check(rest, (("value date", _date), ("value time", _time)))
    elif funds is FundsType.distributed_availability:
        count = rest[0] if rest else ""
        _check(rest, (("number of distributions", _number),), required=True)
        for _ in range(int(count)):
            _check(
                rest, (("availability days", None), ("availability amount", _number)), required=True
            )


def _statements(parsed, records: list[tuple[str, int]]) -> tuple[Statement, ...]:
    lines = {code: iter([line for kind, line in records if kind == code]) for code in _CODES}
    header = parsed.header
    created_at = (
        datetime.combine(header.creation_date, header.creation_time or time(0))
        if header.creation_date
        else None
    )
    # One statement per account and day: a bank may list an account twice in a group (the
    # sample files of the BAI2 spec do), and both halves are one statement.
    statements: dict[tuple[str, str], dict] = {}
    for group in parsed.children:
        group_line = next(lines["02"])
        as_of = group.header.as_of_date
        if as_of is None:
            raise ParseError("missing", line=group_line, field="as-of date")
        for account in group.children:
            account_line = next(lines["03"])
            number = (account.header.customer_account_number or "").strip()
            if not number:
                raise ParseError("missing", line=account_line, field="account number")
            currency = checked_currency(
                account.header.currency or group.header.currency,
                line=account_line if account.header.currency else group_line,
                field="currency",
            )
            # The account's day, not the file: an intraday report and the next morning's
            # prior-day file repeat one day's entries under one statement id.
            statement_id = f"{group.header.originator_id or ''}:{as_of.isoformat()}"
            parts = statements.setdefault(
                (number, statement_id),
                {"currency": currency, "entries": [], "debits": 0, "other": 0, "seen": {}},
            )
            if parts["currency"] != currency:
                raise ParseError(
                    f"{currency} for an account already reported in {parts['currency']}",
                    line=account_line,
                    field="currency",
                )
            for detail in account.children:
                line = next(lines["16"])
                kind = _kind(detail, line)
                if kind is TypeCodeTransaction.debit:
                    parts["debits"] += 1
                elif kind is TypeCodeTransaction.credit:
                    parts["entries"].append(_entry(detail, line, currency, as_of, parts["seen"]))
                else:
                    parts["other"] += 1  # 890 and the like: information, no money
    return tuple(
        Statement(
            format=FORMAT,
            bank_account=number,
            statement_id=statement_id,
            created_at=created_at,
            currency=parts["currency"],
            entries=tuple(parts["entries"]),
            skipped_debits=parts["debits"],
            skipped_other=parts["other"],
        )
        for (number, statement_id), parts in statements.items()
    )


def _kind(detail, line: int):
    if detail.type_code is None:
        raise ParseError("missing", line=line, field="type code")
    raw_amount = detail.rows[0][1].split(",")[1]
    if not raw_amount:
        raise ParseError("missing", line=line, field="amount")
    if not re.fullmatch(r"[0-9]+", raw_amount):
        # The library takes "-5" and "+5"; a detail amount carries no sign in BAI2.
        raise ParseError(f"not an unsigned amount: {raw_amount!r}", line=line, field="amount")
    return detail.type_code.transaction


def _entry(detail, line: int, currency: str, as_of, seen: dict[str, int]) -> Entry:
    amount = Decimal(detail.amount).scaleb(-MINOR_UNITS[currency])
    text = " ".join((detail.text or "").split())
    keyed = {}
    for _code, row in detail.rows[1:]:
        match = _KEYED.fullmatch(row.rstrip("/").strip())
        if match:
            keyed.setdefault(match.group(1), match.group(2).strip())
    bank_reference = (detail.bank_reference or "").strip()
    # The payer's own reference is no key: two payments may carry the same one, and the
    # second would be taken for a repeat of the first.
    reference = bank_reference or fallback_reference(
        detail.type_code.code,
        str(detail.amount),
        (detail.customer_reference or "").strip(),
        text,
        seen=seen,
    )
    return Entry(
        entry_reference=reference,
        amount=amount,
        currency=currency,
        value_date=_value_date(detail) or as_of,
        payer_name=keyed.get("DBNM") or _payer_name(text),
        payer_account=_payer_account(keyed, text),
        bank_reference=bank_reference,
        method=method_for_type_code(detail.type_code.code),
        free_text=text,
        remittance=parse_addenda(text),
        position=f"line {line}",
    )


def _value_date(detail):
    """The value date a value-dated (V) detail states, if it states one."""
    if detail.funds_type is FundsType.value_dated and detail.availability:
        return detail.availability.get("date")
    return None


def method_for_type_code(code: str) -> str:
    """How the money of a BAI2 credit type code came (camt.053 carries these codes too)."""
    return _METHODS.get(code, "wire")


def _payer_name(text: str) -> str:
    for pattern in _NAME_PATTERNS:
        match = pattern.search(text)
        if match:
            return match.group(1).strip()
    return ""


def _payer_account(keyed: dict[str, str], text: str) -> str:
    """The payer's account, with its routing number before a slash where the bank gives one."""
    account, routing = keyed.get("DACT", ""), keyed.get("DABA", "")
    if account:
        return f"{routing}/{account}" if routing else account
    match = _ACCOUNT_PATTERN.search(text)
    return match.group(1) if match else ""
