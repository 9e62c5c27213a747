"""Bank-file intake: BAI2, camt.053 and lockbox files read to the same records, addenda read to
remittance lines, and every malformed file refused with the line and field that broke it."""

import pickle
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from receivables.parsers import (
    METHODS,
    ParseError,
    RemittanceLine,
    entry_key,
    parse_addenda,
    parse_bai2,
    parse_camt053,
    parse_lockbox,
)

FIXTURES = Path(__file__).parent / "fixtures"
BAI2 = (FIXTURES / "bai2_prior_day.txt").read_text()
CAMT_V02 = (FIXTURES / "camt053_v02.xml").read_text()
CAMT_V08 = (FIXTURES / "camt053_v08.xml").read_text()
LOCKBOX = (FIXTURES / "lockbox.csv").read_text()


def line(reference, paid=None, **rest):
    return RemittanceLine(reference=reference, paid=None if paid is None else Decimal(paid), **rest)


def refused(parse, data) -> ParseError:
    with pytest.raises(ParseError) as caught:
        parse(data)
    return caught.value


def keys(statements):
    return [entry_key(statement, entry) for statement in statements for entry in statement.entries]


# -- records ---------------------------------------------------------------------------------


def test_a_parse_error_names_line_and_field_and_survives_pickling():
    # given a refusal on line 14
    error = ParseError("not a number: '12x'", line=14, field="amount")
    # when it is shown, and carried through a task queue
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own object, not input
    # then it reads as the dead letter will show it, with its parts intact
    assert str(error) == "line 14, field amount: not a number: '12x'"
    assert (copy.line, copy.field, copy.message) == (14, "amount", "not a number: '12x'")


def test_the_entry_key_is_bank_account_statement_and_entry_reference():
    # given one statement's entries
    [statement, _] = parse_bai2(BAI2)
    first, second = statement.entries[:2]
    # when keyed
    key = entry_key(statement, first)
    # then the key is fixed-length, differs per entry, and does not show the account number
    assert len(key) == 64 and key != entry_key(statement, second)
    assert statement.bank_account not in key


# -- BAI2 ------------------------------------------------------------------------------------


def test_bai2_reads_each_credit_and_skips_debits_and_information():
    # given a prior-day file: one USD account with four credits, two debits and a notice,
    # and one EUR account with a wire
    # when parsed
    usd, eur = parse_bai2(BAI2.encode())
    # then each account is a statement of its credits, in the account's currency
    assert (usd.format, usd.bank_account, usd.currency) == ("bai2", "4455667788", "USD")
    assert usd.statement_id == "021000021:2026-03-11"
    assert usd.created_at == datetime(2026, 3, 12, 6, 30)
    assert (usd.skipped_debits, usd.skipped_other) == (2, 1)
    assert [e.entry_reference for e in usd.entries] == [
        "ACH260311-0001",
        "FED260311-77",
        "LBX260311-9",
        "DEP260311-4",
    ]
    assert [e.amount for e in usd.entries] == [
        Decimal("1470.00"),
        Decimal("5000.00"),
        Decimal("3295.00"),
        Decimal("2500.00"),
    ]
    assert [e.method for e in usd.entries] == ["ach", "wire", "lockbox", "check"]
    assert {e.value_date for e in usd.entries} == {date(2026, 3, 11)}
    assert [e.position for e in usd.entries] == ["line 4", "line 6", "line 11", "line 12"]
    assert (eur.bank_account, eur.currency, eur.entries[0].amount) == (
        "DE44500105175407324931",
        "EUR",
        Decimal("990.00"),
    )


