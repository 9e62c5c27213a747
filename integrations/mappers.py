"""Map raw upstream records to canonical records; a bad field raises MappingError naming it."""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

DECIMAL_LIMIT = Decimal(10) ** 9


class MappingError(Exception):
    """A record cannot be applied as sent (permanent: it goes to the dead letters)."""


def _req(record: dict, name: str):
    if not isinstance(record, dict):
        raise MappingError("record: expected a JSON object")
    value = record.get(name)
    if value is None or value == "":
        raise MappingError(f"{name}: required")
    return value


def _text(record: dict, name: str, *, required: bool = True, max_length: int = 200) -> str:
    value = _req(record, name) if required else (record.get(name) or "")
    if not isinstance(value, str):
        raise MappingError(f"{name}: expected text, got {type(value).__name__}")
    if len(value) > max_length:
        raise MappingError(f"{name}: longer than {max_length} characters")
    value = value.strip()
    if required and not value:
        raise MappingError(f"{name}: required (only spaces were sent)")
    return value


def _decimal(
    record: dict, name: str, *, required: bool = True, minimum: Decimal | None = Decimal("0")
):
    raw = _req(record, name) if required else record.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise MappingError(f"{name}: expected a decimal string, got {type(raw).__name__}")
    try:
        value = Decimal(str(raw))
    except InvalidOperation as exc:
        raise MappingError(f"{name}: “{raw}” is not a number") from exc
    if not value.is_finite():
        raise MappingError(f"{name}: “{raw}” is not a number")
    if minimum is not None and value < minimum:
        raise MappingError(f"{name}: must be at least {minimum}, got {value}")
    if abs(value) >= DECIMAL_LIMIT:
        # every quantity, price and amount column holds at least 10 integer digits
        raise MappingError(f"{name}: {value} is beyond {DECIMAL_LIMIT - 1:,}")
    return value


def _date(record: dict, name: str, *, required: bool = True) -> date | None:
    raw = _req(record, name) if required else record.get(name)
    if raw is None:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError as exc:
        raise MappingError(f"{name}: “{raw}” is not a date (YYYY-MM-DD)") from exc


def _datetime(record: dict, name: str) -> datetime:
    raw = _req(record, name)
    try:
        return datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError as exc:
        raise MappingError(f"{name}: “{raw}” is not a timestamp") from exc


def _choice(record: dict, name: str, choices, *, default: str | None = None) -> str:
    value = record.get(name) or default
    if value not in choices:
        raise MappingError(f"{name}: “{value}” is not one of {', '.join(sorted(choices))}")
    return value


@dataclass(frozen=True)
class ShipToRecord:
    code: str
    name: str
    address: str
    city: str
    postal_code: str


@dataclass(frozen=True)
class CustomerRecord:
    external_id: str
    number: str
    name: str
    segment: str
    territory: str
    credit_limit: Decimal
    payment_terms: str
    credit_status: str
    billing_rule: str
    tax_region: str
    ship_tos: tuple[ShipToRecord, ...]
    discount_percent: Decimal = Decimal("0")
    discount_days: int = 0
    parent: str = ""  # the parent company's customer number


@dataclass(frozen=True)
class ItemRecord:
    external_id: str
    sku: str
    description: str
    uom: str
    list_price: Decimal
    unit_cost: Decimal


@dataclass(frozen=True)
class PriceRecord:
    external_id: str
    customer: str
    sku: str
    contract_price: Decimal
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class ARRecord:
    external_id: str
    customer: str
    open_amount: Decimal
    buckets: tuple[Decimal, Decimal, Decimal, Decimal, Decimal]
    oldest_past_due_days: int
    as_of: datetime


@dataclass(frozen=True)
class InventoryRecord:
    external_id: str
    sku: str
    warehouse: str
    erp_on_hand: Decimal
    wms_on_hand: Decimal
    allocated: Decimal
    as_of: datetime


