"""The import path's COPY writes (``o2c/pgcopy.py``) store the same rows and the same history rows
(author, reason, type, date) as Django's ``bulk_create`` and simple-history's bulk helpers."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from core import pgcopy
from core.pgcopy import (
    copy_create_ignoring_conflicts,
    copy_create_with_history,
    copy_history,
)
from integrations.models import Connector, InboundMessage
from orders.models import Order, OrderLine

pytestmark = pytest.mark.django_db

UNIQUE = {"id", "number", "external_id", "order_id", "correlation_id"}
HISTORY_OWN = {"history_id", "history_date"}


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; elsewhere these helpers are the bulk calls they mirror")


def _clone(obj, **changes):
    twin = type(obj)(
        **{
            f.attname: getattr(obj, f.attname)
            for f in obj._meta.concrete_fields
            if not f.primary_key
        }
    )
    for name, value in changes.items():
        setattr(twin, name, value)
    return twin


def _rows(model, pks) -> list[dict]:
    rows = model.objects.filter(pk__in=pks).order_by("pk").values()
    return [{k: v for k, v in row.items() if k not in UNIQUE} for row in rows]


def _history(model, pks) -> list[dict]:
    rows = model.history.filter(id__in=pks).order_by("id", "history_id").values()
    return [{k: v for k, v in row.items() if k not in UNIQUE | HISTORY_OWN} for row in rows]


def _twins(order, tag: str, actor):
    twin = _clone(order, number=f"TWIN-{tag}", external_id=f"TWIN-{tag}")
    # a fresh correlation id, as a new order gets
    twin.correlation_id = Order._meta.get_field("correlation_id").get_default()
    twin._history_user = actor
    twin._change_reason = "Imported from the twin feed"
    twin._history_date = order.received_at
    return twin


def test_orders_and_lines_copied_match_bulk_create_with_history(postgresql, make_order, cs_user):
    order = make_order()
    django_order, copied_order = _twins(order, "D", cs_user), _twins(order, "C", cs_user)

    bulk_create_with_history([django_order], Order, default_user=cs_user)
    copy_create_with_history(Order, [copied_order], default_user=cs_user)

    assert copied_order.pk and copied_order.pk != django_order.pk
    assert not copied_order._state.adding
    assert _rows(Order, [copied_order.pk]) == _rows(Order, [django_order.pk])
    assert _history(Order, [copied_order.pk]) == _history(Order, [django_order.pk])
    assert Order.history.get(id=copied_order.pk).history_date == order.received_at

    lines = list(order.lines.order_by("line_number"))
    django_lines = [_clone(line, order_id=django_order.pk) for line in lines]
    copied_lines = [_clone(line, order_id=copied_order.pk) for line in lines]
    for line in copied_lines:  # no reason on the lines: both write NULL, from the default
        line._history_user = cs_user
    for line in django_lines:
        line._history_user = cs_user
    bulk_create_with_history(django_lines, OrderLine, default_user=cs_user)
    copy_create_with_history(OrderLine, copied_lines, default_user=cs_user)

    assert _rows(OrderLine, [line.pk for line in copied_lines]) == _rows(
        OrderLine, [line.pk for line in django_lines]
    )
    copied_history = _history(OrderLine, [line.pk for line in copied_lines])
    assert copied_history == _history(OrderLine, [line.pk for line in django_lines])
    assert {(row["history_type"], row["history_change_reason"]) for row in copied_history} == {
        ("+", None)
    }


def test_a_move_s_history_copied_matches_bulk_history_create(postgresql, make_order, superuser):
    first, second = make_order(), make_order()
    at = timezone.now() - timedelta(minutes=5)
    for order in (first, second):
        order.released_at = at
        order._history_user = superuser
        order._change_reason = "Released: no hold"
        order._history_date = at

    Order.history.bulk_history_create([first], update=True, default_user=superuser)
    copy_history(Order, [second], update=True, default_user=superuser)

    django_row = Order.history.filter(id=first.pk).latest("history_id")
    copied_row = Order.history.filter(id=second.pk).latest("history_id")
    for row in (django_row, copied_row):
        assert (row.history_type, row.history_change_reason, row.history_user_id) == (
            "~",
            "Released: no hold",
            superuser.pk,
        )
        assert row.history_date == at and row.released_at == at


def test_history_written_from_the_stored_rows_matches_the_copied(
    postgresql, make_order, superuser, cs_user
):
    """``copy_history(..., stored=True)`` has PostgreSQL copy the tracked columns from the rows
    just written: the same history rows as it writes from the objects by COPY, each with its own
    author, reason and time, in the objects' order."""
    copied, selected = [make_order(), make_order()], [make_order(), make_order()]
    at = timezone.now() - timedelta(minutes=5)
    for n, order in enumerate([*copied, *selected]):
        order.released_at = at
        order.save(update_fields=["released_at"])  # stored as the objects stand
        order._history_user = (superuser, cs_user)[n % 2]
        order._change_reason = f"Released: no hold ({n % 2})"
    copied[1]._history_date = selected[1]._history_date = at
    # the second of each pair takes the defaults its object does not carry
    del copied[1]._history_user, selected[1]._history_user

    copy_history(Order, copied, update=True, default_user=superuser)
    copy_history(Order, selected, update=True, default_user=superuser, stored=True)

    def written(orders):
        """Each order's newest history row: its tracked columns against the order's stored row,
        and what the history adds."""
        rows = []
        for order in orders:
            row = Order.history.filter(id=order.pk).latest("history_id")
            tracked = [f.attname for f in Order.history.model.tracked_fields]
            stored = Order.objects.filter(pk=order.pk).values(*tracked).get()
            assert {k: getattr(row, k) for k in tracked} == stored
            rows.append(
                (row.history_type, row.history_change_reason, row.history_user_id, row.history_date)
            )
        return rows

    assert written(selected) == [
        ("~", "Released: no hold (0)", superuser.pk, written(selected)[0][3]),
        ("~", "Released: no hold (1)", superuser.pk, at),
    ]
    assert [row[:3] for row in written(selected)] == [row[:3] for row in written(copied)]
    assert written(copied)[1][3] == at
    # the default time is the call's own, shared by its rows, as copy_history's
    assert written(selected)[0][3] > at
    ids = [Order.history.filter(id=o.pk).latest("history_id").history_id for o in selected]
    assert ids == sorted(ids)