def test_bai2_reads_the_payer_and_remittance_from_addenda_and_88_records():
    # given an ACH credit whose addenda carry an RMR segment, and a wire whose 88 records
    # name the payer, the payer's account and routing number, and some invoices
    ach, wire = parse_bai2(BAI2)[0].entries[:2]
    # then the ACH payer comes from the ORIG CO NAME, its remittance from the RMR segment
    assert ach.payer_name == "ACME FOODS INC"
    assert ach.remittance == (
        line(
            "INV-0000123",
            "1470.00",
            discount=Decimal("30.00"),
            invoice_amount=Decimal("1500.00"),
            text="RMR*IV*INV-0000123*PI*1470.00*1500.00*30.00",
        ),
    )
    # and the wire's payer and account from its keyed 88 records, invoices from its text
    assert (wire.payer_name, wire.payer_account) == (
        "NORTHWIND TRADING LLC",
        "026009593/000123456789",
    )
    assert [r.reference for r in wire.remittance] == ["INV 124", "INV-0000125", "0000126"]
    assert "REMI: INV 124" in wire.free_text


def test_bai2_amounts_are_in_the_currency_s_minor_unit():
    # given the same file reported in yen, which has no minor unit
    yen = BAI2.replace("03,4455667788,USD", "03,4455667788,JPY")
    # when parsed
    statement = parse_bai2(yen)[0]
    # then 147000 is 147,000 yen, not 1,470.00
    assert statement.entries[0].amount == Decimal("147000")


def test_bai2_an_entry_without_a_bank_reference_keeps_one_key_across_loads():
    # given a wire with neither bank nor customer reference
    # when the file is parsed twice
    first, second = parse_bai2(BAI2), parse_bai2(BAI2)
    # then every entry keeps its key, and no two entries share one
    assert keys(first) == keys(second)
    assert len(set(keys(first))) == len(keys(first)) == 5
    assert first[1].entries[0].entry_reference.startswith("auto:")


def bai2_file(*details: str) -> str:
    """A one-account BAI2 file around ``details`` (16 and 88 lines), its totals made to add up."""
    total = sum(int(detail.split(",")[2]) for detail in details if detail.startswith("16,"))
    account = ["03,4455667788,USD/", *details, f"49,{total},{len(details) + 2}/"]
    group = ["02,O2CDEMO,021000021,1,260311,2400,USD,2/", *account]
    group.append(f"98,{total},1,{len(group) + 1}/")
    lines = ["01,BANKUSNY,O2CDEMO,260312,0630,0312A,80,,2/", *group]
    return "\n".join([*lines, f"99,{total},1,{len(lines) + 1}/"]) + "\n"


def test_bai2_credits_without_a_bank_reference_never_share_a_key():
    # given two credits with the payer's same reference, and two entirely alike, none with a
    # bank reference
    data = bai2_file(
        "16,195,10000,Z,,PO-77,WIRE ONE/",
        "16,195,20000,Z,,PO-77,WIRE TWO/",
        "16,195,30000,Z,,,WIRE/",
        "16,195,30000,Z,,,WIRE/",
    )
    # when parsed, twice
    first, again = parse_bai2(data), parse_bai2(data)
    # then each is its own payment, under the same key on every load
    assert len(set(keys(first))) == 4
    assert keys(first) == keys(again)


def test_bai2_one_credit_listed_twice_is_one_key_and_two_that_differ_are_refused():
    # given a credit the bank listed twice, word for word, under its reference
    twice = bai2_file("16,195,147000,Z,BR-1,PO-1,ACME/", "16,195,147000,Z,BR-1,PO-1,ACME/")
    # then both lines read as one payment's key (storing counts the second as a repeat)
    assert len(set(keys(parse_bai2(twice)))) == 1
    # given two different credits under the one bank reference
    clash = bai2_file("16,195,147000,Z,BR-1,PO-1,ACME/", "16,195,99000,Z,BR-1,PO-2,NORTHWIND/")
    # then the file is refused naming both lines and what differs, so neither is dropped unseen
    error = refused(parse_bai2, clash)
    assert str(error) == (
        "field line 5: entries line 4 and line 5 share the reference 'BR-1' but differ "
        "(amount 1470.00 against 990.00, free text)"
    )


