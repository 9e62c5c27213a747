"""Every documented sandbox switch does what its documentation says, over HTTP, and a switch the
sandbox does not know (or a value of the wrong kind) is refused with a 400 that changes nothing."""

import re
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from demo.sandbox import edi
from demo.sandbox import switches as switches_module
from demo.sandbox.switches import SWITCHES

LINES = [{"line": 1, "sku": "SB-0001", "quantity": "5"}]


def control(sandbox, **values) -> httpx.Response:
    return httpx.post(f"{sandbox.url}/_control", json=values)


def turn(sandbox, **values) -> None:
    response = control(sandbox, **values)
    assert response.status_code == 200, response.text


def page(sandbox, path: str, **params) -> list[dict]:
    response = httpx.get(f"{sandbox.url}/{path}", params={"limit": 1000, **params})
    assert response.status_code == 200, response.text
    return response.json()["records"]


def release(sandbox, number: str) -> None:
    body = {"key": f"release:{number}", "order": number, "lines": LINES}
    assert httpx.post(f"{sandbox.url}/wms/releases", json=body).status_code == 200


def check_fail_next(sandbox):
    turn(sandbox, fail_next=[503, 429])
    statuses = [httpx.get(f"{sandbox.url}/erp/items").status_code for _ in range(3)]
    assert statuses == [503, 429, 200]


def check_latency_ms(sandbox):
    turn(sandbox, latency_ms=300)
    started = time.monotonic()
    page(sandbox, "erp/customers")
    assert time.monotonic() - started >= 0.3
    turn(sandbox, latency_ms=0)


def check_malformed(sandbox):
    turn(sandbox, malformed=["SBO100002"])
    broken = next(r for r in page(sandbox, "erp/orders") if r["id"] == "SBO100002")
    assert "customer" not in broken and broken["lines"][0]["quantity"] == "-3"


def check_duplicates(sandbox):
    turn(sandbox, duplicates=True)
    ids = [r["id"] for r in page(sandbox, "erp/customers")]
    assert len(ids) == 80 and len(set(ids)) == 40


def check_shuffle(sandbox):
    in_order = [r["id"] for r in page(sandbox, "erp/items")]
    turn(sandbox, shuffle=True)
    shuffled = [r["id"] for r in page(sandbox, "erp/items")]
    assert sorted(shuffled) == sorted(in_order) and shuffled != in_order  # 1 in 80! it matches


def check_orphan_shipments(sandbox):
    turn(sandbox, orphan_shipments=["SBO999999"])
    orphan = next(r for r in page(sandbox, "wms/shipments") if r["order"] == "SBO999999")
    assert orphan["id"] == "SHP-SBO999999" and orphan["tracking"] == "1Z-ORPHAN"
    assert not any(r["shipment"] == "SHP-SBO999999" for r in page(sandbox, "tms/deliveries"))


def check_reject_invoices(sandbox):
    invoice = {"key": "invoice:1", "number": "INV-1", "customer": "SBC0001"}
    turn(sandbox, reject_invoices=True)
    refused = httpx.post(f"{sandbox.url}/erp/invoices", json=invoice)
    assert refused.status_code == 422 and "SBC0001 is closed" in refused.json()["error"]
    turn(sandbox, reject_invoices=False)
    assert httpx.post(f"{sandbox.url}/erp/invoices", json=invoice).json()["reference"] == "AR-INV-1"


def check_insert(sandbox):
    before = page(sandbox, "erp/orders")
    newest = max(r["updated_at"] for r in before)
    turn(sandbox, insert={"stream": "orders", "count": 2, "at": 4, "backdate_seconds": 7200})
    listed = [r["id"] for r in sandbox.state.records("orders")]
    assert listed[4:6] == ["SBO200000", "SBO200001"] and len(listed) == len(before) + 2
    inserted = [r for r in page(sandbox, "erp/orders") if r["id"].startswith("SBO2")]
    # stamped two hours back: older than every order already served
    assert len(inserted) == 2 and all(r["updated_at"] < newest for r in inserted)
    release(sandbox, "SBO100001")
    turn(sandbox, insert={"stream": "shipments", "records": [{"id": "SHP-X", "order": "X"}]})
    assert any(r["id"] == "SHP-X" for r in page(sandbox, "wms/shipments"))


def check_orders(sandbox):
    turn(sandbox, orders=5)
    assert len(page(sandbox, "erp/orders")) == 5