def test_json_history_from_the_stored_rows_matches_the_copied(postgresql, superuser):
    from integrations.models import OutboundMessage

    connector = Connector.objects.create(name="hist-erp", kind="erp", base_url="http://127.0.0.1:9")
    payload = {"invoice": "INV-É-42", "amount": "120.50", "why": ["quote ' \\ \t"], "n": None}
    messages = [
        OutboundMessage.objects.create(
            connector=connector,
            topic="cash_application",
            key=f"hist-{name}",
            payload=payload,
            created_at=timezone.now(),
            last_error="line one\nline two",
        )
        for name in ("copied", "selected")
    ]
    copy_history(OutboundMessage, messages[:1], default_user=superuser, default_change_reason="r")
    copy_history(
        OutboundMessage,
        messages[1:],
        default_user=superuser,
        default_change_reason="r",
        stored=True,
    )
    copied, selected = (
        OutboundMessage.history.filter(id=m.pk, history_change_reason="r").get() for m in messages
    )
    same = ["payload", "last_error", "topic", "state", "attempts", "history_type"]
    assert [getattr(selected, f) for f in same] == [getattr(copied, f) for f in same]
    assert (selected.history_user_id, selected.key) == (superuser.pk, "hist-selected")
    assert selected.payload == payload and selected.history_type == "+"


