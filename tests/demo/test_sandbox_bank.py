"""The sandbox bank over HTTP: it pays the invoices the sandbox ERP booked, after its delay, with
the documented noise; every statement file it serves parses with o2c's parsers, is served the
same each time, and its truth (GET /bank/_truth) adds up to what the files say."""

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal

import httpx
import pytest

from demo.sandbox import Sandbox, SandboxState
from demo.sandbox.data import Catalog
from demo.sandbox.payments import DEFAULT_NOISE
from receivables.parsers import ParseError, parse_bai2, parse_camt053, parse_lockbox

PARSERS = {"bai2": parse_bai2, "camt053": parse_camt053, "lockbox": parse_lockbox}
INVOICES = 400


def invoice(number: int, customer: str, *, total: str, issued: date, currency="USD") -> dict:
    """An invoice as o2c's outbox posts it to the ERP."""
    return {
        "key": f"invoice:INV-{number:07d}",
        "correlation_id": "00000000-0000-0000-0000-000000000000",
        "number": f"INV-{number:07d}",
        "customer": customer,
        "issued_on": issued.isoformat(),
        "due_date": (issued + timedelta(days=30)).isoformat(),
        "currency": currency,
        "subtotal": total,
        "tax": "0.00",
        "total": total,
        "lines": [],
    }


