"""EDI intake on PostgreSQL: an 850 becomes an order through the same inbox, rules and holds as
any other, in the item's base unit and with its allowances; a repeat changes nothing; a bad set
is rejected in the 997 and kept as a dead letter while its neighbours apply; an 860 amends; a
partner's drop folder is read once and the 997 lands in its outbound folder."""

import functools
import importlib
import threading
from decimal import Decimal

import pytest
from django.apps import apps as django_apps
from django.core.management import call_command
from django.db import connection

from exceptions.models import ACTIVE_STATES, Hold
from integrations.edi import x12
from integrations.edi.models import ControlNumber, Document, Interchange, TradingPartner
from integrations.edi.services import edi_receive, edi_send
from integrations.edi.transport import poll_folder
from integrations.models import Connector, InboundMessage, InboundState, OutboundMessage
from integrations.services import inbox_process, inbox_replay, outbox_relay
from orders.models import CustomerItem, InventoryPosition, Item, ItemUnit, Order
from tests.edi.samples import interchange, po_850
from tests.fixtures.factories import CustomerFactory, ItemFactory, ShipToFactory, WarehouseFactory
from tests.fixtures.users import make_user

pytestmark = pytest.mark.django_db


_edi_reasons = importlib.import_module("integrations.migrations.0007_edi_overdue_reasons_schedule")


@pytest.fixture
def partner(hold_policy, settings, tmp_path):
    settings.O2C_EDI_DIR = tmp_path
    _edi_reasons.seed(django_apps, None)  # re-made after transactional flushes
    customer = CustomerFactory(
        number="C-ACME", external_id="ACME", source_system="erp", credit_limit=Decimal("100000")
    )
    ShipToFactory(customer=customer, code="DOCK1", gln="0614141000012")
    warehouse = WarehouseFactory()
    a = ItemFactory(sku="SKU-A", uom="EA", upc="012345678905", list_price=Decimal("10"))
    b = ItemFactory(sku="SKU-B", uom="EA", list_price=Decimal("3.5"))
    ItemUnit.objects.create(item=a, uom="CA", factor=Decimal("12"))
    CustomerItem.objects.create(customer=customer, buyer_part="CUST-77", item=b)
    for item in (a, b):
        InventoryPosition.objects.create(
            item=item, warehouse=warehouse, erp_on_hand=1000, wms_on_hand=1000, allocated=0,
            as_of="2026-12-01T00:00:00Z",
        )  # fmt: skip
    connector = Connector.objects.create(name="edi", kind="edi", base_url="http://127.0.0.1:9")
    return TradingPartner.objects.create(
        name="acme", customer=customer, connector=connector, isa_qualifier="ZZ",
        isa_id="ACMEBUY", gs_id="ACMEBUY", item_qualifiers="BP,VP,UP",
        inbound_folder="acme/in", outbound_folder="acme/out",
    )  # fmt: skip


def _receive(text, capture):
    with capture(execute=False):
        received = edi_receive(raw=text, via="test")
    return received


def _apply(partner):
    return inbox_process(connector_id=partner.connector_id, stream="orders")


def _acks(partner):
    """The 997s queued for the partner, read back with o2c's own reader."""
    return [
        x12.read(m.payload["x12"])
        for m in OutboundMessage.objects.filter(topic="edi", connector=partner.connector).order_by(
            "pk"
        )
    ]


def test_an_850_becomes_an_order_in_base_units_with_its_allowances(
    partner, django_capture_on_commit_callbacks
):
    lines = [
        ("1", "2", "CA", "120.00", [("UP", "012345678905")], [["SAC", "A", "C310", "", "", "", "R", "10"]]),
        ("2", "5", "EA", "3.50", [("BP", "CUST-77"), ("VP", "NOPE")]),
    ]  # fmt: skip
    text = interchange(
        [("PO", 1, [("850", "0001", po_850("PO-1001", lines=lines, amount="233.50"))])]
    )
    received = _receive(text, django_capture_on_commit_callbacks)
    assert received.created and received.interchange.state == "accepted"
    assert _apply(partner) == {"processed": 1}
    order = Order.objects.get(number="ACME-PO-1001")
    assert order.channel == "edi" and order.customer.number == "C-ACME"
    assert order.ship_to.code == "DOCK1" and str(order.requested_date) == "2026-12-15"
    got = sorted((line.item.sku, line.ordered_qty, line.unit_price) for line in order.lines.all())
    # 2 cases of 12 at 120.00 a case, 10 % off: 24 eaches at 9.00; the buyer's part CUST-77
    assert got == [("SKU-A", Decimal("24.000"), Decimal("9.0000")),
                   ("SKU-B", Decimal("5.000"), Decimal("3.5000"))]  # fmt: skip
    document = Document.objects.get(interchange=received.interchange)
    assert document.reference == "PO-1001" and document.message.state == InboundState.PROCESSED
    [ack] = _acks(partner)
    assert ack.receiver == "ACMEBUY" and ack.control == "000000001"
    rows = [s.format("", "*", ">") for s in ack.sets[0].segments]
    assert rows[1:3] == ["AK1*PO*1", "AK2*850*0001"] and "AK9*A*1*1*1" in rows