def test_json_and_uuid_columns_copied_match_bulk_create(postgresql, superuser):
    connector = Connector.objects.create(name="copy-erp", kind="erp", base_url="http://127.0.0.1:9")
    payload = {"id": "A-1", "lines": [{"sku": "É-42", "quantity": "2.500"}], "note": None}
    received = timezone.now()

    def message(external_id):
        return InboundMessage(
            connector=connector,
            stream="orders",
            external_id=external_id,
            payload=payload,
            payload_hash="h" * 64,
            received_at=received,
            last_error="quote ' backslash \\ tab \t newline \n",
        )

    django_message, copied_message = message("D"), message("C")
    bulk_create_with_history([django_message], InboundMessage, default_user=superuser)
    copy_create_with_history(InboundMessage, [copied_message], default_user=superuser)

    assert _rows(InboundMessage, [copied_message.pk]) == _rows(InboundMessage, [django_message.pk])
    copied = InboundMessage.objects.get(pk=copied_message.pk)
    assert copied.payload == payload and copied.last_error == django_message.last_error
    assert copied.correlation_id == copied_message.correlation_id
    assert _history(InboundMessage, [copied_message.pk]) == _history(
        InboundMessage, [django_message.pk]
    )


@pytest.mark.parametrize("staged_from", [1, 1000], ids=["staged", "small call: bulk_create"])
def test_staged_copy_ignores_conflicts_as_bulk_create_does(postgresql, monkeypatch, staged_from):
    """Stored messages by COPY through a staging table: the same rows as ``bulk_create(...,
    ignore_conflicts=True)``; a key already stored is left as it was, and of a key repeated in
    one call the first is kept — also on a second call in the same transaction."""
    monkeypatch.setattr(pgcopy, "STAGED_FROM", staged_from)
    connector = Connector.objects.create(
        name="stage-erp", kind="erp", base_url="http://127.0.0.1:9"
    )
    received = timezone.now()

    def message(external_id, note, version=1):
        return InboundMessage(
            connector=connector,
            stream="orders",
            external_id=external_id,
            version=version,
            payload={"id": external_id, "note": note, "lines": [{"sku": "É-42"}]},
            payload_hash=note[:64],
            received_at=received,
            last_error="quote ' backslash \\ tab \t newline \n",
        )

    InboundMessage.objects.bulk_create([message("OLD", "stored before")])
    batch = [message("OLD", "a repeat"), message("NEW", "first"), message("NEW", "second")]
    twins = [message("D-OLD", "a"), message("D-NEW", "first"), message("D-NEW", "second")]

    with transaction.atomic():
        copy_create_ignoring_conflicts(InboundMessage, batch)
        copy_create_ignoring_conflicts(InboundMessage, [message("NEW", "third", version=2)])
    InboundMessage.objects.bulk_create(twins, ignore_conflicts=True)

    stored = InboundMessage.objects.filter(external_id__in=["OLD", "NEW"]).order_by("version", "pk")
    assert [(m.external_id, m.version, m.payload["note"]) for m in stored] == [
        ("OLD", 1, "stored before"),
        ("NEW", 1, "first"),
        ("NEW", 2, "third"),
    ]
    assert stored[1].last_error == "quote ' backslash \\ tab \t newline \n"
    new = InboundMessage.objects.get(external_id="NEW", version=1)
    twin = InboundMessage.objects.get(external_id="D-NEW")
    assert _rows(InboundMessage, [new.pk]) == [
        {**row, "payload": {**row["payload"], "id": "NEW"}}
        for row in _rows(InboundMessage, [twin.pk])
    ]