@dataclass(frozen=True)
class OrderLineRecord:
    sku: str
    quantity: Decimal
    unit_price: Decimal | None


@dataclass(frozen=True)
class OrderRecord:
    external_id: str
    number: str
    channel: str
    customer: str
    ship_to: str
    requested_date: date | None
    currency: str
    lines: tuple[OrderLineRecord, ...]
    version: int = 1  # the upstream's version of the record: a newer one is an amendment
    status: str = "open"  # "cancelled": the upstream cancelled the order
    #: the source system whose external id ``customer`` is, when not the connector's own (an
    #: EDI partner's orders name the ERP's customer)
    customer_source: str = ""


#: An order record's status upstream.
ORDER_STATUSES = {"open", "cancelled"}


def _percent(record: dict, name: str) -> Decimal:
    value = _decimal(record, name, required=False)
    if value is None:
        return Decimal("0")
    if value >= 100:
        raise MappingError(f"{name}: must be below 100, got {value}")
    return value


def _days(record: dict, name: str) -> int:
    raw = record.get(name)
    if raw in (None, ""):
        return 0
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw <= 365:
        raise MappingError(f"{name}: expected a whole number of days 0–365, got {raw!r}")
    return raw


def map_customer(r: dict) -> CustomerRecord:
    ship_tos = r.get("ship_tos") or []
    if not isinstance(ship_tos, list):
        raise MappingError("ship_tos: expected a list")
    return CustomerRecord(
        external_id=_text(r, "id", max_length=64),
        number=_text(r, "number", max_length=32),
        name=_text(r, "name"),
        segment=_choice(
            r, "segment", {"strategic", "key", "standard", "small"}, default="standard"
        ),
        territory=_text(r, "territory", max_length=32),
        credit_limit=_decimal(r, "credit_limit"),
        payment_terms=_text(r, "payment_terms", required=False, max_length=16),
        credit_status=_choice(r, "credit_status", {"ok", "watch", "blocked"}, default="ok"),
        billing_rule=_choice(
            r,
            "billing_rule",
            {"immediate", "hold_for_pod", "consolidated_daily", "consolidated_weekly"},
            default="immediate",
        ),
        tax_region=_text(r, "tax_region", required=False, max_length=16),
        discount_percent=_percent(r, "discount_percent"),
        discount_days=_days(r, "discount_days"),
        parent=_text(r, "parent", required=False, max_length=32),
        ship_tos=tuple(
            ShipToRecord(
                code=_text(s, "code", max_length=32),
                name=_text(s, "name"),
                address=_text(s, "address", max_length=300),
                city=_text(s, "city", max_length=100),
                postal_code=_text(s, "postal_code", required=False, max_length=20),
            )
            for s in ship_tos
        ),
    )


def map_item(r: dict) -> ItemRecord:
    return ItemRecord(
        external_id=_text(r, "id", max_length=64),
        sku=_text(r, "sku", max_length=64).upper(),
        description=_text(r, "description", max_length=300),
        uom=_text(r, "uom", required=False, max_length=8) or "EA",
        list_price=_decimal(r, "list_price"),
        unit_cost=_decimal(r, "unit_cost"),
    )


def map_price(r: dict) -> PriceRecord:
    record = PriceRecord(
        external_id=_text(r, "id", max_length=64),
        customer=_text(r, "customer", max_length=64),
        sku=_text(r, "sku", max_length=64).upper(),
        contract_price=_decimal(r, "contract_price"),
        valid_from=_date(r, "valid_from"),
        valid_to=_date(r, "valid_to", required=False),
    )
    if record.valid_to and record.valid_to < record.valid_from:
        raise MappingError("valid_to: before valid_from")
    return record