def test_the_same_interchange_twice_changes_nothing(partner, django_capture_on_commit_callbacks):
    text = interchange([("PO", 1, [("850", "0001", po_850("PO-2"))])])
    first = _receive(text, django_capture_on_commit_callbacks)
    _apply(partner)
    sent = OutboundMessage.objects.filter(topic="edi").count()  # the 997 and the 855
    again = _receive(text.replace("\n", ""), django_capture_on_commit_callbacks)
    _apply(partner)
    assert not again.created and again.interchange.pk == first.interchange.pk
    assert Order.objects.filter(channel="edi").count() == 1
    assert OutboundMessage.objects.filter(topic="edi").count() == sent == 2
    assert InboundMessage.objects.filter(connector=partner.connector).count() == 1


def test_a_new_file_under_a_used_control_number_is_a_dead_letter_not_a_repeat(
    partner, django_capture_on_commit_callbacks
):
    first = _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-7"))])]),
        django_capture_on_commit_callbacks,
    )
    _apply(partner)
    # when the partner's counter resets and new orders come under the same ISA13
    reused = interchange([("PO", 2, [("850", "0001", po_850("PO-8"))])])
    again = _receive(reused, django_capture_on_commit_callbacks)
    # then it is refused, kept as a dead letter saying why, and nothing of it is lost unseen
    assert again.error.startswith("ISA13: control number 000000101 from ZZ:ACMEBUY was used by ")
    assert f"interchange {first.interchange.pk} received " in again.error
    dead = InboundMessage.objects.get(stream="interchanges", state=InboundState.DEAD)
    assert dead.payload["x12"] == reused and "with other content" in dead.last_error
    assert Interchange.objects.filter(direction="in").count() == 1
    assert list(Order.objects.filter(channel="edi").values_list("number", flat=True)) == [
        "ACME-PO-7"
    ]


def test_a_file_one_partner_delivers_in_anothers_name_stays_refused_when_replayed(
    partner, django_capture_on_commit_callbacks
):
    # given a second partner, and the first's post carrying an interchange in the second's name
    other = TradingPartner.objects.create(
        name="globex", customer=CustomerFactory(), connector=partner.connector,
        isa_qualifier="ZZ", isa_id="GLOBEXBUY", gs_id="GLOBEXBUY",
        inbound_folder="globex/in", outbound_folder="globex/out",
    )  # fmt: skip
    text = interchange([("PO", 1, [("850", "0001", po_850("PO-9"))])], sender=("ZZ", other.isa_id))
    with django_capture_on_commit_callbacks(execute=False):
        received = edi_receive(raw=text, via="http", partner=partner)
    # then it is refused saying whose name it bears and who delivered it
    assert received.error == "ISA06: sender ZZ:GLOBEXBUY is globex, but acme delivered it"
    dead = InboundMessage.objects.get(stream="interchanges", state=InboundState.DEAD)
    assert dead.payload["partner"] == "acme"
    # and an admin's replay judges it as acme's again: still refused, nothing taken in
    inbox_replay(message_ids=[dead.pk], actor=make_user("admin", "integration_admin"), reason="r")
    inbox_process(connector_id=partner.connector_id, stream="interchanges")
    dead.refresh_from_db()
    assert dead.state == InboundState.DEAD and "but acme delivered it" in dead.last_error
    assert not Interchange.objects.exists()


