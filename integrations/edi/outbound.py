"""The documents o2c sends a trading partner: the 855 when an EDI order is received or decided,
the 856 for each shipment, the 810 for each released invoice and credit memo. Each is written in
the transaction that makes its business event, once (a document already sent for the same order,
shipment or invoice is not sent again), and only to partners that asked for it."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from orders.models import Item

from ..models import Connector
from .models import Direction, Document, TradingPartner
from .services import edi_send
from .x12 import Body

CENT = Decimal("0.01")
TERMS_DAYS = {"NET15": 15, "NET30": 30, "NET45": 45, "NET60": 60, "PREPAID": 0}


def _number(value: Decimal, places: int = 3) -> str:
    """An X12 R value: no trailing zeros, no exponent."""
    text = f"{Decimal(value):.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def _cents(value: Decimal) -> str:
    """An N2 value: cents without a decimal point."""
    return str(int((Decimal(value) * 100).quantize(Decimal(1), ROUND_HALF_UP)))


def partners_of(orders) -> dict[int, TradingPartner]:
    """Each EDI order's trading partner (order id -> partner): an EDI order's source is an EDI
    connector and its id is the partner's name and PO number."""
    wanted = {}
    for order in orders:
        external = order.external_id or ""
        if order.channel == "edi" and ":" in external:
            wanted[order.pk] = (order.source_system, external.split(":", 1)[0])
    if not wanted:
        return {}
    partners = {  # one query: the partner's connector must be the EDI one the order came from
        (p.connector.name, p.name): p
        for p in TradingPartner.objects.select_related("customer", "connector").filter(
            name__in={name for _, name in wanted.values()},
            connector__name__in={source for source, _ in wanted.values()},
            connector__kind=Connector.Kind.EDI,
            active=True,
        )
    }
    return {pk: partners[key] for pk, key in wanted.items() if key in partners}


def _records(partner: TradingPartner, orders) -> dict[str, dict]:
    """The 850 record each order came from, by order id upstream: found through the 850's
    document (indexed by code and PO number), not by searching stored payloads."""
    documents = Document.objects.filter(
        code="850",
        reference__in=[_po(order) for order in orders],
        interchange__partner=partner,
        interchange__direction=Direction.IN,
        message__isnull=False,
    ).select_related("message")
    return {
        d.message.payload["id"]: d.message.payload
        for d in documents
        if isinstance(d.message.payload, dict) and "lines" in d.message.payload
    }


def _already(code: str, **link) -> set[int]:
    field = next(iter(link))
    return set(
        Document.objects.filter(
            code=code, interchange__direction=Direction.OUT, **{f"{field}__in": link[field]}
        ).values_list(f"{field}_id", flat=True)
    )


def acknowledge(orders, *, decided: bool, states: dict[int, str] | None = None) -> int:
    """855s for EDI ``orders``: at receipt for partners that want them then, and once decided
    (``decided``: released, or cancelled by a settled hold) for the others. ``states`` gives an
    order's state where it is not yet on the object (a transition under way). One interchange
    per partner; returns the 855s queued."""
    partners = partners_of(orders)
    if not partners:
        return 0
    sent = _already("855", order=list(partners))
    by_partner: dict[int, list] = {}
    for order in orders:
        partner = partners.get(order.pk)
        if partner is None or order.pk in sent or not partner.wants_855:
            continue
        at_receipt = partner.ack_855_at == TradingPartner.AckAt.RECEIPT
        if at_receipt == decided:
            continue
        by_partner.setdefault(partner.pk, []).append(order)
    queued = 0
    for group in by_partner.values():
        partner = partners[group[0].pk]
        records = _records(partner, group)
        lines = {order.pk: _lines(order) for order in group}
        items = Item.objects.in_bulk({line.item_id for ls in lines.values() for line in ls})
        documents, links = [], []
        for order in group:
            state = (states or {}).get(order.pk, order.state)
            body = _855(order, lines[order.pk], items, records.get(order.external_id), state)
            documents.append(("855", body, _po(order)))
            links.append({"order": order})
        edi_send(partner=partner, documents=documents, links=links)
        queued += len(documents)
    return queued


