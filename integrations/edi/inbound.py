"""850 and 860 sets mapped to canonical order records, the shape the ERP's orders arrive in, so an
EDI order goes through the same inbox, rules, holds and history as any other.

Items are named the partner's way (buyer's part, our part, UPC: ``TradingPartner.qualifiers``)
and ordered in any unit in the item's unit table: quantities become the item's base unit and
prices follow. Allowances and charges (SAC) change the unit price. A mapping problem (an item or
unit o2c does not know) is a ``MappingProblem`` naming the segment, its position and element;
the set is then kept as a dead letter, never half-applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from orders.models import CustomerItem, Item, ItemUnit, ShipTo

from .models import TradingPartner
from .syntax import parse_date
from .x12 import SegmentError, TransactionSet, value

CENT = Decimal("0.01")
PRICE = Decimal("0.0001")
#: DTM qualifiers, most telling first, for the order's requested date.
REQUESTED_DATES = ("002", "010", "037", "038")


class MappingProblem(Exception):
    def __init__(self, error: SegmentError):
        super().__init__(error.text())
        self.error = error


@dataclass
class Lookups:
    """The master data an interchange's sets name, read once for all of them."""

    customer_parts: dict[str, str] = field(default_factory=dict)  # buyer's part -> SKU
    upcs: dict[str, str] = field(default_factory=dict)  # UPC -> SKU
    skus: dict[str, str] = field(default_factory=dict)  # SKU -> base unit
    units: dict[tuple[str, str], Decimal] = field(default_factory=dict)  # (SKU, unit) -> factor
    ship_tos: dict[str, str] = field(default_factory=dict)  # code or GLN -> ship-to code

    @classmethod
    def load(
        cls, partner: TradingPartner, sets: list[TransactionSet], skus: set[str] = frozenset()
    ) -> Lookups:
        """``skus``: items named by the orders the sets' 860s change. Each list is one array
        parameter (``__any``): a file of fifty orders names ~200 parts, and as ``__in`` lists
        their binding cost more than the five queries' own work."""
        ids, locations = set(skus), set()
        for transaction_set in sets:
            for segment in transaction_set.segments:
                seg_id = segment.get_seg_id()
                if seg_id in ("PO1", "POC"):
                    positions = (7, 9, 11) if seg_id == "PO1" else (9, 11)
                    ids.update(value(segment, n).upper() for n in positions if value(segment, n))
                elif seg_id == "N1" and value(segment, 1) == "ST":
                    locations.add(value(segment, 4))
        found = cls()
        customer = partner.customer_id
        found.customer_parts = dict(
            CustomerItem.objects.filter(customer_id=customer, buyer_part__any=ids).values_list(
                "buyer_part", "item__sku"
            )
        )
        found.upcs = dict(Item.objects.filter(upc__any=ids).values_list("upc", "sku"))
        skus = ids | set(found.customer_parts.values()) | set(found.upcs.values())
        found.skus = dict(Item.objects.filter(sku__any=skus).values_list("sku", "uom"))
        found.units = {
            (sku, uom): factor
            for sku, uom, factor in ItemUnit.objects.filter(
                item__sku__any=list(found.skus)
            ).values_list("item__sku", "uom", "factor")
        }
        by = "gln" if partner.ship_to_by == TradingPartner.ShipToBy.GLN else "code"
        found.ship_tos = {
            key: code
            for key, code in ShipTo.objects.filter(
                customer_id=customer, **{f"{by}__any": list(locations)}
            ).values_list(by, "code")
        }
        return found


def order_external_id(partner: TradingPartner, po_number: str) -> str:
    """The order's id in the EDI connector's inbox: a PO number is the partner's own, so two
    partners may use the same one."""
    return f"{partner.name}:{po_number}"[:64]


def order_number(partner: TradingPartner, po_number: str) -> str:
    return f"{partner.name[:9].upper()}-{po_number}"[:32]


@dataclass
class _Line:
    ref: str  # PO101: the partner's line number, named again by an 860's POC01
    sku: str
    quantity: Decimal  # in the item's base unit
    #: per base unit, after allowances and charges, unrounded: a case price over 12 eaches is
    #: rounded once, when the record is written, so line totals stay the partner's
    unit_price: Decimal | None
    ordered: str  # as the partner wrote it: "2 CA"
    position: int
    description: str = ""