def invoices(count: int, *, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    customers = [c["number"] for c in Catalog().customers]
    return [
        invoice(
            n,
            rng.choice(customers),
            total=str(Decimal(rng.randint(5_000, 900_000)) / 100),
            issued=date(2026, 11, 2) + timedelta(days=rng.randint(0, 25)),
        )
        for n in range(1, count + 1)
    ]


def post(client: httpx.Client, url: str, bodies: list[dict]) -> None:
    for body in bodies:
        response = client.post(f"{url}/erp/invoices", json=body)
        assert response.status_code == 200, response.text


def pull(client: httpx.Client, url: str, limit: int = 7) -> list[dict]:
    """The whole statements stream, page by page, as a connector reads it."""
    records, params = [], {"limit": limit}
    while True:
        page = client.get(f"{url}/bank/statements", params=params).json()
        records += page["records"]
        if not page["more"]:
            return records
        params = {"limit": limit, **page["next"]}


def truth(client: httpx.Client, url: str) -> dict:
    return client.get(f"{url}/bank/_truth").json()


def key(statement, entry) -> tuple[str, str, str]:
    return (statement.bank_account, statement.statement_id, entry.entry_reference)


@pytest.fixture
def client():
    with httpx.Client(timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def paid():
    """A sandbox whose ERP booked 400 invoices and whose bank paid them all, at default noise."""
    server = Sandbox(state=SandboxState(catalog=Catalog(), orders=30)).start()
    with httpx.Client(timeout=30) as http:
        post(http, server.url, invoices(INVOICES))
        files = pull(http, server.url)
        known = truth(http, server.url)
    yield {"server": server, "files": files, "truth": known}
    server.stop()


@pytest.fixture(scope="module")
def parsed(paid):
    """Every well-formed file parsed: entries by key, and each file's statements."""
    entries: dict[tuple, list] = {}
    for record in paid["files"]:
        for statement in PARSERS[record["format"]](record["content"]):
            assert statement.bank_account == record["bank_account"]
            for entry in statement.entries:
                entries.setdefault(key(statement, entry), []).append(entry)
    return entries


def test_the_bank_pays_posted_invoices_after_its_delay(sandbox, client):
    # given a bank that pays an hour after the ERP booked an invoice
    client.post(f"{sandbox.url}/_control", json={"pay_after_seconds": 3600})
    post(client, sandbox.url, invoices(12))
    # then nothing is paid yet
    assert pull(client, sandbox.url) == []
    assert truth(client, sandbox.url)["payments"] == []
    # when the hour has passed (the delay set to nothing)
    client.post(f"{sandbox.url}/_control", json={"pay_after_seconds": 0})
    files = pull(client, sandbox.url)
    # then every invoice is settled by exactly one payment, and the files say so
    payments = truth(client, sandbox.url)["payments"]
    settled = Counter(a["invoice"] for p in payments for a in p["applies"])
    assert settled == Counter({f"INV-{n:07d}": 1 for n in range(1, 13)})
    assert {p["file"] for p in payments} <= {f["id"] for f in files}
    assert files and all(f["version"] == 1 and f["content"] for f in files)
    assert httpx.get(f"{sandbox.url}/_state").json()["payments"] == len(payments)
    # and an invoice booked later is paid by a new file, the earlier ones unchanged
    post(client, sandbox.url, [invoice(13, "SBC0001", total="99.00", issued=date(2026, 11, 5))])
    again = pull(client, sandbox.url)
    assert again[: len(files)] == files and len(again) > len(files)


def test_a_statement_is_served_identically_every_time(paid, client):
    # given the stream already read once
    url = paid["server"].url
    # when read again, whole, and by other page sizes, and its ids listed
    again = pull(client, url, limit=1000)
    ids = client.get(f"{url}/bank/statements/ids", params={"limit": 5000}).json()["ids"]
    # then every file is the same record, byte for byte
    assert again == paid["files"] == pull(client, url, limit=3)
    assert [i["id"] for i in ids] == [f["id"] for f in paid["files"]]
    assert {i["updated_at"] for i in ids} == {f["updated_at"] for f in paid["files"]}


def test_the_same_invoices_make_the_same_files_from_the_same_seed(paid, client):
    # given a second sandbox from the same seed, booked the same invoices
    server = Sandbox(state=SandboxState(catalog=Catalog(), orders=30)).start()
    try:
        post(client, server.url, invoices(INVOICES))
        # when its bank pays them
        files = pull(client, server.url)
        again = truth(client, server.url)
    finally:
        server.stop()
    # then it writes the same files and tells the same truth
    strip = [{k: v for k, v in f.items() if k != "updated_at"} for f in files]
    assert strip == [{k: v for k, v in f.items() if k != "updated_at"} for f in paid["files"]]
    assert again == paid["truth"]


def test_every_file_parses_in_each_format(paid, parsed):
    # given the files of 400 invoices paid
    formats = Counter(f["format"] for f in paid["files"])
    # then all three formats come, mostly BAI2 and camt.053
    assert set(formats) == {"bai2", "camt053", "lockbox"}
    assert formats["lockbox"] < min(formats["bai2"], formats["camt053"])
    # and every file parsed (the fixture parsed them all) into the entries of every payment
    keys = {
        (p["bank_account"], p["statement_id"], p["entry_reference"])
        for p in paid["truth"]["payments"]
    }
    assert set(parsed) == keys
    assert len(keys) == len(paid["truth"]["payments"])


def test_the_truth_adds_up_and_matches_the_files(paid, parsed):
    payments = paid["truth"]["payments"]
    for p in payments:
        # each payment's amount is what it applies plus what belongs on account or to nobody
        applied = sum(Decimal(a["applied"]) for a in p["applies"])
        assert Decimal(p["amount"]) == applied + Decimal(p["on_account"]) + Decimal(p["unknown"])
        # and its entry says the same amount, currency, day and payer as the truth
        entries = parsed[(p["bank_account"], p["statement_id"], p["entry_reference"])]
        assert len(entries) == (2 if p["duplicated"] else 1)
        for entry in entries:
            assert (entry.amount, entry.currency, entry.value_date.isoformat()) == (
                Decimal(p["amount"]),
                p["currency"],
                p["value_date"],
            )
            assert (entry.payer_name, entry.payer_account) == (p["payer_name"], p["payer_account"])
    # and every invoice booked is settled by exactly one payment
    settled = Counter(a["invoice"] for p in payments for a in p["applies"])
    assert set(settled.values()) == {1} and len(settled) == INVOICES


def test_the_remittance_carries_discounts_shorts_and_reason_codes(paid, parsed):
    checked = Counter()
    for p in paid["truth"]["payments"]:
        if p["kind"] not in ("discount", "late_discount", "short", "partial"):
            continue
        [entry] = parsed[(p["bank_account"], p["statement_id"], p["entry_reference"])]
        [line] = entry.remittance
        [applies] = p["applies"]
        # the remittance line says what was paid, the discount taken, and what was taken off why
        assert line.paid == Decimal(applies["applied"])
        assert line.discount == Decimal(applies["discount"])
        assert line.adjustment == Decimal(applies["short"])
        assert line.reason_code == applies["reason_code"]
        checked[(p["format"], p["kind"])] += 1
    assert {fmt for fmt, _ in checked} == {"bai2", "camt053", "lockbox"}
    assert {kind for _, kind in checked} == {"discount", "late_discount", "short", "partial"}


def test_references_are_mistyped_as_the_truth_says(paid, parsed):
    seen = set()
    for p in paid["truth"]["payments"]:
        entry = parsed[(p["bank_account"], p["statement_id"], p["entry_reference"])][0]
        written = {line.reference for line in entry.remittance}
        numbers = {a["invoice"] for a in p["applies"]}
        if "reference_missing" in p["noise"]:
            assert written == set(), p
        elif "reference_no_prefix" in p["noise"]:
            assert any(n.removeprefix("INV-") in written for n in numbers)
        elif "reference_no_zeros" in p["noise"]:
            assert any("INV-" + n[4:].lstrip("0") in written for n in numbers)
        elif "reference_transposed" in p["noise"]:
            swapped = written - numbers
            assert len(swapped) == 1
            [typed] = swapped
            assert any(sorted(typed) == sorted(n) and typed != n for n in numbers)
        elif p["kind"] != "unknown_payer":
            assert written == numbers, p
        seen.update(n for n in p["noise"] if n.startswith("reference"))
    assert len(seen) == 4


def test_every_noise_kind_occurs_at_default_rates(paid):
    payments = paid["truth"]["payments"]
    kinds = Counter(p["kind"] for p in payments)
    noise = Counter(n for p in payments for n in p["noise"])
    assert set(kinds) == {
        "exact",
        "partial",
        "bundle",
        "discount",
        "late_discount",
        "short",
        "over",
        "unknown_payer",
    }
    assert set(noise) == {
        "parent",
        "name_variant",
        "reference_missing",
        "reference_no_prefix",
        "reference_no_zeros",
        "reference_transposed",
    }
    assert any(p["duplicated"] for p in payments)
    # most payments pay their invoice exactly
    assert kinds["exact"] > len(payments) / 2
    # a bundle pays several invoices of one customer; an overpayment leaves money on account
    assert all(len(p["applies"]) >= 2 for p in payments if p["kind"] == "bundle")
    assert all(Decimal(p["on_account"]) > 0 for p in payments if p["kind"] == "over")
    assert all(
        not p["applies"] and p["customer"] is None and Decimal(p["unknown"]) > 0
        for p in payments
        if p["kind"] == "unknown_payer"
    )


def test_discounts_follow_the_customer_s_terms_and_dates(paid):
    customers = {c["number"]: c for c in Catalog().customers}
    for p in paid["truth"]["payments"]:
        if p["kind"] not in ("discount", "late_discount"):
            continue
        terms = customers[p["customer"]]
        [applies] = p["applies"]
        total = Decimal(applies["applied"]) + Decimal(applies["discount"])
        # 2 % of the invoice, taken within its window, or after it when late
        assert terms["discount_percent"] == "2.00"
        assert Decimal(applies["discount"]) == (total * Decimal("0.02")).quantize(Decimal("0.01"))
        issued = next(
            date.fromisoformat(i["issued_on"])
            for i in invoices(INVOICES)
            if i["number"] == applies["invoice"]
        )
        days = (date.fromisoformat(p["value_date"]) - issued).days
        assert days <= 10 if p["kind"] == "discount" else days > 10


def test_a_parent_pays_from_its_own_name_and_account(paid, client):
    customers = {
        c["id"]: c for c in client.get(f"{paid['server'].url}/erp/customers").json()["records"]
    }
    payments = paid["truth"]["payments"]
    accounts = {p["payer"]: p["payer_account"] for p in payments if p["payer"]}
    by_parent = [p for p in payments if "parent" in p["noise"]]
    assert by_parent
    for p in by_parent:
        # the catalog names the parent on the subsidiary's record, and the parent pays
        assert customers[p["customer"]]["parent"] == p["payer"] != p["customer"]
        assert accounts[p["payer"]] == p["payer_account"] != accounts.get(p["customer"])


def test_payer_accounts_are_fixed_per_payer_and_look_real(paid):
    payments = paid["truth"]["payments"]
    accounts: dict[str, set[str]] = {}
    for p in payments:
        accounts.setdefault(p["payer"] or p["payer_name"], set()).add(p["payer_account"])
    known = {p["payer_account"] for p in payments if p["payer"]}
    for p in payments:
        routing, account = p["payer_account"].split("/")
        # nine-digit ABA routing numbers whose check digit holds, 10 to 12 digit accounts
        weighted = sum(int(d) * w for d, w in zip(routing, [3, 7, 1] * 3, strict=True))
        assert len(routing) == 9 and weighted % 10 == 0
        assert account.isdigit() and 10 <= len(account) <= 12
        if p["payer"]:
            assert accounts[p["payer"]] == {p["payer_account"]}  # one per customer: learnable
        else:
            assert p["payer_account"] not in known  # a stranger's is nobody's


def test_a_credit_memo_lowers_what_the_customer_pays(sandbox, client):
    # given an invoice of 500.00 and a credit memo of 120.00 against it, both booked
    post(client, sandbox.url, [invoice(7, "SBC0002", total="500.00", issued=date(2026, 11, 9))])
    memo = {
        "key": "credit_memo:CM-1",
        "number": "CM-1",
        "invoice": "INV-0000007",
        "total": "120.00",
    }
    assert client.post(f"{sandbox.url}/erp/credit-memos", json=memo).status_code == 200
    client.post(
        f"{sandbox.url}/_control",
        json={"bank_noise": {"over": 0, "partial": 0, "short": 0, "unknown_payer": 0}},
    )
    # when the bank pays
    [payment] = truth(client, sandbox.url)["payments"]
    # then it pays what is left: 380.00
    assert payment["applies"][0]["applied"] == "380.00" == payment["amount"]


def test_the_malformed_switch_yields_files_the_parser_refuses_with_their_line(sandbox, client):
    # given a bank told to send every statement file broken first
    client.post(f"{sandbox.url}/_control", json={"bank_malformed": 1000})
    post(client, sandbox.url, invoices(60, seed=5))
    files = {f["id"]: f for f in pull(client, sandbox.url)}
    broken = truth(client, sandbox.url)["malformed"]
    # then each broken file is refused by its parser naming the line and the amount field
    assert {files[b["file"]]["format"] for b in broken} == {"bai2", "camt053", "lockbox"}
    for bad in broken:
        record = files[bad["file"]]
        with pytest.raises(ParseError) as refused:
            PARSERS[record["format"]](record["content"])
        assert refused.value.line == bad["line"]
        assert refused.value.field.endswith(("amount", "Amt"))
        # and its corrected copy, sent after it, parses to the same statement's entries
        fixed = files[bad["corrected_by"]]
        assert PARSERS[fixed["format"]](fixed["content"])
        assert fixed["bank_account"] == record["bank_account"]
    assert len(files) == 2 * len(broken)


def test_a_bank_noise_rate_the_bank_does_not_know_is_refused(sandbox, client):
    refused = client.post(f"{sandbox.url}/_control", json={"bank_noise": {"typos": 0.5}})
    assert refused.status_code == 400
    assert refused.json()["error"].startswith("bank_noise: unknown rate(s) typos; the rates are")
    too_high = client.post(f"{sandbox.url}/_control", json={"bank_noise": {"short": 2}})
    assert too_high.status_code == 400
    now = client.get(f"{sandbox.url}/_control").json()["switches"]["bank_noise"]
    assert now == DEFAULT_NOISE