def test_values_no_column_holds_are_refused_naming_their_place():
    # a lockbox check of thirteen digits
    huge = LOCKBOX.replace(",845.25,USD,", ",1000000000000.00,USD,")
    error = refused(parse_lockbox, huge)
    assert error.field == "line 4"
    assert "an amount of 1000000000000.00 is beyond what a payment holds" in str(error)
    # a camt.053 statement id longer than the statement's column
    long_id = CAMT_V02.replace("<Id>DE44-2026-070<", "<Id>" + "X" * 120 + "<", 1)
    assert long_id != CAMT_V02
    error = refused(parse_camt053, long_id)
    assert error.field == "statement id"
    assert "at most 100" in str(error)


def test_addenda_a_value_no_amount_column_holds_is_read_as_no_amount():
    # given a payer who typed a timestamp where the amount belongs, and one beyond a trillion
    lines = parse_addenda(
        "RMR*IV*INV-0000151*PI*20260311093000\\ INV-0000152 1,000,000,000,000.00 INV-0000153 950.00"
    )
    # then each reference is kept, with no amount where none could be stored
    assert [(r.reference, r.paid) for r in lines] == [
        ("INV-0000151", None),
        ("INV-0000152", None),
        ("INV-0000153", Decimal("950.00")),
    ]


def test_bai2_latin1_payer_names_are_read():
    # given a file in Latin-1, as older bank systems send it
    data = BAI2.replace("DBNM: NORTHWIND TRADING LLC", "DBNM: CAFÉ NORTHWIND").encode("latin-1")
    # when parsed
    wire = parse_bai2(data)[0].entries[1]
    # then the name is read, not refused
    assert wire.payer_name == "CAFÉ NORTHWIND"


def _truncated(text: str) -> str:
    return "\n".join(text.splitlines()[:15])


@pytest.mark.parametrize(
    ("case", "mutate", "expected"),
    [
        (
            "bad amount",
            lambda t: t.replace("16,165,147000,", "16,165,1470x0,"),
            "line 4, field amount: not a number: '1470x0'",
        ),
        (
            "bad as-of date",
            lambda t: t.replace("02,O2CDEMO,021000021,1,260311", "02,O2CDEMO,021000021,1,260231"),
            "line 2, field as-of date: not a date (YYMMDD): '260231'",
        ),
        (
            "truncated",
            _truncated,
            "line 16, field file trailer (99): the file ends before its trailer: truncated",
        ),
        (
            "account control total",
            lambda t: t.replace("49,252534500,14/", "49,252534400,14/"),
            "line 16, field account control total: the trailer says 252534400, "
            "the records add up to 252534500",
        ),
        (
            "record count",
            lambda t: t.replace("49,252534500,14/", "49,252534500,13/"),
            "line 16, field number of records: the trailer says 13, the records add up to 14",
        ),
        (
            "file control total",
            lambda t: t.replace("99,253633500,1,21/", "99,253633501,1,21/"),
            "line 21, field file control total: the trailer says 253633501, "
            "the records add up to 253633500",
        ),
        (
            "unknown currency",
            lambda t: t.replace("03,4455667788,USD", "03,4455667788,USX"),
            "line 3, field currency: unknown currency code: 'USX'",
        ),
        (
            "missing account",
            lambda t: t.replace("03,4455667788,USD", "03,,USD"),
            "line 3, field account number: missing",
        ),
        (
            "unknown type code",
            lambda t: t.replace("16,195,500000", "16,999,500000"),
            "line 6, field type code: unknown type code: '999'",
        ),
        (
            "not a record",
            lambda t: t.replace("88,DACT: 000123456789", "8B,DACT: 000123456789"),
            "line 8, field record code: not a BAI2 record: '8B,DACT: 00012345678'",
        ),
        (
            "a second file glued on",
            lambda t: t + "01,BANKUSNY,O2CDEMO,260312,0630,0312B,80,,2/\n99,0,0,2/\n",
            "line 22, field record code: a record after the file trailer (99)",
        ),
    ],
)
def test_bai2_a_malformed_file_is_refused_naming_line_and_field(case, mutate, expected):
    # given the good file with one defect
    # when parsed
    error = refused(parse_bai2, mutate(BAI2))
    # then the refusal names where and why, and nothing is returned
    assert str(error) == expected, case