def test_a_bad_set_is_rejected_while_its_neighbour_applies(
    partner, django_capture_on_commit_callbacks
):
    bad = po_850("PO-3")
    bad[0][5] = "2026-12-05"  # BEG05 written with dashes
    text = interchange([("PO", 4, [("850", "0001", bad), ("850", "0002", po_850("PO-4"))])])
    received = _receive(text, django_capture_on_commit_callbacks)
    assert received.interchange.state == "partly"
    _apply(partner)
    assert list(Order.objects.values_list("number", flat=True)) == ["ACME-PO-4"]
    dead = InboundMessage.objects.get(state=InboundState.DEAD)
    assert "BEG (segment 2, element 05)" in dead.last_error and "date" in dead.last_error
    rows = [s.format("", "*", ">") for s in _acks(partner)[0].sets[0].segments]
    assert "AK3*BEG*2**8" in rows and "AK4*5*373*8*2026-12-05" in rows
    assert "AK5*R*5" in rows and "AK5*A" in rows and "AK9*P*2*2*1" in rows


def test_an_unknown_item_is_a_dead_letter_naming_the_element(
    partner, django_capture_on_commit_callbacks
):
    lines = [("1", "1", "EA", "5.00", [("BP", "NOT-OURS")])]
    received = _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-5", lines=lines))])]),
        django_capture_on_commit_callbacks,
    )
    _apply(partner)
    assert not Order.objects.exists()
    dead = InboundMessage.objects.get(connector=partner.connector)
    assert dead.state == InboundState.DEAD
    assert "PO1 (segment 10, element 07)" in dead.last_error and "BP “NOT-OURS”" in dead.last_error
    assert received.outcomes[0].state == "rejected"
    # syntax was sound: the 997 accepts the set; o2c's refusal is its own
    assert "AK9*A*1*1*1" in [s.format("", "*", ">") for s in _acks(partner)[0].sets[0].segments]


def test_an_unknown_ship_to_is_held_for_master_data_never_guessed(
    partner, django_capture_on_commit_callbacks
):
    text = interchange([("PO", 1, [("850", "0001", po_850("PO-6", ship_to=("92", "NOWHERE")))])])
    _receive(text, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=False):
        _apply(partner)
    order = Order.objects.get(number="ACME-PO-6")
    assert order.ship_to is None
    hold = Hold.objects.get(
        order=order, state__in=ACTIVE_STATES, reason__code="MASTER_DATA_MISSING"
    )
    assert "ship_to" in hold.context["missing"]
    message = Document.objects.get(reference="PO-6").message
    assert message.payload["edi"]["ship_to_unknown"] == "N1 (segment 7): 92 “NOWHERE”"


def test_an_860_after_release_amends_the_order_and_tells_the_warehouse(
    partner, django_capture_on_commit_callbacks
):
    Connector.objects.create(name="wms", kind="wms", base_url="http://127.0.0.1:9")
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-7"))])]),
        django_capture_on_commit_callbacks,
    )
    _apply(partner)
    assert Order.objects.get(number="ACME-PO-7").state == "released"
    change = [
        ["BCH", "04", "SA", "PO-7", "", "1", "20261206"],
        ["POC", "1", "QI", "3", "", "CA", "120.00"],
    ]
    _receive(
        interchange([("PC", 2, [("860", "0001", change)])], control="000000102"),
        django_capture_on_commit_callbacks,
    )
    _apply(partner)
    order = Order.objects.get(number="ACME-PO-7")
    messages = InboundMessage.objects.order_by("pk").values_list("version", "state", "last_error")
    assert list(messages)[-1][:2] == (2, InboundState.PROCESSED), list(messages)
    assert order.source_version == 2
    assert [line.ordered_qty for line in order.lines.all() if not line.cancelled] == [
        Decimal("36.000")
    ]  # 3 cases of 12
    topics = list(
        OutboundMessage.objects.filter(connector__kind="wms").order_by("pk").values_list("topic")
    )
    assert topics == [("order_release",), ("order_change",)]  # the WMS hears of it once