def map_850(transaction_set: TransactionSet, partner: TradingPartner, found: Lookups) -> dict:
    """The order record of an 850 (raises ``MappingProblem``)."""
    segments = list(enumerate(transaction_set.segments, start=1))
    header = next(s for _, s in segments if s.get_seg_id() == "BEG")
    po_number = value(header, 3)
    details: dict = {
        "po_number": po_number,
        "po_date": value(header, 5),
        "purpose": value(header, 1),
        "po_type": value(header, 2),
        "drop_ship": value(header, 2) == "DS",
        "references": {},
        "allowances": [],
    }
    currency, dates, ship_to, lines = "USD", {}, None, []
    header_sacs: list[tuple[int, object]] = []
    amount_total = count = None
    in_ship_to = False
    for position, segment in segments:
        seg_id = segment.get_seg_id()
        if seg_id != "N1" and seg_id not in ("N2", "N3", "N4", "REF", "PER"):
            in_ship_to = False
        if seg_id == "CUR":
            currency = value(segment, 2)
        elif seg_id == "REF" and not lines:
            details["references"][value(segment, 1)] = value(segment, 2)
        elif seg_id == "PER":
            details["contact"] = value(segment, 2)
        elif seg_id == "DTM":
            dates[value(segment, 1)] = value(segment, 2)
        elif seg_id == "TD5":
            details["carrier"] = value(segment, 3)
            details["routing"] = value(segment, 5)
        elif seg_id == "N1" and value(segment, 1) == "ST":
            in_ship_to = True
            ship_to = (position, segment)
            details["ship_to"] = {"name": value(segment, 2), "qualifier": value(segment, 3),
                                  "id": value(segment, 4)}  # fmt: skip
        elif seg_id == "N3" and in_ship_to:
            details["ship_to"]["address"] = value(segment, 1)
        elif seg_id == "N4" and in_ship_to:
            details["ship_to"].update(
                city=value(segment, 1), state=value(segment, 2), postal_code=value(segment, 3)
            )
        elif seg_id == "PO1":
            lines.append(_po1(position, segment, partner, found))
        elif seg_id == "PID" and lines:
            lines[-1].description = value(segment, 5)
        elif seg_id == "SAC":
            if lines:
                _line_sac(lines[-1], position, segment, details)
            else:
                header_sacs.append((position, segment))
        elif seg_id == "CTT":
            count = (position, segment)
        elif seg_id == "AMT" and value(segment, 1) == "TT":
            amount_total = (position, segment)
    for position, segment in header_sacs:
        _header_sac(lines, position, segment, details)
    _check_totals(lines, count, amount_total)
    code = ""
    if ship_to is not None:
        position, segment = ship_to
        wanted = "UL" if partner.ship_to_by == TradingPartner.ShipToBy.GLN else "92"
        location = value(segment, 4)
        if value(segment, 3) == wanted and location in found.ship_tos:
            code = found.ship_tos[location]
        else:  # held for master data, never guessed
            details["ship_to_unknown"] = (
                f"N1 (segment {position}): {value(segment, 3)} “{location}”"
            )
    requested = next((dates[q] for q in REQUESTED_DATES if q in dates), "")
    requested_date = parse_date(requested)
    details["dates"] = dates
    return {
        "id": order_external_id(partner, po_number),
        "version": 1,
        "number": order_number(partner, po_number),
        "channel": "edi",
        "status": "cancelled" if value(header, 1) == "01" else "open",
        "customer": partner.customer.external_id,  # a partner's customer is the ERP's (clean)
        "customer_source": partner.customer.source_system,
        "ship_to": code,
        "requested_date": requested_date.isoformat() if requested_date else None,
        "currency": currency or "USD",
        "lines": [_record_line(line) for line in lines],
        "edi": details,
    }


def _record_line(line: _Line) -> dict:
    return {
        "sku": line.sku,
        "quantity": str(line.quantity),
        "unit_price": str(line.unit_price.quantize(PRICE, ROUND_HALF_UP))
        if line.unit_price is not None
        else None,
        "ref": line.ref,
    }