# -- camt.053 --------------------------------------------------------------------------------


def test_camt053_reads_booked_credits_with_payer_remittance_and_dates():
    # given a .02 statement: a credit with a structured invoice, a debit, a batch of two
    # invoices, a credit with unstructured text, and a pending credit
    [statement] = parse_camt053(CAMT_V02.encode())
    # then the statement is the account's, the debit and the pending entry are counted apart
    assert (statement.format, statement.bank_account, statement.statement_id) == (
        "camt.053",
        "DE44500105175407324931",
        "DE44-2026-070",
    )
    assert statement.currency == "EUR"
    assert statement.created_at == datetime(2026, 3, 12, 6, 10, tzinfo=timezone(timedelta(hours=1)))
    assert (statement.skipped_debits, statement.skipped_other) == (1, 1)
    single, batch, loose = statement.entries
    # and the first credit carries its payer, account and the invoice with its discount
    assert (single.entry_reference, single.amount, single.value_date) == (
        "E-0001",
        Decimal("1470.00"),
        date(2026, 3, 11),
    )
    assert (single.payer_name, single.payer_account) == (
        "Acme Foods GmbH",
        "DE89370400440532013000",
    )
    assert (single.bank_reference, single.method) == ("2026031100A1", "wire")
    assert single.remittance == (
        line(
            "INV-0000123",
            "1470.00",
            discount=Decimal("30.00"),
            invoice_amount=Decimal("1500.00"),
            text="document type CINV",
        ),
    )
    # and the batch stays one payment with a line per invoice, the short one with its reason
    assert batch.amount == Decimal("2950.00") and batch.value_date == date(2026, 3, 12)
    assert batch.payer_account == "0532013000"
    assert batch.remittance == (
        line("INV-0000130", "2000.00"),
        line(
            "INV-0000131",
            "950.00",
            adjustment=Decimal("50.00"),
            reason_code="DMG",
            invoice_amount=Decimal("1000.00"),
        ),
    )
    assert batch.position == "Stmt[1]/Ntry[3] (line 64)"
    # and the entry without NtryRef is known by the bank's reference; its text gives invoices
    assert loose.entry_reference == "2026031100C3"
    assert [r.reference for r in loose.remittance] == [
        "INV 123",
        "INV-0000124",
        "0000125",
        "126",
        "127",
    ]


def test_camt053_version_08_nests_the_payer_and_states_codes_and_discounts_its_way():
    # given a .08 statement with Dbtr/Pty/Nm, a BAI code as proprietary bank transaction
    # code, a typed discount, a debit adjustment and a credit note; a lockbox credit; a debit
    [statement] = parse_camt053(CAMT_V08)
    ach, lockbox = statement.entries
    # then the payer, value date and method are read from the .08 shapes
    assert (ach.payer_name, ach.payer_account) == ("Fabrikam Inc", "021000021/7788990011")
    assert ach.value_date == date(2026, 3, 11)
    assert (ach.method, lockbox.method) == ("ach", "lockbox")
    assert statement.created_at == datetime(2026, 3, 12, 7, 0)
    # and the invoice line nets discount and deduction to what was remitted
    invoice, credit_note = ach.remittance
    assert invoice == line(
        "INV-0000140",
        "2425.00",
        discount=Decimal("50.00"),
        adjustment=Decimal("25.00"),
        reason_code="SHRT",
        invoice_amount=Decimal("2500.00"),
        text="document type CINV",
    )
    assert invoice.invoice_amount - invoice.discount - invoice.adjustment == invoice.paid
    assert (credit_note.reference, credit_note.text) == ("CM-0000007", "document type CREN")
    assert statement.skipped_debits == 1


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_camt053_each_supported_version_is_read(version):
    # given the statement under each version's namespace
    data = CAMT_V02.replace("camt.053.001.02", f"camt.053.001.{version}")
    # when parsed, then it reads alike
    assert len(parse_camt053(data)[0].entries) == 3