def check_orders_per_minute(sandbox):
    turn(sandbox, orders=5, orders_per_minute=60_000)  # a thousand a second
    time.sleep(0.05)
    assert len(page(sandbox, "erp/orders")) > 5


def check_ship_after_seconds(sandbox):
    turn(sandbox, ship_after_seconds=3600)
    release(sandbox, "SBO100001")
    assert page(sandbox, "wms/shipments") == []
    turn(sandbox, ship_after_seconds=0)
    assert [r["order"] for r in page(sandbox, "wms/shipments")] == ["SBO100001"]


def check_deliver_after_seconds(sandbox):
    turn(sandbox, deliver_after_seconds=3600)
    release(sandbox, "SBO100001")
    assert page(sandbox, "wms/shipments") and page(sandbox, "tms/deliveries") == []
    turn(sandbox, deliver_after_seconds=0)
    assert [r["shipment"] for r in page(sandbox, "tms/deliveries")] == ["SHP-SBO100001"]


def check_short_every(sandbox):
    turn(sandbox, short_every=1)
    release(sandbox, "SBO100001")
    assert page(sandbox, "wms/shipments")[0]["lines"][0]["quantity"] == "4"
    turn(sandbox, short_every=0)
    assert page(sandbox, "wms/shipments")[0]["lines"][0]["quantity"] == "5"


RETURN_LINES = [
    {"line": 1, "sku": "SB-0001", "quantity": "5"},
    {"line": 2, "sku": "SB-0002", "quantity": "2"},
]


def expect_return(sandbox, number: str) -> None:
    body = {"key": f"return:{number}", "rma": number, "lines": RETURN_LINES}
    assert httpx.post(f"{sandbox.url}/wms/returns", json=body).status_code == 200


def _received(sandbox) -> dict[str, list]:
    return {
        r["rma"]: [(line["received"], line["damaged"]) for line in r["lines"]]
        for r in page(sandbox, "wms/receipts")
    }


def check_receive_after_seconds(sandbox):
    turn(sandbox, receive_after_seconds=3600)
    expect_return(sandbox, "RMA-0000001")
    assert page(sandbox, "wms/receipts") == []
    turn(sandbox, receive_after_seconds=0)
    assert list(_received(sandbox)) == ["RMA-0000001"]


def check_return_short_every(sandbox):
    turn(sandbox, return_short_every=1, return_damaged_every=0)
    expect_return(sandbox, "RMA-0000001")
    assert _received(sandbox)["RMA-0000001"] == [("4", "0"), ("2", "0")]
    turn(sandbox, return_short_every=0)
    assert _received(sandbox)["RMA-0000001"] == [("5", "0"), ("2", "0")]


def check_return_damaged_every(sandbox):
    turn(sandbox, return_short_every=0, return_damaged_every=2)
    expect_return(sandbox, "RMA-0000001")
    expect_return(sandbox, "RMA-0000002")
    received = _received(sandbox)
    assert received["RMA-0000001"] == [("5", "0"), ("2", "0")]
    assert received["RMA-0000002"] == [("5", "0"), ("2", "1")]  # the second, on its last line


def _orders(sandbox) -> dict[str, dict]:
    return {r["id"]: r for r in page(sandbox, "erp/orders")}


def check_amend(sandbox):
    first = _orders(sandbox)["SBO100001"]
    turn(sandbox, amend={"order": "SBO100001", "kind": "quantity_up"})
    second = _orders(sandbox)["SBO100001"]
    assert second["version"] == 2 and second["updated_at"] > first["updated_at"]
    assert int(second["lines"][0]["quantity"]) == 3 * int(first["lines"][0]["quantity"])
    turn(sandbox, amend=[{"order": "SBO100001", "kind": "cancel"}])
    assert _orders(sandbox)["SBO100001"]["status"] == "cancelled"
    assert _orders(sandbox)["SBO100001"]["version"] == 3


def check_amend_every(sandbox):
    turn(sandbox, amend_every=1, amend_after_seconds=0)
    assert {r["version"] for r in _orders(sandbox).values()} == {2}
    turn(sandbox, amend_every=0)
    assert {r["version"] for r in _orders(sandbox).values()} == {1}


def check_amend_after_seconds(sandbox):
    turn(sandbox, amend_every=1, amend_after_seconds=3600)
    assert {r["version"] for r in _orders(sandbox).values()} == {1}
    turn(sandbox, amend_after_seconds=0)
    assert {r["version"] for r in _orders(sandbox).values()} == {2}