def _po1(position: int, segment, partner: TradingPartner, found: Lookups) -> _Line:
    sku = _item(position, segment, partner, found, first=6)
    unit = value(segment, 3)
    quantity = _decimal(value(segment, 2))
    price = _decimal(value(segment, 4)) if value(segment, 4) else None
    factor = _factor(sku, unit, found, position, "PO1", 3)
    return _Line(
        ref=value(segment, 1) or str(position),
        sku=sku,
        quantity=quantity * factor,
        unit_price=price / factor if price is not None else None,
        ordered=f"{value(segment, 2)} {unit}",
        position=position,
    )


def _item(position: int, segment, partner, found: Lookups, *, first: int) -> str:
    """The SKU the segment's product ids name, tried in the partner's order of qualifiers."""
    given = {}
    for n in range(first, min(len(segment.elements), first + 6), 2):
        qualifier, text = value(segment, n), value(segment, n + 1).upper()
        if qualifier and text:
            given.setdefault(qualifier, (n + 1, text))
    for qualifier in partner.qualifiers:
        if qualifier not in given:
            continue
        text = given[qualifier][1]
        sku = {
            "BP": found.customer_parts.get(text),
            "UP": found.upcs.get(text),
        }.get(qualifier, text if text in found.skus else None)
        if sku:
            return sku
    element, text = next(iter(given.values()), (first + 1, ""))
    named = ", ".join(f"{q} “{t}”" for q, (_, t) in given.items()) or "no product id"
    raise MappingProblem(
        SegmentError(
            f"no item is known by {named} (tried {', '.join(partner.qualifiers)})",
            segment.get_seg_id(), position, element=element, reference="234",
            element_code="7", value=text,
        )
    )  # fmt: skip


def _factor(sku: str, unit: str, found: Lookups, position: int, seg_id: str, element: int):
    if not unit or unit == found.skus.get(sku):
        return Decimal(1)
    factor = found.units.get((sku, unit))
    if factor is None:
        raise MappingProblem(
            SegmentError(
                f"{sku} has no unit “{unit}” in its unit table (base {found.skus.get(sku)})",
                seg_id, position, element=element, reference="355", element_code="7",
                value=unit,
            )
        )  # fmt: skip
    return factor


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:  # the syntax check lets no such value through
        return Decimal(0)


def _sac_amount(segment) -> tuple[Decimal | None, Decimal | None]:
    """(amount, percent) of a SAC; SAC05 is N2: cents without a decimal point."""
    amount = Decimal(value(segment, 5)) / 100 if value(segment, 5) else None
    percent = _decimal(value(segment, 7)) if value(segment, 7) else None
    return amount, percent


def _sign(segment) -> int:
    return -1 if value(segment, 1) == "A" else 1 if value(segment, 1) == "C" else 0


def _line_sac(line: _Line, position: int, segment, details: dict) -> None:
    """An allowance (or charge) on one line: spread over its units."""
    amount, percent = _sac_amount(segment)
    sign = _sign(segment)
    if not sign or line.unit_price is None or line.quantity <= 0:
        return
    change = (
        line.unit_price * percent / 100
        if percent is not None
        else (amount or Decimal(0)) / line.quantity
    )
    line.unit_price = max(Decimal(0), line.unit_price + sign * change)
    details["allowances"].append(
        {"position": position, "line": line.ref, "type": value(segment, 1),
         "code": value(segment, 2), "amount": str(amount or ""), "percent": str(percent or "")}
    )  # fmt: skip


def _header_sac(lines: list[_Line], position: int, segment, details: dict) -> None:
    """An allowance on the whole order: a percentage off each line, or an amount shared by the
    lines in proportion to their value."""
    amount, percent = _sac_amount(segment)
    sign = _sign(segment)
    priced = [line for line in lines if line.unit_price is not None and line.quantity > 0]
    total = sum((line.unit_price * line.quantity for line in priced), Decimal(0))
    if not sign or not priced or total <= 0:
        return
    for line in priced:
        if percent is not None:
            change = line.unit_price * percent / 100
        else:
            change = (
                (amount or Decimal(0)) * (line.unit_price * line.quantity / total) / line.quantity
            )
        line.unit_price = max(Decimal(0), line.unit_price + sign * change)
    details["allowances"].append(
        {"position": position, "line": "", "type": value(segment, 1), "code": value(segment, 2),
         "amount": str(amount or ""), "percent": str(percent or "")}
    )  # fmt: skip


