"""Lockbox files (CSV): the checks a bank deposited for us, with the remittance stubs read.

The layout, one row per remittance stub, header row first (column names in any order, any
case, "check number" or "check_number"; further columns are ignored):

    lockbox            the lockbox number (the statement's account)
    batch, item        where the bank filed the check on the deposit day
    check_number       rows with the same lockbox, day, batch, item and check number are one
                       check (two payers' checks may carry the same number in one batch)
    amount             the check's amount, e.g. 1500.00 (no sign, no thousands separator)
    currency           optional column; USD where absent
    payer_name         as printed on the check
    payer_account      the check's MICR line: routing/account, e.g. 021000021/4455667788
    deposit_date       YYYY-MM-DD or MM/DD/YYYY
    invoice_reference  the invoice the stub names, as the customer wrote it
    amount_paid        paid against that invoice (blank: the stub gives no amount)
    discount           early-payment discount taken (blank: none)
    adjustment         taken off the invoice for reason_code (negative: paid more)
    reason_code        the customer's reason for the adjustment

A check's rows are consecutive and agree on its amount, payer and date. Strict: a bad amount,
date or a disagreeing row names its line and column, and nothing of the file is returned.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from decimal import Decimal

from .currencies import checked_currency, decimal_amount
from .records import Entry, ParseError, RemittanceLine, Statement, checked

FORMAT = "lockbox"

REQUIRED = (
    "lockbox", "batch", "item", "check_number", "amount", "payer_name", "payer_account",
    "deposit_date", "invoice_reference", "amount_paid", "discount", "adjustment", "reason_code",
)  # fmt: skip
#: Columns that must agree on every row of one check.
_PER_CHECK = ("item", "amount", "currency", "payer_name", "payer_account")
_US_DATE = re.compile(r"([0-9]{2})/([0-9]{2})/([0-9]{4})")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def parse_lockbox(data: bytes | str) -> tuple[Statement, ...]:
    """One Statement per lockbox and deposit day, one Entry per check."""
    reader = csv.reader(io.StringIO(_decode(data), newline=""))
    header = next(reader, None)
    if not header or not any(cell.strip() for cell in header):
        raise ParseError("the file is empty: no header row", line=1, field="header")
    columns = [re.sub(r"[\s-]+", "_", cell.strip().lower()) for cell in header]
    twice = sorted({name for name in columns if name and columns.count(name) > 1})
    if twice:
        raise ParseError(f"column(s) named twice: {', '.join(twice)}", line=1, field="header")
    missing = [name for name in REQUIRED if name not in columns]
    if missing:
        raise ParseError(f"missing column(s): {', '.join(missing)}", line=1, field="header")
    checks: dict[tuple, dict] = {}
    last_key = None
    for line, row in _rows(reader):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise ParseError(
                f"{len(row)} columns where the header has {len(columns)}", line=line, field="row"
            )
        cells = {name: value.strip() for name, value in zip(columns, row, strict=True)}
        cells.setdefault("currency", "")
        key = _check_key(cells, line)
        if key in checks and key != last_key:
            raise ParseError(
                f"check {cells['check_number']} continues after other checks "
                f"(first on line {checks[key]['line']}); a check's rows are consecutive",
                line=line,
                field="check_number",
            )
        if key not in checks:
            checks[key] = _check(cells, line)
        else:
            _agree(checks[key], cells, line)
        remittance = _remittance(cells, line, checks[key]["currency"])
        if remittance:
            checks[key]["remittance"].append(remittance)
        last_key = key
    return checked(_statements(checks))


def _rows(reader):
    """(first line, cells) of each row; a quoted field may span lines."""
    end = reader.line_num
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ParseError(f"not CSV: {exc}", line=end + 1, field="row") from exc
        yield end + 1, row
        end = reader.line_num


def _decode(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")  # payer names from older bank systems


def _check_key(cells: dict[str, str], line: int) -> tuple:
    for name in ("lockbox", "batch", "check_number"):
        if not cells[name]:
            raise ParseError("missing", line=line, field=name)
    return (
        cells["lockbox"],
        _date(cells["deposit_date"], line),
        cells["batch"],
        cells["item"],
        cells["check_number"],
    )


def _check(cells: dict[str, str], line: int) -> dict:
    """A check as its first row states it: amount and currency checked there."""
    currency = checked_currency(cells["currency"] or "USD", line=line, field="currency")
    amount = decimal_amount(cells["amount"], currency, line=line, field="amount")
    if amount <= 0:
        raise ParseError(f"not a positive amount: {cells['amount']!r}", line=line, field="amount")
    return {"line": line, "cells": cells, "currency": currency, "amount": amount, "remittance": []}


def _agree(check: dict, cells: dict[str, str], line: int) -> None:
    first = check["cells"]
    for name in _PER_CHECK:
        if cells[name] != first[name]:
            if name == "payer_account":  # a dead letter's reason is shown and kept: no number
                raise ParseError(
                    f"differs from line {check['line']}, the same check",
                    line=line,
                    field=name,
                )
            raise ParseError(
                f"{cells[name]!r} differs from {first[name]!r} on line {check['line']}, "
                "the same check",
                line=line,
                field=name,
            )


def _date(raw: str, line: int) -> date:
    us = _US_DATE.fullmatch(raw)
    try:
        if us:
            return date(int(us.group(3)), int(us.group(1)), int(us.group(2)))
        if _ISO_DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    reason = "missing" if not raw else f"not a date (YYYY-MM-DD or MM/DD/YYYY): {raw!r}"
    raise ParseError(reason, line=line, field="deposit_date")


def _remittance(cells: dict[str, str], line: int, currency: str) -> RemittanceLine | None:
    """The stub of a row; None for a row that names no invoice and no amount."""
    reference = cells["invoice_reference"]
    amounts = {
        name: _optional(cells[name], currency, line, name, signed=name == "adjustment")
        for name in ("amount_paid", "discount", "adjustment")
    }
    if not reference:
        given = [name for name, value in amounts.items() if value is not None]
        if given or cells["reason_code"]:
            raise ParseError(
                f"missing, yet the row gives {', '.join(given) or 'reason_code'}",
                line=line,
                field="invoice_reference",
            )
        return None
    return RemittanceLine(
        reference=reference,
        paid=amounts["amount_paid"],
        discount=amounts["discount"] or Decimal("0"),
        adjustment=amounts["adjustment"] or Decimal("0"),
        reason_code=cells["reason_code"],
    )


def _optional(raw: str, currency: str, line: int, field: str, *, signed: bool) -> Decimal | None:
    if not raw:
        return None
    return decimal_amount(raw, currency, line=line, field=field, signed=signed)


def _statements(checks: dict[tuple, dict]) -> tuple[Statement, ...]:
    statements: dict[tuple[str, date], list[Entry]] = {}
    currencies: dict[tuple[str, date], str] = {}
    for (lockbox, deposited, batch, item, number), check in checks.items():
        cells, line = check["cells"], check["line"]
        currency = check["currency"]
        statements.setdefault((lockbox, deposited), []).append(
            Entry(
                entry_reference=f"{batch}/{item}/{number}",
                amount=check["amount"],
                currency=currency,
                value_date=deposited,
                payer_name=cells["payer_name"],
                payer_account=cells["payer_account"],
                bank_reference=number,
                method="lockbox",
                free_text="",
                remittance=tuple(check["remittance"]),
                position=f"line {line}",
            )
        )
        currencies.setdefault((lockbox, deposited), currency)
    return tuple(
        Statement(
            format=FORMAT,
            bank_account=lockbox,
            statement_id=deposited.isoformat(),
            created_at=None,
            currency=currencies[(lockbox, deposited)],
            entries=tuple(entries),
            skipped_debits=0,
        )
        for (lockbox, deposited), entries in statements.items()
    )