INVOICE = {
    "key": "invoice:INV-0000001",
    "number": "INV-0000001",
    "customer": "SBC0002",
    "issued_on": "2026-11-02",
    "due_date": "2026-12-02",
    "currency": "USD",
    "total": "1500.00",
}


def _paid(sandbox) -> list[dict]:
    return httpx.get(f"{sandbox.url}/bank/_truth").json()["payments"]


def check_pay_after_seconds(sandbox):
    turn(sandbox, pay_after_seconds=3600)
    assert httpx.post(f"{sandbox.url}/erp/invoices", json=INVOICE).status_code == 200
    assert page(sandbox, "bank/statements") == [] and _paid(sandbox) == []
    turn(sandbox, pay_after_seconds=0)
    assert [a["invoice"] for a in _paid(sandbox)[0]["applies"]] == ["INV-0000001"]


def check_bank_noise(sandbox):
    turn(sandbox, bank_noise={"short": 1, "unknown_payer": 0})
    httpx.post(f"{sandbox.url}/erp/invoices", json=INVOICE)
    [payment] = _paid(sandbox)
    assert payment["kind"] == "short" and payment["applies"][0]["reason_code"]


def check_bank_malformed(sandbox):
    turn(sandbox, bank_malformed=1, bank_noise={"unknown_payer": 0, "duplicate": 0})
    httpx.post(f"{sandbox.url}/erp/invoices", json=INVOICE)
    bad, fixed = page(sandbox, "bank/statements")
    assert bad["content"] != fixed["content"] and bad["format"] == fixed["format"]
    [broken] = httpx.get(f"{sandbox.url}/bank/_truth").json()["malformed"]
    assert (broken["file"], broken["corrected_by"]) == (bad["id"], fixed["id"])
    assert httpx.get(f"{sandbox.url}/_control").json()["switches"]["bank_malformed"] == 0


def _edi_drop(sandbox):
    """The buyer's drop folder (o2c's inbound folder for it), fresh for the check."""
    sandbox.state.edi.drop = Path(tempfile.mkdtemp(prefix="sandbox-edi-"))
    return sandbox.state.edi.drop


def _files(folder) -> list:
    return sorted(p for p in folder.iterdir() if p.suffix == ".x12")


def check_edi_send(sandbox):
    drop = _edi_drop(sandbox)
    turn(sandbox, edi_send=2)
    files = _files(drop)
    assert len(files) == 2
    for path in files:
        _, sets = edi.read(path.read_text())
        assert [(code, problem) for code, _, _, _, problem in sets] == [("850", "")]
    truth = httpx.get(f"{sandbox.url}/edi/_truth").json()["orders"]
    assert sorted(truth) == ["SBPO00001", "SBPO00002"]
    assert all(len(po["lines"]) == 3 for po in truth.values())


def check_edi_change(sandbox):
    drop = _edi_drop(sandbox)
    turn(sandbox, edi_send=1)
    turn(sandbox, edi_change={"po": "SBPO00001", "line": 1, "quantity": 9})
    _, [(code, _, _, segments, problem)] = edi.read(_files(drop)[-1].read_text())
    poc = next(s for s in segments if s[0] == "POC")
    assert (code, problem, poc[1], poc[3]) == ("860", "", "1", "9")
    assert control(sandbox, edi_change={"po": "NOPE", "line": 1, "quantity": 1}).status_code == 400


def check_edi_malformed(sandbox):
    drop = _edi_drop(sandbox)
    turn(sandbox, edi_malformed=1)
    turn(sandbox, edi_send=2)
    first, second = (edi.read(p.read_text())[1][0][3] for p in _files(drop))
    assert first[1][0] == "BEG" and first[1][2] == ""  # BEG02, mandatory, blanked
    assert second[1][2] == "SA"  # the next one is whole


def check_edi_wrong_counts(sandbox):
    drop = _edi_drop(sandbox)
    turn(sandbox, edi_wrong_counts=1)
    turn(sandbox, edi_send=1)
    [(_, _, _, _, problem)] = edi.read(_files(drop)[0].read_text())[1]
    assert problem.startswith("SE01 says")


def check_edi_duplicate(sandbox):
    drop = _edi_drop(sandbox)
    turn(sandbox, edi_duplicate=1)
    turn(sandbox, edi_send=1)
    first, again = _files(drop)
    assert first.read_text() == again.read_text()