def _po(order) -> str:
    return (order.external_id or "").split(":", 1)[-1]


def _lines(order) -> list:
    """The order's lines: in memory for an order imported in this transaction."""
    lines = getattr(order, "imported_lines", None)
    if lines is None:
        lines = list(order.lines.order_by("line_number"))
    return sorted(lines, key=lambda line: line.line_number)


def _855(order, lines, items, record: dict | None, state: str) -> Body:
    """Per line: IA accepted, IQ accepted with a quantity change, IR rejected (a cancelled line,
    or the whole order cancelled)."""
    asked = (record or {}).get("lines", [])
    details = (record or {}).get("edi", {})
    cancelled = state == "cancelled"
    rows, statuses = [], []
    requested = order.requested_date.strftime("%Y%m%d") if order.requested_date else ""
    for index, line in enumerate(lines):
        item = items[line.item_id]
        wanted = asked[index] if index < len(asked) else {}
        ref = str(wanted.get("ref") or line.line_number)
        quantity = Decimal(wanted.get("quantity") or line.ordered_qty)
        if cancelled or line.cancelled:
            status, given = "IR", Decimal(0)
        elif line.ordered_qty != quantity:
            status, given = "IQ", line.ordered_qty
        else:
            status, given = "IA", line.ordered_qty
        statuses.append(status)
        price = line.unit_price if line.unit_price is not None else Decimal(0)
        rows.append(
            ["PO1", ref, _number(quantity), item.uom, _number(price, 4), "", "VP", item.sku]
        )
        rows.append(["ACK", status, _number(given), item.uom, "068", requested])
    kind = (
        "RJ"
        if statuses and set(statuses) == {"IR"} or cancelled
        else "AD"
        if set(statuses) <= {"IA"}
        else "AC"
    )
    header = [
        [
            "BAK",
            "00",
            kind,
            _po(order),
            details.get("po_date") or order.received_at.strftime("%Y%m%d"),
        ],
        ["REF", "VN", order.number],
    ]
    return header + rows + [["CTT", str(len(statuses))]]


def ship_notice(shipment) -> int:
    """The 856 for one shipment of an EDI order: shipment, order, pack and items, with carrier,
    tracking, shipped quantities and lots, and an SSCC-18 on the pack where the partner asks."""
    order = shipment.order
    partner = partners_of([order]).get(order.pk)
    if (
        partner is None
        or not partner.wants_856
        or shipment.pk in _already("856", shipment=[shipment.pk])
    ):
        return 0
    lines = list(shipment.lines.select_related("order_line__item"))
    ship_to = order.ship_to
    rows: Body = [
        ["BSN", "00", (shipment.external_id or str(shipment.pk))[:30],
         shipment.shipped_at.strftime("%Y%m%d"), shipment.shipped_at.strftime("%H%M"), "0001"],
        ["HL", "1", "", "S"],
        ["TD5", "", "2", (shipment.carrier or "")[:80]],
        ["REF", "CN", shipment.tracking_number or "NONE"],
        ["DTM", "011", shipment.shipped_at.strftime("%Y%m%d")],
    ]  # fmt: skip
    if ship_to is not None:
        rows.append(["N1", "ST", ship_to.name[:60], "92", ship_to.code])
    rows += [["HL", "2", "1", "O"], ["PRF", _po(order)], ["HL", "3", "2", "P"]]
    if partner.sscc:
        rows.append(["MAN", "GM", sscc(partner.gs1_prefix, shipment.pk)])
    number = 3
    for line in lines:
        number += 1
        item = line.order_line.item
        lin = ["LIN", "", "VP", item.sku]
        if line.lot:
            lin += ["LT", line.lot]
        rows += [
            ["HL", str(number), "3", "I"],
            lin,
            ["SN1", "", _number(line.quantity), item.uom],
        ]
    rows.append(["CTT", str(number)])
    edi_send(
        partner=partner,
        documents=[("856", rows, _po(order))],
        links=[{"order": order, "shipment": shipment}],
    )
    return 1


