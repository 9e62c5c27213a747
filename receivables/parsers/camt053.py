"""ISO 20022 camt.053 bank statements (versions 001.02 to 001.08), one Statement per Stmt.

Read with defusedxml's parser (no DTD, no entities, no external references) into a small tree
that remembers each element's source line, so a refusal names the line and the element path.
"""

from __future__ import annotations

import re
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import DefusedXMLParser
from defusedxml.ElementTree import ParseError as XMLSyntaxError

from .addenda import parse_addenda
from .bai2 import method_for_type_code
from .currencies import checked_currency, decimal_amount
from .records import (
    Entry,
    ParseError,
    RemittanceLine,
    Statement,
    checked,
    fallback_reference,
)

FORMAT = "camt.053"

_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.0([2-8])")
#: Elements that repeat, so a path names which one ("Stmt[1]/Ntry[3]/Amt").
_REPEATING = frozenset({"Stmt", "Ntry", "NtryDtls", "TxDtls", "Strd", "RfrdDocInf", "Ustrd"})
#: ISO 20022 bank transaction codes (family, sub-family) -> how the money came.
_FAMILIES = {"RCHQ": "check", "LBOX": "lockbox", "MCRD": "card", "CCRD": "card", "RDDT": "ach"}
_ACH_SUBFAMILIES = frozenset({"ACDT", "ACOR", "APAC", "ATXN", "ARET", "AREV"})
_REFUSED = {
    "DTDForbidden": "a DTD",
    "EntitiesForbidden": "an entity",
    "ExternalReferenceForbidden": "an external reference",
}
#: Unstructured remittance comes in pieces of at most 140 characters; a full piece was cut.
_USTRD_PIECE = 140


def _no_parent() -> None:
    return None


