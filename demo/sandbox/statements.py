"""The sandbox bank's files as banks write them: BAI2 prior-day reports (remittance in 88
continuation records, NACHA RMR/ADX segments), ISO 20022 camt.053 statements (RmtInf Strd and
Ustrd) and lockbox CSV files, and the same file with a bad amount on one line."""

import csv
import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from xml.sax.saxutils import escape

# Currencies whose amounts carry other than two decimals (BAI2 writes amounts in minor units).
MINOR_UNITS = {"JPY": 0, "KRW": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3}

#: Our receiving accounts: the operating account reported in BAI2 by one bank, a second
#: account reported in camt.053 by another, and the lockbox the first bank runs for checks.
BAI2_SENDER = "SBXNATLBANK"
BAI2_ORIGINATOR = "071000301"
BAI2_ACCOUNT = "7730012345"
CAMT_BANK = "SBXTRUST"
CAMT_ACCOUNT = "5512048810"
LOCKBOX = "LBX-7001"
RECEIVER = "O2CSANDBOX"

LOCKBOX_COLUMNS = [
    "lockbox", "batch", "item", "check_number", "amount", "currency", "payer_name",
    "payer_account", "deposit_date", "invoice_reference", "amount_paid", "discount",
    "adjustment", "reason_code",
]  # fmt: skip


def quantum(currency: str) -> Decimal:
    return Decimal(1).scaleb(-MINOR_UNITS.get(currency, 2))


def _minor(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(MINOR_UNITS.get(currency, 2)))


def _text(amount: Decimal) -> str:
    return f"{amount:f}"


@dataclass(frozen=True)
class Remit:
    """One remittance line as the payer wrote it (``reference`` may be mistyped)."""

    reference: str
    paid: Decimal
    invoice_amount: Decimal
    discount: Decimal = Decimal("0")
    adjustment: Decimal = Decimal("0")  # paid less than due, for ``reason``
    reason: str = ""


@dataclass(frozen=True)
class Credit:
    """One payment as a statement lists it."""

    reference: str  # the entry reference: bank reference, NtryRef, or batch/item/check
    amount: Decimal
    currency: str
    value_date: date
    payer_name: str
    payer_account: str  # routing/account
    method: str  # ach, wire or check
    remittance: tuple[Remit, ...]  # structured remittance (ACH addenda, Strd, check stubs)
    free_text: str = ""  # what the payer typed on a wire (BAI2 REMI, camt Ustrd)
    batch: str = ""  # lockbox only: where the bank filed the check
    item: int = 0
    check_number: str = ""


def bai2(*, file_number: int, day: date, opening: Decimal, credits: list[Credit]) -> str:
    """A prior-day BAI2 file for the operating account: one group, one account, its credits."""
    currency = credits[0].currency
    details: list[str] = []
    for credit in credits:
        details += _bai2_detail(credit)
    total = sum((c.amount for c in credits), Decimal("0"))
    summary = [
        _minor(opening, currency),
        _minor(opening + total, currency),
        _minor(total, currency),
    ]
    account = [
        f"03,{BAI2_ACCOUNT},{currency},010,{summary[0]},,,015,{summary[1]},,,"
        f"100,{summary[2]},{len(credits)},/",
        *details,
    ]
    account_total = sum(summary) + sum(_minor(c.amount, currency) for c in credits)
    account.append(f"49,{account_total},{len(account) + 1}/")
    created = date.fromordinal(day.toordinal() + 1)
    lines = [
        f"01,{BAI2_SENDER},{RECEIVER},{created:%y%m%d},0630,{file_number},80,,2/",
        f"02,{RECEIVER},{BAI2_ORIGINATOR},1,{day:%y%m%d},2400,{currency},2/",
        *account,
        f"98,{account_total},1,{len(account) + 2}/",
        f"99,{account_total},1,{len(account) + 4}/",
    ]
    return "\n".join(lines) + "\n"