def map_ar(r: dict) -> ARRecord:
    names = ["current", "past_due_1_30", "past_due_31_60", "past_due_61_90", "past_due_over_90"]
    days = r.get("oldest_past_due_days", 0)
    if not isinstance(days, int) or days < 0:
        raise MappingError("oldest_past_due_days: expected a whole number of days")
    return ARRecord(
        external_id=_text(r, "id", max_length=64),
        customer=_text(r, "customer", max_length=64),
        open_amount=_decimal(r, "open_amount", minimum=None),
        buckets=tuple(_decimal(r, name, minimum=None) for name in names),
        oldest_past_due_days=days,
        as_of=_datetime(r, "as_of"),
    )


def map_inventory(r: dict) -> InventoryRecord:
    return InventoryRecord(
        external_id=_text(r, "id", max_length=64),
        sku=_text(r, "sku", max_length=64).upper(),
        warehouse=_text(r, "warehouse", max_length=16),
        erp_on_hand=_decimal(r, "erp_on_hand", minimum=None),
        wms_on_hand=_decimal(r, "wms_on_hand", minimum=None),
        allocated=_decimal(r, "allocated"),
        as_of=_datetime(r, "as_of"),
    )


def map_order(r: dict) -> OrderRecord:
    if not isinstance(r, dict):
        raise MappingError("record: expected a JSON object")
    status = _choice(r, "status", ORDER_STATUSES, default="open")
    version = r.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise MappingError("version: expected a whole number from 1 up")
    lines = r.get("lines")
    if status == "cancelled" and not lines:
        lines = []  # a cancellation need not repeat the lines
    elif not isinstance(lines, list) or not lines:
        raise MappingError("lines: at least one line is required")
    mapped = []
    for index, line in enumerate(lines, start=1):
        if not isinstance(line, dict):
            raise MappingError(f"lines[{index}]: expected an object")
        try:
            quantity = _decimal(line, "quantity")
            if quantity == 0:
                raise MappingError("quantity: must be greater than zero")
            mapped.append(
                OrderLineRecord(
                    sku=_text(line, "sku", max_length=64).upper(),
                    quantity=quantity,
                    unit_price=_decimal(line, "unit_price", required=False),
                )
            )
        except MappingError as exc:
            raise MappingError(f"lines[{index}].{exc}") from exc
    return OrderRecord(
        external_id=_text(r, "id", max_length=64),
        number=_text(r, "number", max_length=32),
        channel=_choice(r, "channel", {"edi", "ecommerce", "inside_sales", "portal", "api"}),
        customer=_text(r, "customer", max_length=64),
        ship_to=_text(r, "ship_to", required=False, max_length=32),
        requested_date=_date(r, "requested_date", required=False),
        currency=_text(r, "currency", required=False, max_length=3) or "USD",
        lines=tuple(mapped),
        version=version,
        status=status,
        customer_source=_text(r, "customer_source", required=False, max_length=32),
    )


@dataclass(frozen=True)
class ShipmentLineRecord:
    line: int
    quantity: Decimal


@dataclass(frozen=True)
class ShipmentRecord:
    external_id: str
    order: str
    warehouse: str
    carrier: str
    tracking: str
    shipped_at: datetime
    lines: tuple[ShipmentLineRecord, ...]


def _numbered_lines(r: dict, read) -> list:
    """A warehouse event's ``lines``, each numbered (``line``) and read by ``read(line, number)``;
    a bad one raises MappingError naming its position and field."""
    lines = r.get("lines") if isinstance(r, dict) else None
    if not isinstance(lines, list) or not lines:
        raise MappingError("lines: at least one line is required")
    mapped = []
    for index, line in enumerate(lines, start=1):
        number = line.get("line") if isinstance(line, dict) else None
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise MappingError(f"lines[{index}].line: expected a line number")
        try:
            mapped.append(read(line, number))
        except MappingError as exc:
            raise MappingError(f"lines[{index}].{exc}") from exc
    return mapped