def test_camt053_a_parsed_file_leaves_no_tree_for_the_garbage_collector():
    """The element tree is freed as soon as the statements are read from it: a tree left in
    reference cycles waits for a full collection, and in a worker those were most of the cyclic
    garbage of a run of bank files."""
    import gc

    from receivables.parsers import camt053

    gc.collect()
    gc.disable()
    try:
        [statement] = parse_camt053(CAMT_V08)
        # type(), not isinstance(): a dead weak proxy elsewhere in the heap raises on the latter
        left = [o for o in gc.get_objects() if type(o) is camt053._Node]
    finally:
        gc.enable()
    assert len(statement.entries) > 0
    assert left == []


def test_camt053_the_same_file_parsed_twice_gives_the_same_keys():
    # when the same statement arrives twice
    first, second = parse_camt053(CAMT_V02), parse_camt053(CAMT_V02)
    # then the keys repeat exactly, so the second load applies nothing
    assert keys(first) == keys(second)
    assert len(set(keys(first))) == 3


def test_camt053_ustrd_pieces_cut_at_140_characters_are_joined_without_a_space():
    # given a remittance text the bank cut at its 140-character limit, inside an invoice number
    head = "PAYMENT " + "X" * 122 + " INV-00001"
    assert len(head) == 140
    data = CAMT_V02.replace(
        "<Ustrd>INV 123, INV-0000124 / 0000125 PAYMENT FOR INVOICES 126 AND 127</Ustrd>",
        f"<Ustrd>{head}</Ustrd><Ustrd>23 THANKS</Ustrd>",
    )
    # when parsed
    loose = parse_camt053(data)[0].entries[2]
    # then the invoice number is whole again
    assert [r.reference for r in loose.remittance] == ["INV-0000123"]