def _bai2_detail(credit: Credit) -> list[str]:
    routing, _, number = credit.payer_account.partition("/")
    amount = _minor(credit.amount, credit.currency)
    if credit.method == "ach":
        # NACHA CTX: the payer's company name and id in the text, addenda in 88 records.
        head = (
            f"16,165,{amount},1,{credit.reference},{routing[:8]}{credit.reference[-7:]},"
            f"ACH CREDIT ORIG CO NAME:{credit.payer_name} ORIG ID:1{number[-9:]} SEC:CTX"
        )
        rows = [head, f"88,DACT: {number}", f"88,DABA: {routing}"]
        for line in credit.remittance:
            rows.append(f"88,{_rmr(line)}")
            if line.adjustment:
                rows.append(f"88,ADX*{_text(-line.adjustment)}*{line.reason}\\")
        return rows
    head = f"16,195,{amount},0,{credit.reference},,INCOMING WIRE"
    rows = [head, f"88,DBNM: {credit.payer_name}", f"88,DACT: {number}", f"88,DABA: {routing}"]
    if credit.free_text:
        rows.append(f"88,REMI: {credit.free_text}")
    return rows


def _rmr(line: Remit) -> str:
    parts = ["RMR", "IV", line.reference, "PI", _text(line.paid), _text(line.invoice_amount)]
    if line.discount:
        parts.append(_text(line.discount))
    return "*".join(parts) + "\\"


def camt053(
    *,
    statement_id: str,
    file_number: int,
    day: date,
    opening: Decimal,
    credits: list[Credit],
    version: int = 8,
) -> str:
    """A camt.053 statement (version 001.02 or 001.08) of the second account for ``day``."""
    currency = credits[0].currency
    total = sum((c.amount for c in credits), Decimal("0"))
    created = date.fromordinal(day.toordinal() + 1)
    status = "<Sts><Cd>BOOK</Cd></Sts>" if version >= 8 else "<Sts>BOOK</Sts>"
    out = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.0{version}">',
        "  <BkToCstmrStmt>",
        "    <GrpHdr>",
        f"      <MsgId>{CAMT_BANK}-{file_number:06d}</MsgId>",
        f"      <CreDtTm>{created.isoformat()}T07:00:00</CreDtTm>",
        "    </GrpHdr>",
        "    <Stmt>",
        f"      <Id>{statement_id}</Id>",
        f"      <ElctrncSeqNb>{file_number}</ElctrncSeqNb>",
        f"      <CreDtTm>{created.isoformat()}T07:00:00</CreDtTm>",
        f"      <Acct><Id><Othr><Id>{CAMT_ACCOUNT}</Id></Othr></Id><Ccy>{currency}</Ccy></Acct>",
        *_balance("OPBD", opening, currency, day),
        *_balance("CLBD", opening + total, currency, day),
    ]
    for credit in credits:
        out += _camt_entry(credit, status, version)
    out += ["    </Stmt>", "  </BkToCstmrStmt>", "</Document>"]
    return "\n".join(out) + "\n"


def _balance(code: str, amount: Decimal, currency: str, day: date) -> list[str]:
    return [
        "      <Bal>",
        f"        <Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>",
        f'        <Amt Ccy="{currency}">{_text(amount)}</Amt>',
        "        <CdtDbtInd>CRDT</CdtDbtInd>",
        f"        <Dt><Dt>{day.isoformat()}</Dt></Dt>",
        "      </Bal>",
    ]


def _camt_entry(credit: Credit, status: str, version: int) -> list[str]:
    ccy = credit.currency
    subfamily = "ACDT" if credit.method == "ach" else "DMCT"
    name = escape(credit.payer_name)
    debtor = (
        f"<Dbtr><Pty><Nm>{name}</Nm></Pty></Dbtr>"
        if version >= 8
        else f"<Dbtr><Nm>{name}</Nm></Dbtr>"
    )
    out = [
        "      <Ntry>",
        f"        <NtryRef>{credit.reference}</NtryRef>",
        f'        <Amt Ccy="{ccy}">{_text(credit.amount)}</Amt>',
        "        <CdtDbtInd>CRDT</CdtDbtInd>",
        f"        {status}",
        f"        <BookgDt><Dt>{credit.value_date.isoformat()}</Dt></BookgDt>",
        f"        <ValDt><Dt>{credit.value_date.isoformat()}</Dt></ValDt>",
        f"        <AcctSvcrRef>{credit.reference}S</AcctSvcrRef>",
        "        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd>"
        f"<SubFmlyCd>{subfamily}</SubFmlyCd></Fmly></Domn></BkTxCd>",
        "        <NtryDtls>",
        "          <TxDtls>",
        f"            <Refs><EndToEndId>{credit.reference}E2E</EndToEndId></Refs>",
        "            <RltdPties>",
        f"              {debtor}",
        f"              <DbtrAcct><Id><Othr><Id>{credit.payer_account}</Id></Othr></Id></DbtrAcct>",
        "            </RltdPties>",
    ]
    pieces = _pieces(credit.free_text, 140)
    if credit.remittance or pieces:
        out.append("            <RmtInf>")
        out += [f"              <Ustrd>{escape(piece)}</Ustrd>" for piece in pieces]
        for line in credit.remittance:
            out += _strd(line, ccy, version)
        out.append("            </RmtInf>")
    out += ["          </TxDtls>", "        </NtryDtls>", "      </Ntry>"]
    return out