def map_shipment(r: dict) -> ShipmentRecord:
    mapped = _numbered_lines(
        r, lambda line, number: ShipmentLineRecord(line=number, quantity=_decimal(line, "quantity"))
    )
    return ShipmentRecord(
        external_id=_text(r, "id", max_length=64),
        order=_text(r, "order", max_length=32),
        warehouse=_text(r, "warehouse", required=False, max_length=16),
        carrier=_text(r, "carrier", required=False),
        tracking=_text(r, "tracking", required=False),
        shipped_at=_datetime(r, "shipped_at"),
        lines=tuple(mapped),
    )


@dataclass(frozen=True)
class DeliveryRecord:
    external_id: str
    shipment: str
    delivered_at: datetime
    signed_by: str


def map_delivery(r: dict) -> DeliveryRecord:
    return DeliveryRecord(
        external_id=_text(r, "id", max_length=64),
        shipment=_text(r, "shipment", max_length=64),
        delivered_at=_datetime(r, "delivered_at"),
        signed_by=_text(r, "signed_by", required=False, max_length=100),
    )


@dataclass(frozen=True)
class ReceiptLineRecord:
    line: int
    received: Decimal
    damaged: Decimal


@dataclass(frozen=True)
class ReceiptRecord:
    """The warehouse's receipt of a return: what arrived on each of its lines, and how much of
    that was damaged."""

    external_id: str
    rma: str
    received_at: datetime
    lines: tuple[ReceiptLineRecord, ...]


def _receipt_line(line: dict, number: int) -> ReceiptLineRecord:
    received = _decimal(line, "received")
    damaged = _decimal(line, "damaged", required=False) or Decimal("0")
    if damaged > received:
        raise MappingError(f"damaged: {damaged} is more than the {received} received")
    return ReceiptLineRecord(line=number, received=received, damaged=damaged)


def map_receipt(r: dict) -> ReceiptRecord:
    mapped = _numbered_lines(r, _receipt_line)
    return ReceiptRecord(
        external_id=_text(r, "id", max_length=64),
        rma=_text(r, "rma", max_length=32),
        received_at=_datetime(r, "received_at"),
        lines=tuple(mapped),
    )


@dataclass(frozen=True)
class StatementFileRecord:
    external_id: str
    format: str
    content: str


#: Bank file formats the receivables parsers read; "camt053" is accepted for "camt.053".
STATEMENT_FORMATS = {
    "bai2": "bai2",
    "camt.053": "camt.053",
    "camt053": "camt.053",
    "lockbox": "lockbox",
}
#: A bank file larger than this is refused whole (a dead letter), never half read.
STATEMENT_MAX_CHARS = 20_000_000


def map_statement(r: dict) -> StatementFileRecord:
    """A bank file as the bank's connector delivers it: its format and its whole text."""
    kind = _text(r, "format", max_length=16).lower()
    if kind not in STATEMENT_FORMATS:
        raise MappingError(f"format: “{kind}” is not one of {', '.join(sorted(STATEMENT_FORMATS))}")
    content = _req(r, "content")
    if not isinstance(content, str):
        raise MappingError(f"content: expected text, got {type(content).__name__}")
    if len(content) > STATEMENT_MAX_CHARS:
        raise MappingError(f"content: longer than {STATEMENT_MAX_CHARS} characters")
    return StatementFileRecord(
        external_id=_text(r, "id", max_length=100),
        format=STATEMENT_FORMATS[kind],
        content=content,
    )


def _kept(record):
    from .edi.replay import map_kept  # the EDI package imports the inbox, which imports this

    return map_kept(record)


def _advice(record):
    from .edi.remittance import advice_of  # as ``_kept``

    return advice_of(record)


MAPPERS = {
    "sets": _kept,
    "remittances": _advice,
    "interchanges": _kept,
    "statements": map_statement,
    "deliveries": map_delivery,
    "shipments": map_shipment,
    "receipts": map_receipt,
    "customers": map_customer,
    "items": map_item,
    "prices": map_price,
    "ar": map_ar,
    "inventory": map_inventory,
    "orders": map_order,
}