def test_control_numbers_run_without_gaps_under_concurrency(partner):
    """Eight writers at once: each interchange gets its own numbers, and together they leave no
    gap (the partner's counter row is locked)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    ControlNumber.objects.create(partner=partner, last=0)
    from django.db import transaction

    def send():
        try:
            with transaction.atomic():
                edi_send(partner=partner, documents=[("997", [["AK1", "PO", "1"]], "")])
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    numbers = sorted(int(n) for n in Interchange.objects.values_list("control_number", flat=True))
    # each interchange takes 3 numbers (ISA13, GS06, ST02)
    assert numbers == list(range(1, 25, 3))
    assert ControlNumber.objects.get(partner=partner).last == 24


test_control_numbers_run_without_gaps_under_concurrency = pytest.mark.django_db(transaction=True)(
    test_control_numbers_run_without_gaps_under_concurrency
)


def test_a_drop_folder_is_read_once_and_the_997_goes_to_the_outbound_folder(
    partner, settings, django_capture_on_commit_callbacks
):
    inbound = settings.O2C_EDI_DIR / "acme" / "in"
    inbound.mkdir(parents=True)
    (inbound / "0001.x12").write_text(interchange([("PO", 1, [("850", "0001", po_850("PO-8"))])]))
    (inbound / "0002.x12").write_text("this is not an interchange")
    with django_capture_on_commit_callbacks(execute=False):
        assert poll_folder(partner) == {"files": 2, "refused": 1}
    assert sorted(p.name for p in (inbound / "processed").iterdir()) == ["0001.x12", "0002.x12"]
    assert not [p for p in inbound.iterdir() if p.is_file()]
    refused = InboundMessage.objects.get(stream="interchanges")
    assert refused.state == InboundState.DEAD and "ISA" in refused.last_error
    assert refused.payload["file"] == "0002.x12"
    outbox_relay()
    [written] = (settings.O2C_EDI_DIR / "acme" / "out").iterdir()
    assert written.name.startswith("acme-000000001-997")
    assert x12.read(written.read_text()).sets[0].code == "997"
    assert Interchange.objects.get(direction="out").state == "sent"


def _queued(callbacks) -> list[tuple[str, tuple]]:
    """The tasks the captured commit callbacks would queue: (task name, arguments)."""
    return sorted(
        (callback.func.__self__.name.rsplit(".", 1)[-1], callback.args)
        for callback in callbacks
        if isinstance(callback, functools.partial) and hasattr(callback.func.__self__, "name")
    )


def test_a_poll_queues_one_stream_run_and_one_relay_for_all_its_files(
    partner, settings, monkeypatch, django_capture_on_commit_callbacks
):
    inbound = settings.O2C_EDI_DIR / "acme" / "in"
    inbound.mkdir(parents=True)
    for n in range(3):
        text = interchange(
            [("PO", 1, [("850", "0001", po_850(f"PO-Q{n}"))])], control=f"{n + 1:09d}"
        )
        (inbound / f"{n:04d}.x12").write_text(text)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert poll_folder(partner) == {"files": 3, "refused": 0}
    # three files, three 997s: one run applies all their orders and one relay sends the 997s
    assert _queued(callbacks) == [
        ("inbox_process_task", (partner.connector_id, "orders")),
        ("outbox_relay_task", ()),
    ]
    assert OutboundMessage.objects.filter(topic="edi").count() == 3
    assert _apply(partner) == {"processed": 3}

    # a long poll queues its runs as it goes, not only at its end
    monkeypatch.setattr("integrations.edi.transport.FILES_PER_RUN", 2)
    for n in range(3, 6):
        text = interchange(
            [("PO", 1, [("850", "0001", po_850(f"PO-Q{n}"))])], control=f"{n + 1:09d}"
        )
        (inbound / f"{n:04d}.x12").write_text(text)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assert poll_folder(partner) == {"files": 3, "refused": 0}
    assert [name for name, _ in _queued(callbacks)] == [
        "inbox_process_task", "inbox_process_task", "outbox_relay_task", "outbox_relay_task",
    ]  # fmt: skip


def test_edi_import_reports_each_set(partner, tmp_path, capsys, django_capture_on_commit_callbacks):
    path = tmp_path / "onboard.x12"
    bad = po_850("PO-10")
    bad[0][1] = "99"  # BEG01: not a purpose code
    path.write_text(
        interchange([("PO", 1, [("850", "0001", po_850("PO-9")), ("850", "0002", bad)])])
    )
    with django_capture_on_commit_callbacks(execute=False):
        call_command("edi_import", str(path), "--partner", "acme")
    out = capsys.readouterr().out
    assert "interchange 000000101 from acme: Partly accepted" in out
    assert "850 #0001: accepted: inbox message" in out and "order PO-9" in out
    assert "850 #0002: rejected" in out and "BEG (segment 2, element 01)" in out


def test_a_dead_set_replayed_after_the_fix_becomes_the_order(
    partner, cs_user, django_capture_on_commit_callbacks
):
    lines = [("1", "3", "EA", "5.00", [("BP", "NEW-PART")])]
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-11", lines=lines))])]),
        django_capture_on_commit_callbacks,
    )
    dead = InboundMessage.objects.get(connector=partner.connector, stream="sets")
    assert dead.state == InboundState.DEAD and "NEW-PART" in dead.last_error
    # replayed before the fix: refused again, saying so
    inbox_replay(message_ids=[dead.pk], actor=cs_user, reason="retry", process=False)
    inbox_process(connector_id=partner.connector_id, stream="sets")
    dead.refresh_from_db()
    assert dead.state == InboundState.DEAD and dead.last_error.startswith(
        "still refused: 850 #0001: PO1 (segment 10"
    )
    CustomerItem.objects.create(
        customer=partner.customer, buyer_part="NEW-PART", item=Item.objects.get(sku="SKU-B")
    )
    inbox_replay(message_ids=[dead.pk], actor=cs_user, reason="Part number set up", process=False)
    with django_capture_on_commit_callbacks(execute=False):
        inbox_process(connector_id=partner.connector_id, stream="sets")
        _apply(partner)
    dead.refresh_from_db()
    assert dead.state == InboundState.PROCESSED
    order = Order.objects.get(number="ACME-PO-11")
    assert [(line.item.sku, line.ordered_qty) for line in order.lines.all()] == [
        ("SKU-B", Decimal("3.000"))
    ]


def test_a_file_from_an_unknown_sender_is_kept_and_replayed_once_the_partner_exists(
    partner, cs_user, django_capture_on_commit_callbacks
):
    text = interchange([("PO", 1, [("850", "0001", po_850("PO-12"))])], sender=("01", "NEWBUYER"))
    received = _receive(text, django_capture_on_commit_callbacks)
    assert received.error == "ISA06: no trading partner is sender 01:NEWBUYER"
    kept = InboundMessage.objects.get(stream="interchanges")
    assert kept.state == InboundState.DEAD and kept.payload["x12"] == text
    partner.isa_qualifier, partner.isa_id = "01", "NEWBUYER"
    partner.save()
    inbox_replay(message_ids=[kept.pk], actor=cs_user, reason="Partner set up", process=False)
    with django_capture_on_commit_callbacks(execute=False):
        inbox_process(connector_id=partner.connector_id, stream="interchanges")
        _apply(partner)
    kept.refresh_from_db()
    assert kept.state == InboundState.PROCESSED
    assert Order.objects.filter(number="ACME-PO-12").exists()


def test_each_partner_has_its_own_control_numbers(partner):
    other = TradingPartner.objects.create(
        name="globex", customer=partner.customer, connector=partner.connector,
        isa_qualifier="01", isa_id="GLOBEX", gs_id="GLOBEX",
    )  # fmt: skip
    for each in (partner, other, partner):
        edi_send(partner=each, documents=[("997", [["AK1", "PO", "1"]], "")])
    numbers = sorted(Interchange.objects.values_list("receiver", "control_number"))
    assert numbers == [("01:GLOBEX", "000000001"), ("ZZ:ACMEBUY", "000000001"),
                       ("ZZ:ACMEBUY", "000000004")]  # fmt: skip


def test_a_case_price_that_does_not_divide_keeps_the_partners_total(
    partner, django_capture_on_commit_callbacks
):
    """100 cases at 10.00 a case of 12: 1,200 eaches at 0.8333 each to the 4th decimal, but the
    order's AMT*TT of 1,000.00 is checked against the partner's own arithmetic, not the rounded
    price times 1,200 (999.96)."""
    lines = [("1", "100", "CA", "10.00", [("UP", "012345678905")])]
    _receive(
        interchange([("PO", 1, [("850", "0001", po_850("PO-13", lines=lines, amount="1000.00"))])]),
        django_capture_on_commit_callbacks,
    )
    _apply(partner)
    line = Order.objects.get(number="ACME-PO-13").lines.get()
    assert (line.ordered_qty, line.unit_price) == (Decimal("1200.000"), Decimal("0.8333"))


def test_files_that_are_not_interchanges_are_refused_naming_why(
    partner, django_capture_on_commit_callbacks
):
    good = interchange([("PO", 1, [("850", "0001", po_850("PO-14"))])])
    broken = {
        "a stray GE": good.replace("GE*1*1~", "GE*1*1~\nGE*1*1~"),
        "a second IEA": good + good[good.index("IEA") :],
        "a long ISA13": good.replace("*000000101*0*T", "*10000000101*T"),
        "addressed elsewhere": good.replace("*ZZ*O2CDIST        ", "*ZZ*SOMEONEELSE    "),
    }
    for what, text in broken.items():
        received = _receive(text, django_capture_on_commit_callbacks)
        assert received.error and received.interchange is None, what
    assert not Order.objects.exists() and not Interchange.objects.exists()
    kept = InboundMessage.objects.filter(stream="interchanges", state=InboundState.DEAD)
    assert kept.count() == len(broken)
    assert any("not to o2c" in m.last_error for m in kept)