def sscc(prefix: str, serial: int) -> str:
    """An SSCC-18: extension digit 0, the GS1 company prefix, the serial reference filling it to
    17 digits, and the GS1 mod-10 check digit."""
    body = ("0" + prefix + str(serial).zfill(16 - len(prefix)))[:17]
    return body + str(check_digit(body))


def check_digit(digits: str) -> int:
    """GS1's: weights 3 and 1 alternating from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def invoice(invoice_obj) -> int:
    """The 810 for a released invoice of an EDI order; totals equal to the invoice."""
    order = invoice_obj.order
    if order is None:
        return 0
    partner = partners_of([order]).get(order.pk)
    if (
        partner is None
        or not partner.wants_810
        or invoice_obj.pk in _already("810", invoice=[invoice_obj.pk])
    ):
        return 0
    lines = [
        (line.line_number, line.quantity, line.order_line.item, line.unit_price)
        for line in invoice_obj.lines.select_related("order_line__item").filter(voided=False)
    ]
    body = _810(invoice_obj, order, "DI", invoice_obj.number, lines, invoice_obj.tax_total,
                invoice_obj.total)  # fmt: skip
    edi_send(
        partner=partner,
        documents=[("810", body, invoice_obj.number)],
        links=[{"order": order, "invoice": invoice_obj}],
    )
    return 1


def credit_memo(memo) -> int:
    """The 810 (transaction type CR) for a credit memo against an EDI order's invoice."""
    order = memo.invoice.order
    if order is None:
        return 0
    partner = partners_of([order]).get(order.pk)
    if partner is None or not partner.wants_810:
        return 0
    if Document.objects.filter(
        code="810", interchange__direction=Direction.OUT, reference=memo.number
    ).exists():
        return 0
    lines = []
    for line in memo.lines.select_related("invoice_line__order_line__item"):
        quantity = line.quantity
        price = (line.amount / quantity).quantize(Decimal("0.0001")) if quantity else line.amount
        lines.append(
            (line.invoice_line.line_number, quantity or Decimal(1),
             line.invoice_line.order_line.item, price)
        )  # fmt: skip
    body = _810(memo.invoice, order, "CR", memo.number, lines, memo.tax_total, memo.total)
    edi_send(
        partner=partner,
        documents=[("810", body, memo.number)],
        links=[{"order": order, "invoice": memo.invoice}],
    )
    return 1


def _810(invoice_obj, order, kind, number, lines, tax, total) -> Body:
    issued = invoice_obj.issued_on.strftime("%Y%m%d")
    rows: Body = [
        ["BIG", issued, number, "", _po(order), "", "", kind],
        ["REF", "VN", order.number],
        ["CUR", "SE", invoice_obj.currency],
    ]
    if order.ship_to is not None:
        rows.append(["N1", "ST", order.ship_to.name[:60], "92", order.ship_to.code])
    days = TERMS_DAYS.get(invoice_obj.payment_terms)
    if days is not None:
        rows.append(
            ["ITD", "01", "3", "", "", "", invoice_obj.due_date.strftime("%Y%m%d"), str(days)]
        )
    for line_number, quantity, item, price in lines:
        rows.append(
            ["IT1", str(line_number), _number(quantity), item.uom, _number(price, 4), "", "VP",
             item.sku]
        )  # fmt: skip
    rows.append(["TDS", _cents(total)])
    if tax:
        rows.append(["TXI", "ST", _number(Decimal(tax), 2)])
    rows.append(["CTT", str(len(lines))])
    return rows