def _strd(line: Remit, ccy: str, version: int) -> list[str]:
    amounts = [f'<DuePyblAmt Ccy="{ccy}">{_text(line.invoice_amount)}</DuePyblAmt>']
    if line.discount:
        value = f'<Amt Ccy="{ccy}">{_text(line.discount)}</Amt>'
        amounts.append(
            f"<DscntApldAmt><Tp><Cd>PPD</Cd></Tp>{value}</DscntApldAmt>"
            if version >= 8
            else f'<DscntApldAmt Ccy="{ccy}">{_text(line.discount)}</DscntApldAmt>'
        )
    if line.adjustment:
        amounts.append(
            f'<AdjstmntAmtAndRsn><Amt Ccy="{ccy}">{_text(line.adjustment)}</Amt>'
            f"<CdtDbtInd>DBIT</CdtDbtInd><Rsn>{escape(line.reason)}</Rsn></AdjstmntAmtAndRsn>"
        )
    amounts.append(f'<RmtdAmt Ccy="{ccy}">{_text(line.paid)}</RmtdAmt>')
    return [
        "              <Strd>",
        "                <RfrdDocInf><Tp><CdOrPrtry><Cd>CINV</Cd></CdOrPrtry></Tp>"
        f"<Nb>{escape(line.reference)}</Nb></RfrdDocInf>",
        f"                <RfrdDocAmt>{''.join(amounts)}</RfrdDocAmt>",
        "              </Strd>",
    ]


def _pieces(text: str, size: int) -> list[str]:
    """Free text in pieces of at most ``size`` characters, cut between words."""
    pieces: list[str] = []
    for word in text.split():
        if pieces and len(pieces[-1]) + 1 + len(word) <= size:
            pieces[-1] += " " + word
        else:
            pieces.append(word[:size])
    return pieces


def lockbox(*, credits: list[Credit]) -> str:
    """A lockbox file: one row per remittance stub, a check's rows together."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(LOCKBOX_COLUMNS)
    for credit in credits:
        head = [
            LOCKBOX, credit.batch, credit.item, credit.check_number, _text(credit.amount),
            credit.currency, credit.payer_name, credit.payer_account,
            credit.value_date.strftime("%m/%d/%Y"),
        ]  # fmt: skip
        if not credit.remittance:
            writer.writerow([*head, "", "", "", "", ""])
        for line in credit.remittance:
            writer.writerow(
                [
                    *head,
                    line.reference,
                    _text(line.paid),
                    _text(line.discount) if line.discount else "",
                    _text(line.adjustment) if line.adjustment else "",
                    line.reason,
                ]
            )
    return out.getvalue()


def malformed(fmt: str, content: str) -> tuple[str, int]:
    """The file with the first payment's amount written wrong, and the 1-based line of it:
    a letter O for a zero in BAI2, a decimal comma in camt.053, a dollar sign and thousands
    separator in a lockbox file."""
    lines = content.split("\n")
    in_entry = False
    for index, line in enumerate(lines):
        if fmt == "bai2" and line.startswith("16,"):
            fields = line.split(",")
            fields[2] = fields[2][:-1] + "O"
            lines[index] = ",".join(fields)
            break
        in_entry = in_entry or "<Ntry>" in line
        if fmt == "camt053" and in_entry and "<Amt " in line:
            lines[index] = line.replace(".", ",", 1)
            break
        if fmt == "lockbox" and index == 1:
            row = next(csv.reader([line]))
            row[4] = f"${Decimal(row[4]):,}"
            out = io.StringIO()
            csv.writer(out, lineterminator="\r").writerow(row)
            lines[index] = out.getvalue()
            break
    else:
        raise ValueError(f"malformed: no payment in this {fmt} file")
    return "\n".join(lines), index + 1