def test_allocated_ids_are_fresh_and_rows_referring_to_them_can_go_in_first(make_order, cs_user):
    """The import writes an order's lines before the order itself (its row goes in once, in its
    concluded state): the ids it is given must be unused, and the lines' foreign key waits for
    the commit. On SQLite (development) as on PostgreSQL."""
    existing = make_order()
    with transaction.atomic():
        ids = pgcopy.allocate_ids(Order, 3)
        assert len(set(ids)) == 3 and min(ids) > existing.pk
        line = _clone(existing.lines.first(), order_id=ids[0])
        pgcopy.copy_create(OrderLine, [line])  # before its order
        order = _clone(existing, number="ALLOC-1", external_id="ALLOC-1")
        order.pk = ids[0]
        pgcopy.copy_create(Order, [order])
    assert Order.objects.get(number="ALLOC-1").pk == ids[0]
    assert OrderLine.objects.get(pk=line.pk).order_id == ids[0]
    later = make_order()
    assert later.pk > ids[0]  # the table's own numbering moved past the id inserted


@pytest.mark.django_db(transaction=True)  # a real commit, where deferred foreign keys are checked
def test_an_allocated_id_nobody_inserts_fails_the_lines_at_commit(make_order):
    existing = make_order()
    with pytest.raises(IntegrityError), transaction.atomic():
        (missing,) = pgcopy.allocate_ids(Order, 1)
        pgcopy.copy_create(OrderLine, [_clone(existing.lines.first(), order_id=missing)])
    assert not OrderLine.objects.filter(order_id=missing).exists()


def test_the_positional_maker_makes_what_the_keyword_constructor_makes(make_order, cs_user):
    """Every column as the model's own constructor sets it, related objects cached alike, and a
    callable default (the correlation id) drawn afresh for each instance."""
    existing = make_order()
    line = existing.lines.first()
    values = {
        "number": "MK-1",
        "channel": "edi",
        "customer": existing.customer,
        "ship_to_id": existing.ship_to_id,
        "received_at": existing.received_at,
        "entered_by": cs_user,
        "last_edited_by": cs_user,
    }
    made = pgcopy.maker(Order, "customer", "entered_by", "last_edited_by")
    first, second = made(**values), made(**values)
    expected = Order(**values)
    columns = [f.attname for f in Order._meta.concrete_fields if f.attname != "correlation_id"]
    assert [getattr(first, c) for c in columns] == [getattr(expected, c) for c in columns]
    assert first.correlation_id != second.correlation_id
    assert first.customer is existing.customer and first._state.adding
    assert first.state == expected.state == "received"

    item_line = pgcopy.maker(OrderLine, "item")(item=line.item, line_number=3, ordered_qty=2)
    assert item_line.item is line.item and item_line.item_id == line.item_id
    assert item_line.unit_price == OrderLine(item=line.item).unit_price


def test_rows_updated_set_wise_match_bulk_update(postgresql):
    connector = Connector.objects.create(name="upd-erp", kind="erp", base_url="http://127.0.0.1:9")
    twins = [
        InboundMessage.objects.create(
            connector=connector,
            stream="orders",
            external_id=name,
            payload={"id": name},
            payload_hash="h" * 64,
            received_at=timezone.now(),
        )
        for name in ("bulk", "rows")
    ]
    for message in twins:  # each row its own values: JSON, text to quote, a state, a null
        message.payload = {"id": message.external_id, "lines": [{"sku": "É-42", "n": None}]}
        message.last_error = f"quote ' backslash \\ tab \t {message.external_id}"
        message.mark_dead(error=message.last_error)
        message.attempts = 3
        message.processed_at = None
    fields = ["payload", "last_error", "state", "attempts", "processed_at"]
    InboundMessage.objects.bulk_update([twins[0]], fields)
    pgcopy.update_rows(InboundMessage, [twins[1]], fields)

    bulk, rows = InboundMessage.objects.filter(pk__in=[m.pk for m in twins]).order_by("pk")
    for field in fields:
        expected = getattr(bulk, field)
        if field in ("payload", "last_error"):
            expected = getattr(twins[1], field)
        assert getattr(rows, field) == expected, field
    assert rows.state == "dead" and rows.attempts == 3