def _check_totals(lines: list[_Line], count, amount_total) -> None:
    """CTT01 is the number of PO1 lines; AMT*TT the order's value after allowances."""
    if count is not None:
        position, segment = count
        if value(segment, 1) and int(value(segment, 1)) != len(lines):
            raise MappingProblem(
                SegmentError(
                    f"CTT01 says {value(segment, 1)} lines; the set has {len(lines)}",
                    "CTT", position, element=1, reference="354", element_code="7",
                    value=value(segment, 1),
                )
            )  # fmt: skip
    if amount_total is not None:
        position, segment = amount_total
        stated = _decimal(value(segment, 2))
        computed = sum(
            ((line.unit_price or Decimal(0)) * line.quantity for line in lines), Decimal(0)
        ).quantize(CENT, ROUND_HALF_UP)
        if abs(stated - computed) > CENT * len(lines or [0]):  # each line rounded to cents
            raise MappingProblem(
                SegmentError(
                    f"AMT*TT says {stated}; the lines after allowances come to {computed}",
                    "AMT", position, element=2, reference="782", element_code="7",
                    value=value(segment, 2),
                )
            )  # fmt: skip


def map_860(
    transaction_set: TransactionSet, partner: TradingPartner, found: Lookups, stored: dict | None
) -> dict:
    """The order record after an 860: ``stored`` is the order's latest record in the inbox
    (the 850 or the last change), to which the POC changes apply. A cancellation (BCH01 01)
    needs no lines."""
    segments = list(enumerate(transaction_set.segments, start=1))
    header_position, header = next((p, s) for p, s in segments if s.get_seg_id() == "BCH")
    po_number = value(header, 3)
    sequence = value(header, 5)
    if stored is None:
        raise MappingProblem(
            SegmentError(
                f"no order “{po_number}” from {partner.name} to change",
                "BCH", header_position, element=3, reference="324", element_code="7",
                value=po_number,
            )
        )  # fmt: skip
    version = int(stored.get("version", 1)) + 1
    if sequence.isdigit():
        version = max(int(sequence) + 1, 2)
    record = {**stored, "version": version}
    record["edi"] = {**stored.get("edi", {}), "change_sequence": sequence,
                     "change_purpose": value(header, 1)}  # fmt: skip
    if value(header, 1) == "01":
        return {**record, "status": "cancelled", "lines": []}
    lines = {line.get("ref"): dict(line) for line in stored.get("lines", [])}
    for position, segment in segments:
        seg_id = segment.get_seg_id()
        if seg_id == "DTM" and value(segment, 1) in REQUESTED_DATES:
            moved = parse_date(value(segment, 2))
            record["requested_date"] = moved.isoformat() if moved else record.get("requested_date")
        if seg_id != "POC":
            continue
        ref, change = value(segment, 1), value(segment, 2)
        if change == "AI":
            sku = _item(position, segment, partner, found, first=8)
            unit = value(segment, 5)
            factor = _factor(sku, unit, found, position, "POC", 5)
            price = _decimal(value(segment, 6)) if value(segment, 6) else None
            lines[ref] = {
                "sku": sku,
                "quantity": str(_decimal(value(segment, 3)) * factor),
                "unit_price": str((price / factor).quantize(PRICE, ROUND_HALF_UP))
                if price is not None
                else None,
                "ref": ref,
            }
            continue
        if ref not in lines:
            raise MappingProblem(
                SegmentError(
                    f"line “{ref}” is not on order {po_number}",
                    "POC", position, element=1, reference="350", element_code="7", value=ref,
                )
            )  # fmt: skip
        if change == "DI":
            del lines[ref]
            continue
        line = lines[ref]
        factor = _factor(line["sku"], value(segment, 5), found, position, "POC", 5)
        if change in ("CA", "QD", "QI") and value(segment, 3):
            line["quantity"] = str(_decimal(value(segment, 3)) * factor)
        if change in ("CA", "PC") and value(segment, 6):
            line["unit_price"] = str(
                (_decimal(value(segment, 6)) / factor).quantize(PRICE, ROUND_HALF_UP)
            )
    if not lines:
        return {**record, "status": "cancelled", "lines": []}
    record["lines"] = list(lines.values())
    return record
