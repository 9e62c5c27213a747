"""Two workers importing one order stream at once: each takes a chunk the other is not applying
(skipped, not waited for), and a credit check never leaves out an order of the same customer
released in another transaction still in flight; it waits for it and counts it."""

import threading
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.roles import get_system_user
from integrations.models import Connector, InboundMessage, InboundState
from integrations.services import inbox_process, inbox_store
from integrations.services.order_messages import (
    _apply_orders,
    _take,
    _unheld,
    orders_apply_batches,
)
from orders.models import ARBalance, Order, OrderState
from orders.services import order_release
from tests.fixtures.factories import (
    CustomerFactory,
    OrderFactory,
    ShipToFactory,
)

SOURCE = "race-erp"


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("concurrent transactions need PostgreSQL; SQLite locks the whole file")


@pytest.fixture
def erp(hold_policy):
    return Connector.objects.create(name=SOURCE, kind="erp", base_url="http://127.0.0.1:9")


@pytest.fixture
def customer_of(stocked_item):
    """A customer of the ERP with a 1,000 credit limit (1,050 with the 5 % tolerance), no open
    AR and a main ship-to; the item it orders (SKU-S) lists at 100 and is in stock."""

    def make(number: str):
        customer = CustomerFactory(
            number=number,
            source_system=SOURCE,
            external_id=number,
            credit_limit=Decimal("1000.00"),
        )
        ShipToFactory(customer=customer, code="MAIN")
        ARBalance.objects.create(customer=customer, open_amount=Decimal("0"), as_of=timezone.now())
        return customer

    return make


def _order(number: str, customer: str, quantity: str = "6") -> dict:
    """An order message of one line: 6 × 100 = 600, within the limit alone, not with another."""
    return {
        "id": number,
        "version": 1,
        "number": number,
        "channel": "edi",
        "customer": customer,
        "ship_to": "MAIN",
        "lines": [{"sku": "SKU-S", "quantity": quantity}],
    }


class Elsewhere:
    """``work()`` run in another thread's transaction, on its own connection, held open (its
    locks with it) until ``let_go()``; ``run()`` runs a second worker's call in a thread."""

    def __init__(self, work):
        self.holding, self.done, self.outcome = threading.Event(), threading.Event(), []
        self.thread = threading.Thread(target=self._hold, args=(work,))

    def _hold(self, work):
        try:
            with transaction.atomic():
                self.outcome.append(work())
                self.holding.set()
                self.done.wait(timeout=60)
        finally:
            connections.close_all()

    def __enter__(self):
        self.thread.start()
        assert self.holding.wait(timeout=30)
        return self

    def let_go(self):
        self.done.set()
        self.thread.join(timeout=60)

    def __exit__(self, *exc):
        self.let_go()


def _in_thread(work) -> tuple[threading.Thread, list]:
    outcome = []

    def run():
        try:
            outcome.append(work())
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def _waits_for(elsewhere: Elsewhere, work, why: str) -> list:
    """``work`` run beside ``elsewhere``: still waiting two seconds on, it goes on once
    ``elsewhere`` lets go; returns what it returned."""
    thread, outcome = _in_thread(work)
    thread.join(timeout=2)
    assert thread.is_alive(), why
    elsewhere.let_go()
    thread.join(timeout=30)
    return outcome


@pytest.mark.django_db(transaction=True)
def test_an_import_waits_for_a_release_of_the_same_customer_in_flight_and_counts_it(
    postgresql, erp, customer_of
):
    customer = customer_of("RACE-C1")
    waiting = OrderFactory(customer=customer)  # a 600 order on hold, its hold resolved
    Order.objects.filter(pk=waiting.pk).update(state=OrderState.ON_HOLD, total=Decimal("600.00"))
    inbox_store(connector=erp, stream="orders", records=[_order("RACE-2", "RACE-C1")])

    # a credit analyst's release of a held 600 order is in flight when the worker imports
    # another 600 order of the same customer
    with Elsewhere(
        lambda: order_release(actor=get_system_user(), order_id=waiting.pk, reason="Paid")
    ) as release:
        counts = _waits_for(
            release,
            lambda: inbox_process(connector_id=erp.pk, stream="orders"),
            "the credit check did not wait for the release in flight",
        )

    # then the import counted the released order: 1,200 is over the limit, so a credit hold
    assert counts == [{"processed": 1}]
    imported = Order.objects.get(number="RACE-2")
    assert imported.state == OrderState.ON_HOLD
    assert list(imported.holds.values_list("reason__code", flat=True)) == ["CREDIT_LIMIT"]
    assert imported.holds.get().context["released_uninvoiced"] == "600.00"