def check_edi_ack_delay_seconds(sandbox):
    drop = _edi_drop(sandbox)
    turn(sandbox, edi_ack_delay_seconds=0.5)
    sent = edi.interchange("PR", "855", [[["BAK", "00", "AD", "PO-1", "20261205"],
                                          ["PO1", "1", "1", "EA"], ["ACK", "IA", "1", "EA"],
                                          ["CTT", "1"]]], 77)  # fmt: skip
    answer = httpx.post(f"{sandbox.url}/edi/receive", content=sent.encode()).json()
    assert answer["sets"] == [{"code": "855", "control": "0001", "accepted": True}]
    assert _files(drop) == []  # the 997 is held back
    time.sleep(0.6)
    httpx.get(f"{sandbox.url}/edi/_truth")
    [ack] = _files(drop)
    assert edi.read(ack.read_text())[1][0][0] == "997"


CHECKS = {
    name.removeprefix("check_"): check
    for name, check in globals().items()
    if name.startswith("check_")
}


def test_every_switch_is_documented_and_checked_here():
    documented = set(re.findall(r"``(\w+)``", switches_module.__doc__)) & set(SWITCHES)
    assert documented == set(SWITCHES) == set(CHECKS)


@pytest.mark.parametrize("name", sorted(SWITCHES))
def test_the_switch_does_what_its_documentation_says(sandbox, name):
    CHECKS[name](sandbox)


def test_an_unknown_switch_is_refused_and_changes_nothing(sandbox):
    response = control(sandbox, shuffle=True, orphan_shipment=["SBO1"])
    assert response.status_code == 400
    message = response.json()["error"]
    assert message.startswith("Unknown switch orphan_shipment; the switches are ")
    assert "orphan_shipments" in message
    now = httpx.get(f"{sandbox.url}/_control").json()["switches"]
    assert now["shuffle"] is False and now["orphan_shipments"] == []


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"latency_ms": "slow"}, "latency_ms: expected a whole number from 0 up, got 'slow'"),
        ({"fail_next": [200]}, "fail_next: expected a list of HTTP error statuses (400-599)"),
        ({"duplicates": 1}, "duplicates: expected true or false, got 1"),
        ({"insert": {"stream": "orders"}}, "insert: give either count or records"),
        ({"insert": {"stream": "shipments", "count": 1}}, "insert: 0 released order(s) wait"),
        ({"insert": {"stream": "nowhere", "count": 1}}, "insert.stream: one of ar, customers"),
    ],
)
def test_a_bad_value_is_refused_naming_the_switch_and_changes_nothing(sandbox, values, message):
    response = control(sandbox, shuffle=True, **values)
    assert response.status_code == 400 and message in response.json()["error"]
    assert httpx.get(f"{sandbox.url}/_control").json()["switches"]["shuffle"] is False
    assert sandbox.state.inserted == {}


def test_a_body_that_is_not_a_json_object_is_refused(sandbox):
    for body in (b"not json", b"[1, 2]"):
        response = httpx.post(f"{sandbox.url}/_control", content=body)
        assert response.status_code == 400
        assert response.json()["error"] == "Send a JSON object of switch: value."


def test_the_wms_honours_a_change_and_a_cancel_until_it_has_shipped(sandbox):
    # given two released orders the warehouse has not shipped yet
    turn(sandbox, ship_after_seconds=3600)
    release(sandbox, "SBO100001")
    release(sandbox, "SBO100002")
    change = {
        "key": "change:SBO100001:2",
        "order": "SBO100001",
        "lines": [{**LINES[0], "quantity": "9"}],
    }
    # when one is changed and the other cancelled
    answers = [
        httpx.post(f"{sandbox.url}/wms/changes", json=change).json(),
        httpx.post(
            f"{sandbox.url}/wms/cancellations",
            json={"key": "cancel:SBO100002:1", "order": "SBO100002"},
        ).json(),
    ]
    # then both are honoured: the change ships its lines, the cancelled order never ships
    assert [a["status"] for a in answers] == ["accepted", "accepted"]
    turn(sandbox, ship_after_seconds=0)
    shipped = {r["order"]: r for r in page(sandbox, "wms/shipments")}
    assert set(shipped) == {"SBO100001"} and shipped["SBO100001"]["lines"][0]["quantity"] == "9"
    # and once shipped, a change is answered "already shipped"
    late = {**change, "key": "change:SBO100001:3"}
    answer = httpx.post(f"{sandbox.url}/wms/changes", json=late).json()
    assert answer["status"] == "already_shipped" and "already shipped" in answer["message"]