def test_camt053_a_latin1_document_is_read_by_its_declaration():
    # given a document declared and encoded as ISO-8859-1
    data = CAMT_V02.replace('encoding="UTF-8"', 'encoding="ISO-8859-1"').replace(
        "Acme Foods GmbH", "Acme Lebensmittel Köln"
    )
    # when parsed from its bytes
    single = parse_camt053(data.encode("latin-1"))[0].entries[0]
    # then the name is read as written
    assert single.payer_name == "Acme Lebensmittel Köln"


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">
<BkToCstmrStmt><GrpHdr><MsgId>&lol3;</MsgId></GrpHdr></BkToCstmrStmt></Document>"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">&x;</Document>"""


@pytest.mark.parametrize(
    ("case", "data", "expected"),
    [
        (
            "bad amount",
            CAMT_V02.replace('<Amt Ccy="EUR">2950.00</Amt>', '<Amt Ccy="EUR">29x0.00</Amt>'),
            "line 66, field Stmt[1]/Ntry[3]/Amt: not an amount: '29x0.00'",
        ),
        (
            "more decimals than the currency has",
            CAMT_V02.replace('<Amt Ccy="EUR">2950.00</Amt>', '<Amt Ccy="EUR">2950.005</Amt>'),
            "line 66, field Stmt[1]/Ntry[3]/Amt: '2950.005' has more decimals than EUR allows (2)",
        ),
        (
            "bad date",
            CAMT_V02.replace(
                "<ValDt><Dt>2026-03-12</Dt></ValDt>", "<ValDt><Dt>2026-02-30</Dt></ValDt>"
            ),
            "line 70, field Stmt[1]/Ntry[3]/ValDt/Dt: not a date: '2026-02-30'",
        ),
        (
            "missing account",
            CAMT_V02.replace("<Id><IBAN>DE44500105175407324931</IBAN></Id>", ""),
            "line 12, field Stmt[1]/Acct/Id: missing",
        ),
        (
            "unknown currency",
            CAMT_V02.replace('<Amt Ccy="EUR">640.00</Amt>', '<Amt Ccy="EUX">640.00</Amt>'),
            "line 105, field Stmt[1]/Ntry[4]/Amt@Ccy: unknown currency code: 'EUX'",
        ),
        (
            "bad remitted amount",
            CAMT_V02.replace(
                '<RmtdAmt Ccy="EUR">950.00</RmtdAmt>', '<RmtdAmt Ccy="EUR">nine</RmtdAmt>'
            ),
            "line 97, field Stmt[1]/Ntry[3]/NtryDtls[1]/TxDtls[2]/RmtInf/Strd[1]/RfrdDocAmt/RmtdAmt: "
            "not an amount: 'nine'",
        ),
        (
            "truncated",
            CAMT_V02[:2500],
            None,
        ),
        (
            "not a camt.053",
            CAMT_V02.replace("camt.053.001.02", "camt.052.001.02"),
            "line 2, field Document: not a camt.053.001.02-08 document: "
            "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02",
        ),
        (
            "entity expansion",
            BILLION_LAUGHS,
            "line 2, field XML: refused: the document declares a DTD",
        ),
        (
            "external entity",
            EXTERNAL_ENTITY,
            "line 2, field XML: refused: the document declares a DTD",
        ),
    ],
)
def test_camt053_a_malformed_file_is_refused_naming_line_and_field(case, data, expected):
    # given a statement with one defect
    # when parsed
    error = refused(parse_camt053, data)
    # then the refusal names the source line and the element
    if expected is None:  # a cut-off document: expat says where it stopped
        assert error.field == "XML" and error.line == CAMT_V02[:2500].count("\n") + 1, case
        assert "not well-formed XML" in error.message
    else:
        assert str(error) == expected, case


# -- lockbox ---------------------------------------------------------------------------------


def test_lockbox_two_payers_checks_with_one_number_in_a_batch_are_two_payments():
    # given two payers whose checks both carry number 10452, filed as items 1 and 3 of batch 001
    other = "LBX-7001,001,3,10452,99.00,USD,Quimby Catering,011000138/55,2026-03-11,,,,,\n"
    [statement] = parse_lockbox(LOCKBOX + other)
    # then they are two payments, each with its own entry reference
    tens = [e for e in statement.entries if e.bank_reference == "10452"]
    assert [(e.entry_reference, e.amount) for e in tens] == [
        ("001/1/10452", Decimal("2450.00")),
        ("001/3/10452", Decimal("99.00")),
    ]


def test_lockbox_rows_of_one_check_are_one_payment_with_its_stubs():
    # given a deposit of three checks, the first paying two invoices over two rows
    [statement] = parse_lockbox(LOCKBOX.encode())
    first, second, third = statement.entries
    # then the lockbox and day are the statement; each check is one lockbox payment
    assert (statement.format, statement.bank_account, statement.statement_id) == (
        "lockbox",
        "LBX-7001",
        "2026-03-11",
    )
    assert [e.amount for e in statement.entries] == [
        Decimal("2450.00"),
        Decimal("845.25"),
        Decimal("300.00"),
    ]
    assert {e.method for e in statement.entries} == {"lockbox"}
    assert (first.entry_reference, first.bank_reference, first.position) == (
        "001/1/10452",
        "10452",
        "line 2",
    )
    assert (first.payer_name, first.payer_account) == ("Acme Foods Inc", "021000021/4455667788")
    assert first.remittance == (
        line("INV-0000150", "1500.00", discount=Decimal("30.00")),
        line("0000151", "950.00", adjustment=Decimal("50.00"), reason_code="DMG"),
    )
    # and a quoted payer name and a US-style date read as meant; a bare check has no stubs
    assert second.payer_name == "Northwind Trading, LLC"
    assert third.value_date == date(2026, 3, 11) and third.remittance == ()


def test_lockbox_a_row_over_two_lines_is_placed_on_its_first_line():
    # given a payer name quoted over two lines, and column names written with spaces
    data = LOCKBOX.replace('"Northwind Trading, LLC"', '"Northwind Trading,\nLLC"').replace(
        "check_number", "Check Number"
    )
    # when parsed
    entries = parse_lockbox(data)[0].entries
    # then each check is placed where its first row starts
    assert [e.position for e in entries] == ["line 2", "line 4", "line 6"]
    assert entries[1].payer_name == "Northwind Trading,\nLLC"


def test_lockbox_the_same_file_parsed_twice_gives_the_same_keys():
    assert keys(parse_lockbox(LOCKBOX)) == keys(parse_lockbox(LOCKBOX))
    assert len(set(keys(parse_lockbox(LOCKBOX)))) == 3


HEADER = LOCKBOX.splitlines()[0]


@pytest.mark.parametrize(
    ("case", "data", "expected"),
    [
        (
            "bad amount",
            LOCKBOX.replace(",845.25,USD,", ",845.2x,USD,"),
            "line 4, field amount: not an amount: '845.2x'",
        ),
        (
            "bad date",
            LOCKBOX.replace("03/11/2026", "13/11/2026"),
            "line 5, field deposit_date: not a date (YYYY-MM-DD or MM/DD/YYYY): '13/11/2026'",
        ),
        (
            "bad amount paid",
            LOCKBOX.replace(",950.00,,50.00,DMG", ",950,00,,50.00,DMG"),
            "line 3, field row: 15 columns where the header has 14",
        ),
        (
            "a check's rows disagree",
            LOCKBOX.replace(
                "2450.00,USD,Acme Foods Inc,021000021/4455667788,2026-03-11,0000151",
                "2405.00,USD,Acme Foods Inc,021000021/4455667788,2026-03-11,0000151",
            ),
            "line 3, field amount: '2405.00' differs from '2450.00' on line 2, the same check",
        ),
        (
            "a check's rows apart",
            LOCKBOX + LOCKBOX.splitlines()[1] + "\n",
            "line 6, field check_number: check 10452 continues after other checks (first on "
            "line 2); a check's rows are consecutive",
        ),
        (
            "unknown currency",
            LOCKBOX.replace(",300.00,USD,", ",300.00,US$,"),
            "line 5, field currency: unknown currency code: 'US$'",
        ),
        (
            "an amount for no invoice",
            LOCKBOX.replace("03/11/2026,,,,,", "03/11/2026,,300.00,,,"),
            "line 5, field invoice_reference: missing, yet the row gives amount_paid",
        ),
        (
            "a missing column",
            LOCKBOX.replace(",reason_code", ""),
            "line 1, field header: missing column(s): reason_code",
        ),
        (
            "a column named twice",
            LOCKBOX.replace("lockbox,batch", "lockbox,Batch,batch", 1),
            "line 1, field header: column(s) named twice: batch",
        ),
        ("an empty file", "", "line 1, field header: the file is empty: no header row"),
        (
            "missing lockbox",
            HEADER + "\n,001,1,1,10.00,USD,A,1/2,2026-03-11,,,,,\n",
            "line 2, field lockbox: missing",
        ),
    ],
)
def test_lockbox_a_malformed_file_is_refused_naming_line_and_column(case, data, expected):
    error = refused(parse_lockbox, data)
    assert str(error) == expected, case


# -- addenda ---------------------------------------------------------------------------------


def test_addenda_an_rmr_segment_is_one_structured_line():
    # given a CCD+ addenda with an RMR segment
    # when read
    lines = parse_addenda(r"RMR*IV*INV-0000123*PI*1500.00*1500.00*30.00\ ")
    # then reference, amount paid, invoice amount and discount come from RMR02, 04, 05, 06
    assert lines == (
        line(
            "INV-0000123",
            "1500.00",
            discount=Decimal("30.00"),
            invoice_amount=Decimal("1500.00"),
            text="RMR*IV*INV-0000123*PI*1500.00*1500.00*30.00",
        ),
    )


def test_addenda_an_adx_after_an_rmr_is_its_deduction_even_in_a_glued_bank_text():
    # given a bank's text where the RMR follows another segment with no terminator
    text = (
        "ORIG CO NAME:ACME ORIG ID:1234567890 TRN*1*CZ1000DACRMR*IV*INV-0000200*PI*950*1000\\"
        "ADX*-50*01\\RMR*PO*4500012345*PI*10\\"
    )
    # when read
    [only] = parse_addenda(text)
    # then the ADX is the invoice's deduction with its reason, and the PO line is no invoice
    assert (only.reference, only.paid, only.invoice_amount) == (
        "INV-0000200",
        Decimal("950"),
        Decimal("1000"),
    )
    assert (only.adjustment, only.reason_code) == (Decimal("50"), "01")


def test_addenda_loose_references_keep_the_token_as_written():
    text = "INV 123, INV-0000124 / 0000125 PAYMENT FOR INVOICES 126 AND 127"
    assert [r.reference for r in parse_addenda(text)] == [
        "INV 123",
        "INV-0000124",
        "0000125",
        "126",
        "127",
    ]
    assert all(r.paid is None for r in parse_addenda(text))


def test_addenda_amounts_only_where_the_text_gives_them():
    lines = parse_addenda("Invoice no. 555: USD 1,250.00; INV-0000151 950.00 INV-0000152")
    assert [(r.reference, r.paid) for r in lines] == [
        ("Invoice no. 555", Decimal("1250.00")),
        ("INV-0000151", Decimal("950.00")),
        ("INV-0000152", None),
    ]


def test_addenda_numbers_labelled_as_something_else_are_no_references():
    # given a text full of numbers that are orders, accounts, checks, dates and amounts
    text = (
        "PO 4500012345 ORDER NO 7788 CHECK 1029 ACCT: 123456789 ID:55512 ON 2026-03-11 "
        "03/11/2026 20260311 USD 1500 TOTAL 2,450.00 1500.00 DACT: 8348572423"
    )
    # when read, then no invoice is invented
    assert parse_addenda(text) == ()


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=40),
            st.sampled_from(
                [
                    "RMR*",
                    "ADX*",
                    "IV*",
                    "*",
                    "\\",
                    "~",
                    "INV",
                    "INVOICE NO.",
                    " ",
                    "-",
                    "/",
                    "12345",
                    "0000123",
                    "1,500.00",
                    "99.99",
                    "PO ",
                    "$",
                    "\n",
                    "RMR*IV**PI*x*",
                ]
            ),
        ),  # fmt: skip
        max_size=30,
    ).map("".join)
)
def test_addenda_never_raises_and_only_returns_what_the_text_says(text):
    # given any text at all
    # when read
    lines = parse_addenda(text)
    # then nothing raises, and every reference is written in the text as returned
    for remittance in lines:
        assert remittance.reference and remittance.reference in text
        assert remittance.paid is None or remittance.paid.is_finite()


def test_a_prefix_is_not_read_across_an_rmr_segment_into_the_text_after_it():
    # found by the property above: "INV" and the "0" after the segment read as "INV    \n0"
    assert parse_addenda("INVRMR*\n0") == ()
    # a loose reference beside a segment, before or after it, is still read
    for text in ("RMR*IV*INV-0000123**500.00~ INV 0000456", "INV 0000456 RMR*IV*INV-0000123~"):
        assert [r.reference for r in parse_addenda(text)] == ["INV-0000123", "INV 0000456"]


def test_every_parser_maps_to_the_known_methods():
    statements = (*parse_bai2(BAI2), *parse_camt053(CAMT_V08), *parse_lockbox(LOCKBOX))
    assert {entry.method for s in statements for entry in s.entries} <= METHODS