@pytest.mark.django_db(transaction=True)
def test_two_workers_importing_one_customers_orders_put_the_second_on_credit_hold(
    postgresql, erp, customer_of
):
    customer_of("RACE-C2")
    inbox_store(connector=erp, stream="orders", records=[_order("RACE-A", "RACE-C2")])

    # the first worker's import, touchless on its own, is not yet committed when a second
    # worker takes the next message, for the same customer
    with Elsewhere(lambda: inbox_process(connector_id=erp.pk, stream="orders")) as first:
        assert first.outcome == [{"processed": 1}]
        inbox_store(connector=erp, stream="orders", records=[_order("RACE-B", "RACE-C2")])
        counts = _waits_for(
            first,
            lambda: inbox_process(connector_id=erp.pk, stream="orders"),
            "the second import's credit check did not wait",
        )

    assert counts == [{"processed": 1}]
    states = dict(Order.objects.values_list("number", "state"))
    assert states == {"RACE-A": OrderState.RELEASED, "RACE-B": OrderState.ON_HOLD}
    held = Order.objects.get(number="RACE-B").holds.get()
    assert (held.reason.code, held.context["released_uninvoiced"]) == ("CREDIT_LIMIT", "600.00")


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_skips_the_chunk_another_is_applying(postgresql, erp, customer_of):
    customer_of("RACE-C3")
    customer_of("RACE-C4")
    inbox_store(connector=erp, stream="orders", records=[_order("RACE-X", "RACE-C3")])

    # while one worker is applying the first message (not committed), a second message arrives
    # for another customer and a second worker runs the stream
    with Elsewhere(lambda: inbox_process(connector_id=erp.pk, stream="orders")):
        inbox_store(connector=erp, stream="orders", records=[_order("RACE-Y", "RACE-C4")])
        second, counts = _in_thread(lambda: inbox_process(connector_id=erp.pk, stream="orders"))
        second.join(timeout=10)
        # it did not queue behind the first worker's rows: it applied the other message alone
        assert not second.is_alive(), "the second worker waited for the first one's chunk"
        assert counts == [{"processed": 1}]
        assert Order.objects.filter(number="RACE-Y", state=OrderState.RELEASED).exists()
        taken = InboundMessage.objects.get(external_id="RACE-X")
        # the first worker's message is untouched by the second (no attempt counted for it; the
        # first worker's own count is inside its open transaction here)
        assert (taken.state, taken.unfinished_attempts) == (InboundState.RECEIVED, 0)

    assert set(InboundMessage.objects.values_list("external_id", "state")) == {
        ("RACE-X", InboundState.PROCESSED),
        ("RACE-Y", InboundState.PROCESSED),
    }


@pytest.mark.django_db(transaction=True)
def test_a_run_leaves_alone_listed_retries_that_another_worker_holds_or_has_applied(
    postgresql, erp, customer_of
):
    """A chunk another worker has taken shows in a run's list with its attempt counted, like a
    message whose worker died; the run passes it over in one query instead of message by
    message, and retries only what is still waiting with no worker on it."""
    customer_of("RACE-C5")
    inbox_store(
        connector=erp,
        stream="orders",
        records=[_order(f"RACE-R{n}", "RACE-C5", quantity="1") for n in range(4)],
    )
    InboundMessage.objects.update(unfinished_attempts=1)
    listed = list(InboundMessage.objects.order_by("external_id"))
    applied, held, orphaned = listed[:2], listed[2], listed[3]
    InboundMessage.objects.filter(pk__in=[m.pk for m in applied]).update(
        state=InboundState.PROCESSED, unfinished_attempts=0
    )  # by another worker, since the list was made

    def hold():
        return InboundMessage.objects.select_for_update().get(pk=held.pk)

    with Elsewhere(hold):
        assert _unheld(listed) == [orphaned]
        assert orders_apply_batches(connector_id=erp.pk, limit=10, counts={}) == [orphaned]