@dataclass(eq=False)
class _Node:
    tag: str
    attrib: dict[str, str]
    line: int
    # A weak reference: a link back from every child would make the tree a cycle per element,
    # freed only by the garbage collector's full sweeps (in a worker, most of the cyclic
    # garbage of a run of bank files). Read while the tree is whole, to name a refused path.
    parent_ref: Callable[[], _Node | None] = _no_parent
    index: int = 1
    children: list[_Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def parent(self) -> _Node | None:
        return self.parent_ref()

    @property
    def text(self) -> str:
        return "".join(self.parts).strip()

    def find(self, *names: str) -> _Node | None:
        """The first descendant along ``names`` (local names), or None."""
        node: _Node | None = self
        for name in names:
            node = next((child for child in node.children if child.tag == name), None)
            if node is None:
                return None
        return node

    def findall(self, name: str) -> list[_Node]:
        return [child for child in self.children if child.tag == name]

    def text_of(self, *names: str) -> str:
        node = self.find(*names)
        return node.text if node else ""

    def require(self, *names: str) -> _Node:
        """The descendant along ``names``; a ParseError naming the missing element if absent."""
        node = self
        for name in names:
            found = node.find(name)
            if found is None:
                raise ParseError("missing", line=node.line, field=f"{_path(node)}/{name}")
            node = found
        return node

    @property
    def path(self) -> str:
        return _path(self)


def _path(node: _Node) -> str:
    """The element's path below BkToCstmrStmt, with the index of repeating elements."""
    parts = []
    current: _Node | None = node
    while current is not None and current.tag not in ("BkToCstmrStmt", "Document"):
        repeated = current.tag in _REPEATING or (
            current.parent is not None and len(current.parent.findall(current.tag)) > 1
        )
        parts.append(f"{current.tag}[{current.index}]" if repeated else current.tag)
        current = current.parent
    return "/".join(reversed(parts)) or node.tag


class _Builder:
    """The parser's target: a tree of _Node, each stamped with the line its tag opens on."""

    def __init__(self) -> None:
        self.expat = None  # set once the parser exists; read during its callbacks
        self.root: _Node | None = None
        self.namespace = ""
        self._stack: list[_Node] = []
        self._counts: list[dict[str, int]] = [{}]

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        namespace, _, local = tag[1:].partition("}") if tag.startswith("{") else ("", "", tag)
        counts = self._counts[-1]
        counts[local] = counts.get(local, 0) + 1
        parent = self._stack[-1] if self._stack else None
        node = _Node(
            local,
            attrib,
            self.expat.CurrentLineNumber,
            _no_parent if parent is None else weakref.ref(parent),
            counts[local],
        )
        if parent is None:
            self.root, self.namespace = node, namespace
        else:
            parent.children.append(node)
        self._stack.append(node)
        self._counts.append({})

    def end(self, tag: str) -> None:
        self._stack.pop()
        self._counts.pop()

    def data(self, text: str) -> None:
        if self._stack:
            self._stack[-1].parts.append(text)

    def close(self) -> _Node | None:
        return self.root


def parse_camt053(data: bytes | str) -> tuple[Statement, ...]:
    """Every Stmt of a camt.053 document as a Statement of its booked credits.

    Raises ParseError for XML that is not well-formed or not safe (a DTD or an entity), for
    a document that is no camt.053, and for any missing or unreadable required element.
    """
    root = _parse_xml(data)
    statements = root.require("BkToCstmrStmt")
    created_at = _datetime(statements.find("GrpHdr", "CreDtTm"))
    found = statements.findall("Stmt")
    if not found:
        statements.require("Stmt")
    return checked(tuple(_statement(stmt, created_at) for stmt in found))


def _parse_xml(data: bytes | str) -> _Node:
    builder = _Builder()
    parser = DefusedXMLParser(target=builder, forbid_dtd=True)
    builder.expat = parser.parser
    try:
        parser.feed(data)
        root = parser.close()
    except XMLSyntaxError as exc:
        line = exc.position[0] if getattr(exc, "position", None) else None
        raise ParseError(f"not well-formed XML: {exc}", line=line, field="XML") from exc
    except DefusedXmlException as exc:
        # A DTD, an entity declaration or an external reference: the shapes of entity
        # expansion and XXE attacks, and never part of a bank statement.
        refused = _REFUSED.get(type(exc).__name__, type(exc).__name__)
        raise ParseError(
            f"refused: the document declares {refused}",
            line=parser.parser.CurrentLineNumber,
            field="XML",
        ) from exc
    finally:
        # the parser and its target refer to each other: let go of the tree and the parser
        # here, so the tree is freed when the caller is done with it, not at the next full sweep
        builder.expat = builder.root = None
        builder._stack.clear()
    if root is None:
        raise ParseError("the document is empty", line=None, field="XML")
    if root.tag != "Document" or not _NAMESPACE.fullmatch(builder.namespace):
        raise ParseError(
            f"not a camt.053.001.02-08 document: {builder.namespace or 'no namespace'}",
            line=root.line,
            field=root.tag,
        )
    return root


def _statement(stmt: _Node, created_at: datetime | None) -> Statement:
    statement_id = stmt.require("Id").text
    if not statement_id:
        raise ParseError("empty", line=stmt.line, field=f"{stmt.path}/Id")
    account = stmt.require("Acct")
    identifier = account.require("Id")
    bank_account = identifier.text_of("IBAN") or identifier.text_of("Othr", "Id")
    if not bank_account:
        raise ParseError(
            "missing: neither IBAN nor Othr/Id", line=identifier.line, field=identifier.path
        )
    currency_node = account.find("Ccy")
    currency = (
        checked_currency(currency_node.text, line=currency_node.line, field=currency_node.path)
        if currency_node is not None
        else ""
    )
    entries = []
    debits = other = 0
    seen: dict[str, int] = {}
    for ntry in stmt.findall("Ntry"):
        amount, entry_currency = _amount(ntry.require("Amt"))
        indicator = ntry.require("CdtDbtInd")
        if indicator.text not in ("CRDT", "DBIT"):
            raise ParseError(
                f"not CRDT or DBIT: {indicator.text!r}", line=indicator.line, field=indicator.path
            )
        status = ntry.text_of("Sts", "Cd") or ntry.text_of("Sts")
        if indicator.text == "DBIT":
            debits += 1
        elif status and status != "BOOK":
            other += 1  # pending or information only: no money in yet
        else:
            entries.append(_entry(ntry, amount, entry_currency, seen))
    return Statement(
        format=FORMAT,
        bank_account=bank_account,
        statement_id=statement_id,
        created_at=_datetime(stmt.find("CreDtTm")) or created_at,
        currency=currency or _first_currency(stmt),
        entries=tuple(entries),
        skipped_debits=debits,
        skipped_other=other,
    )


def _first_currency(stmt: _Node) -> str:
    """The statement's currency where the account states none: that of its first amount."""
    for holder in (*stmt.findall("Ntry"), *stmt.findall("Bal")):
        if (amount := holder.find("Amt")) is not None and amount.attrib.get("Ccy"):
            return _amount(amount)[1]
    return ""


def _entry(ntry: _Node, amount: Decimal, currency: str, seen: dict[str, int]) -> Entry:
    details = [tx for block in ntry.findall("NtryDtls") for tx in block.findall("TxDtls")]
    value_date = _date(ntry.find("ValDt")) or _date(ntry.find("BookgDt"))
    if value_date is None:
        ntry.require("ValDt")  # neither date: name the one a payment is dated by
    service_reference = ntry.text_of("AcctSvcrRef") or next(
        (tx.text_of("Refs", "AcctSvcrRef") for tx in details if tx.text_of("Refs", "AcctSvcrRef")),
        "",
    )
    texts = [_unstructured(tx) for tx in details]
    texts += [tx.text_of("AddtlTxInf") for tx in details]
    texts.append(ntry.text_of("AddtlNtryInf"))
    free_text = " ".join(text for text in texts if text)
    structured = [line for tx in details for line in _structured(tx)]
    known = {line.reference for line in structured}
    loose = [line for line in parse_addenda(free_text) if line.reference not in known]
    reference = (
        ntry.text_of("NtryRef")
        or ntry.text_of("AcctSvcrRef")
        or fallback_reference(str(amount), currency, value_date.isoformat(), free_text, seen=seen)
    )
    return Entry(
        entry_reference=reference,
        amount=amount,
        currency=currency,
        value_date=value_date,
        payer_name=next((name for tx in details if (name := _debtor_name(tx))), ""),
        payer_account=next((acct for tx in details if (acct := _debtor_account(tx))), ""),
        bank_reference=service_reference,
        method=_method(ntry, details),
        free_text=free_text,
        remittance=(*structured, *loose),
        position=f"{ntry.path} (line {ntry.line})",
    )


def _amount(node: _Node) -> tuple[Decimal, str]:
    """An amount element with its Ccy attribute, both checked."""
    code = node.attrib.get("Ccy")
    if not code:
        raise ParseError("missing", line=node.line, field=f"{node.path}@Ccy")
    currency = checked_currency(code, line=node.line, field=f"{node.path}@Ccy")
    return decimal_amount(node.text, currency, line=node.line, field=node.path), currency


def _date(node: _Node | None) -> date | None:
    """A DateAndDateTimeChoice (Dt or DtTm) as a date; None if the element is absent."""
    if node is None:
        return None
    if (day := node.find("Dt")) is not None:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", day.text):
            raise ParseError(
                f"not a date (YYYY-MM-DD): {day.text!r}", line=day.line, field=day.path
            )
        try:
            return date.fromisoformat(day.text)
        except ValueError:
            raise ParseError(f"not a date: {day.text!r}", line=day.line, field=day.path) from None
    moment = _datetime(node.find("DtTm"))
    if moment is None:
        raise ParseError("missing: neither Dt nor DtTm", line=node.line, field=node.path)
    return moment.date()


def _datetime(node: _Node | None) -> datetime | None:
    if node is None:
        return None
    try:
        return datetime.fromisoformat(node.text)
    except ValueError:
        raise ParseError(
            f"not a date and time: {node.text!r}", line=node.line, field=node.path
        ) from None


def _unstructured(tx: _Node) -> str:
    """The Ustrd pieces as one text. A piece of the full 140 characters was cut by the bank
    where the limit fell, so the next one continues it without a space."""
    remittance = tx.find("RmtInf")
    text, full = "", False
    for piece in remittance.findall("Ustrd") if remittance is not None else ():
        raw = "".join(piece.parts)
        text = text + raw if full else f"{text.rstrip()} {raw.lstrip()}"
        full = len(raw) >= _USTRD_PIECE
    return text.strip()


def _structured(tx: _Node) -> list[RemittanceLine]:
    """One line per referred document of each Strd block (amounts only for a lone document)."""
    remittance = tx.find("RmtInf")
    if remittance is None:
        return []
    lines = []
    for block in remittance.findall("Strd"):
        documents = [doc for doc in block.findall("RfrdDocInf") if doc.text_of("Nb")]
        amounts = _document_amounts(block.find("RfrdDocAmt"))
        note = " ".join(filter(None, (extra.text for extra in block.findall("AddtlRmtInf"))))
        if len(documents) == 1 or (not documents and block.text_of("CdtrRefInf", "Ref")):
            document = documents[0] if documents else None
            reference = document.text_of("Nb") if document else block.text_of("CdtrRefInf", "Ref")
            kind = _document_kind(document) if document else ""
            lines.append(RemittanceLine(reference=reference, text=_join(kind, note), **amounts))
        else:
            # Several documents, one amount block: the amounts belong to none of them alone.
            lines.extend(
                RemittanceLine(
                    reference=doc.text_of("Nb"), paid=None, text=_join(_document_kind(doc), note)
                )
                for doc in documents
            )
    return lines


def _document_amounts(node: _Node | None) -> dict:
    amounts = {"paid": None, "invoice_amount": None}
    if node is None:
        return amounts
    if (paid := node.find("RmtdAmt")) is not None:
        amounts["paid"] = _amount(paid)[0]
    if (due := node.find("DuePyblAmt")) is not None:
        amounts["invoice_amount"] = _amount(due)[0]
    discount = Decimal("0")
    for item in node.findall("DscntApldAmt"):
        # .02 puts the amount on the element; later versions under Amt, beside a type.
        amount = item.find("Amt")
        discount += _amount(amount if amount is not None else item)[0]
    adjustment = Decimal("0")
    reasons = []
    for item in node.findall("AdjstmntAmtAndRsn"):
        value = _amount(item.require("Amt"))[0]
        # CRDT adds to what is due; a debit (or no indicator) is taken off it.
        adjustment += -value if item.text_of("CdtDbtInd") == "CRDT" else value
        if item.text_of("Rsn"):
            reasons.append(item.text_of("Rsn"))
    amounts.update(discount=discount, adjustment=adjustment, reason_code=",".join(reasons))
    return amounts


def _document_kind(document: _Node) -> str:
    code = document.text_of("Tp", "CdOrPrtry", "Cd") or document.text_of("Tp", "CdOrPrtry", "Prtry")
    return f"document type {code}" if code else ""


def _join(*parts: str) -> str:
    return "; ".join(part for part in parts if part)


def _debtor_name(tx: _Node) -> str:
    # .02-.07 name the debtor directly; .08 wraps it in Pty (or Agt, a bank: no name).
    return tx.text_of("RltdPties", "Dbtr", "Nm") or tx.text_of("RltdPties", "Dbtr", "Pty", "Nm")


def _debtor_account(tx: _Node) -> str:
    return tx.text_of("RltdPties", "DbtrAcct", "Id", "IBAN") or tx.text_of(
        "RltdPties", "DbtrAcct", "Id", "Othr", "Id"
    )


def _method(ntry: _Node, details: list[_Node]) -> str:
    """How the money came, from the bank transaction code; a credit transfer ("wire") if none."""
    for holder in (ntry, *details):
        code = holder.find("BkTxCd")
        if code is None:
            continue
        family = code.text_of("Domn", "Fmly", "Cd")
        subfamily = code.text_of("Domn", "Fmly", "SubFmlyCd")
        if family in _FAMILIES:
            return _FAMILIES[family]
        if family == "RCDT":
            return "ach" if subfamily in _ACH_SUBFAMILIES else "wire"
        proprietary = code.text_of("Prtry", "Cd")
        if re.fullmatch(r"[0-9]{3}", proprietary):  # US banks put the BAI2 type code here
            return method_for_type_code(proprietary)
    return "wire"
