"""Storing raw records: each (connector, stream, id, version) once, its arrival in its history,
whatever repeats a call or a later call brings."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.roles import get_system_user
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import inbox, inbox_store
from integrations.services.inbox import payload_hash

pytestmark = pytest.mark.django_db


def test_each_message_is_stored_once_with_one_arrival_in_its_history():
    erp = Connector.objects.create(name="store-erp", kind="erp", base_url="http://127.0.0.1:9")
    first = {"id": "A-1", "version": 1, "number": "A-1", "lines": []}
    later = {"id": "A-1", "version": 2, "number": "A-1", "lines": [{"sku": "X"}]}

    ids = inbox_store(connector=erp, stream="orders", records=[first, dict(first), {"no": "id"}])
    again = inbox_store(connector=erp, stream="orders", records=[first, later])

    stored = {(m.version, m.state): m for m in InboundMessage.objects.filter(connector=erp)}
    v1 = stored[(1, InboundState.RECEIVED)]
    v2 = stored[(2, InboundState.RECEIVED)]
    assert ids == [v1.pk] and again == [v1.pk, v2.pk]
    assert len(stored) == 3  # the two versions, and the record without an id as a dead letter
    arrivals = list(
        InboundMessage.history.filter(history_type="+", connector=erp).values_list(
            "id", "payload_hash", "history_user", "history_change_reason"
        )
    )
    dead = next(m for m in stored.values() if m.state == InboundState.DEAD)
    system = get_system_user().pk
    assert sorted(arrivals) == sorted(
        [
            # the payload itself is the message's (it never changes); history names it by hash
            (v1.pk, payload_hash(first), system, "Received from store-erp"),
            (v2.pk, payload_hash(later), system, "Received from store-erp"),
            (dead.pk, payload_hash({"no": "id"}), system, "Received from store-erp"),
        ]
    )


def test_a_stored_message_hashes_as_its_raw_record_does():
    """A webhook retry is compared with its stored twin by payload_hash of the raw record: the
    stored hash must match it, also for a record stored with text it could not keep as is."""
    erp = Connector.objects.create(name="hash-erp", kind="erp", base_url="http://127.0.0.1:9")
    clean = {"id": "H-1", "version": 1, "number": "H-1", "lines": [{"sku": "X", "qty": 2}]}
    nul = {"id": "H-2", "version": 1, "number": "H\x00-2", "lines": [{"price": float("nan")}]}

    inbox_store(connector=erp, stream="orders", records=[clean, nul])

    stored = dict(
        InboundMessage.objects.filter(connector=erp).values_list("external_id", "payload_hash")
    )
    assert stored == {"H-1": payload_hash(clean), "H-2": payload_hash(nul)}
    assert payload_hash(clean) != payload_hash({**clean, "number": "H-1b"})
    assert InboundMessage.objects.get(external_id="H-2").state == InboundState.DEAD


@pytest.mark.parametrize(
    "record",
    [
        {"id": "P-1", "lines": [{"sku": "X", "quantity": "2"}], "note": None, "n": 1.5},
        {"id": "P-2", "note": "C:\\u0000 is text, not a NUL"},  # an escaped backslash
        {"id": "P-3", "note": "a NUL\x00 inside"},
        {"id": "P-4", "price": float("inf")},
        {"id": "P-5", float("nan"): "a NaN key"},
    ],
)
def test_a_record_is_mended_and_hashed_as_the_value_by_value_walk_does(record):
    """Most records are stored as they came: one serialisation checks and hashes them. The rare
    one with something PostgreSQL cannot keep is walked value by value: both give the same
    stored record, hash and problems."""
    problems = set()
    walked = inbox._storable(record, problems)
    assert inbox._prepared(record) == (walked, inbox._digest(walked), problems)
    assert bool(problems) is (record["id"] in {"P-3", "P-4", "P-5"})


def _reads_of_the_inbox(queries) -> int:
    return sum(
        1
        for q in queries
        if q["sql"].startswith("SELECT") and 'FROM "integrations_inboundmessage"' in q["sql"]
    )


def test_a_page_is_stored_once_and_read_back_only_for_its_repeats():
    """A page large enough to be staged: the insert says which rows it made, so a page of new
    records is not read back; repeats are, and keep the message stored first."""
    erp = Connector.objects.create(name="page-erp", kind="erp", base_url="http://127.0.0.1:9")
    page = [{"id": f"P-{n}", "version": 1, "number": f"P-{n}", "lines": []} for n in range(30)]

    with CaptureQueriesContext(connection) as first:
        ids = inbox_store(
            connector=erp, stream="orders", records=[*page, {**page[0], "lines": [1]}, {"x": 1}]
        )
    stored = {m.external_id: m for m in InboundMessage.objects.filter(connector=erp)}
    assert sorted(ids) == sorted(stored[f"P-{n}"].pk for n in range(30))
    assert _reads_of_the_inbox(first.captured_queries) == 0
    assert stored["P-0"].payload == page[0]  # the first of a key repeated in the call stands

    later = [{"id": f"P-{n}", "version": 1, "number": f"P-{n}", "lines": []} for n in range(25, 50)]
    with CaptureQueriesContext(connection) as second:
        again = inbox_store(connector=erp, stream="orders", records=later)
    stored = {m.external_id: m for m in InboundMessage.objects.filter(connector=erp)}
    # the five stored before are still waiting, so they are given back with the twenty new
    assert sorted(again) == sorted(stored[f"P-{n}"].pk for n in range(25, 50))
    assert _reads_of_the_inbox(second.captured_queries) == 1
    arrivals = InboundMessage.history.filter(history_type="+", connector=erp)
    assert arrivals.count() == len(stored) == 50 + 1  # one arrival each, the dead letter too
    assert sorted(arrivals.values_list("id", flat=True)) == sorted(m.pk for m in stored.values())