@pytest.mark.django_db(transaction=True)
def test_a_chunk_just_taken_is_left_to_its_worker_until_its_connection_is_gone(
    postgresql, erp, customer_of
):
    """Between taking a chunk (its attempts counted and committed) and locking it to apply, a
    worker holds the chunk by its connection alone. Another worker's run leaves it be, where it
    once took it for a dead worker's and applied it message by message; when the connection is
    gone (the worker died), the next run retries it."""
    customer_of("RACE-C7")
    inbox_store(
        connector=erp,
        stream="orders",
        records=[_order(f"RACE-T{n}", "RACE-C7", quantity="1") for n in range(3)],
    )
    took, die = threading.Event(), threading.Event()

    def other_worker():
        try:
            assert len(_take(erp.pk, 10)) == 3  # committed; not yet locked to apply
            took.set()
            die.wait(timeout=30)
        finally:
            connections.close_all()  # it dies before applying them

    thread = threading.Thread(target=other_worker)
    thread.start()
    assert took.wait(timeout=10)
    assert InboundMessage.objects.filter(unfinished_attempts=1).count() == 3

    assert orders_apply_batches(connector_id=erp.pk, limit=10, counts={}) == []

    die.set()
    thread.join(timeout=30)
    retried = orders_apply_batches(connector_id=erp.pk, limit=10, counts={})
    assert sorted(m.external_id for m in retried) == ["RACE-T0", "RACE-T1", "RACE-T2"]


@pytest.mark.django_db(transaction=True)
def test_a_taken_chunk_waits_for_a_passing_row_lock_instead_of_leaving_the_row(
    postgresql, erp, customer_of
):
    """Another worker's scan can hold a row of a chunk just taken for a moment (it locked the row
    it saw waiting, then found it taken). The chunk waits for it and applies every message;
    skipped, the row was left for a later run to apply alone, as a dead worker's."""
    customer_of("RACE-C8")
    inbox_store(
        connector=erp,
        stream="orders",
        records=[_order(f"RACE-W{n}", "RACE-C8", quantity="1") for n in range(3)],
    )
    taken = _take(erp.pk, 10)
    passing = taken[1]
    counts = defaultdict(int)

    def lock_one():
        return InboundMessage.objects.select_for_update().get(pk=passing)

    with Elsewhere(lock_one) as elsewhere:
        _waits_for(
            elsewhere,
            lambda: _apply_orders(taken, counts, SOURCE),
            "the chunk skipped its own row instead of waiting for it",
        )
    assert dict(counts) == {"processed": 3}
    assert set(InboundMessage.objects.values_list("state", flat=True)) == {InboundState.PROCESSED}
    assert Order.objects.filter(number__startswith="RACE-W").count() == 3


@pytest.mark.django_db(transaction=True)
def test_chunks_other_workers_have_taken_do_not_use_up_a_runs_limit(postgresql, erp, customer_of):
    customer_of("RACE-C6")
    inbox_store(
        connector=erp,
        stream="orders",
        records=[_order(f"RACE-L{n}", "RACE-C6", quantity="1") for n in range(4)],
    )
    in_flight = list(InboundMessage.objects.order_by("external_id")[:2])
    InboundMessage.objects.filter(pk__in=[m.pk for m in in_flight]).update(unfinished_attempts=1)

    def apply_elsewhere():  # another worker has taken these two and is applying them
        return list(
            InboundMessage.objects.select_for_update().filter(pk__in=[m.pk for m in in_flight])
        )

    with Elsewhere(apply_elsewhere):
        counts = inbox_process(connector_id=erp.pk, stream="orders", limit=2)

    # the run's two were the two fresh messages, not the other worker's
    assert counts == {"processed": 2}
    assert set(Order.objects.values_list("number", flat=True)) == {"RACE-L2", "RACE-L3"}


@pytest.mark.django_db
def test_the_next_chunk_is_read_off_the_waiting_messages_alone(postgresql, erp):
    """The inbox keeps every message a stream ever applied; taking the next chunk must not walk
    them (with the idempotency key's index it did: 150 ms a chunk at 240,000 applied)."""
    applied = [_order(f"APPLIED-{n}", "C-1") for n in range(300)]
    inbox_store(connector=erp, stream="orders", records=applied)
    InboundMessage.objects.filter(connector=erp).update(state=InboundState.PROCESSED)
    inbox_store(connector=erp, stream="orders", records=[_order("NEXT-1", "C-1")])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE integrations_inboundmessage")
    with CaptureQueriesContext(connection) as queries:
        taken = _take(erp.pk, 500)
    assert InboundMessage.objects.filter(pk__in=taken).get().external_id == "NEXT-1"
    select = next(q["sql"] for q in queries if "SKIP LOCKED" in q["sql"])
    # A table this small may be read whole and sorted; read in order off an index, as a big one
    # is (the planner chose the idempotency key's at 240,000 applied), it must be the index of
    # waiting messages, not a walk through the applied ones.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_sort = off")
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {select}")
        nodes, walked, indexes = [cursor.fetchone()[0][0]["Plan"]], 0, set()
        while nodes:
            node = nodes.pop()
            walked += node.get("Rows Removed by Filter", 0)
            indexes.add(node.get("Index Name"))
            nodes += node.get("Plans", [])
    assert "inbox_waiting" in indexes and walked < 10, (indexes, walked)
