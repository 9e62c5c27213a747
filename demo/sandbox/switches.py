"""The sandbox's switches, set with `POST /_control` (a JSON object of switch: value) and listed,
with their current values, by `GET /_control`. A request naming a switch not listed here, or
giving a value of the wrong kind, is refused with a 400 that says why, and changes nothing.

Faults:
- ``fail_next``: a list of HTTP statuses; the next requests (one each) get them instead of data.
- ``latency_ms``: answer every request this many milliseconds late.
- ``malformed``: a list of record ids served broken (no customer or SKU, a negative quantity).
- ``duplicates``: true serves every record of a page twice.
- ``shuffle``: true serves each page in random order.
- ``orphan_shipments``: a list of order numbers the WMS reports shipped without any release.
- ``reject_invoices``: true makes the ERP refuse every new invoice posting (422).
- ``insert``: an object (or a list of them) inserting records mid-stream: ``stream``; either
  ``count`` (new orders, or shipments of released orders not yet shipped) or ``records``;
  ``at``, their position in the stream's natural order (default its middle); and
  ``backdate_seconds``, how far in the past their ``updated_at`` is stamped.

Feed:
- ``orders``: orders available from the start; ``orders_per_minute``: more over time.
- ``amend``: an object (or a list) issuing a newer version of an order: ``order`` (its id) and
  ``kind``, one of quantity_up, quantity_down, line_added, line_cancelled, ship_to, cancel.
- ``amend_every`` / ``amend_after_seconds``: the ERP amends every n-th order (0: none) this long
  after it appeared, by each kind in turn.
- ``ship_after_seconds`` / ``deliver_after_seconds``: how long from release to shipment, and
  from shipment to proof of delivery.
- ``short_every``: every n-th shipment ships one unit short on its first line (0: never).
- ``receive_after_seconds``: how long from a return being expected to its receipt.
- ``return_short_every`` / ``return_damaged_every``: every n-th return arrives one unit short on
  its first line, every m-th with one unit damaged on its last (0: never).

EDI trading partner (``edi.py``; it writes into its drop folder, o2c's inbound folder for it):
- ``edi_send``: the buyer sends this many 850s now; ``edi_change``: an 860, an object with
  ``po``, ``line`` and ``quantity`` (in the unit the line was ordered in).
- ``edi_malformed`` / ``edi_wrong_counts`` / ``edi_duplicate``: the next n interchanges have a
  blanked mandatory element, a wrong SE01 count, or are delivered twice.
- ``edi_ack_delay_seconds``: the buyer's 997s for what o2c sends come this late.

Bank (``bank.py``):
- ``pay_after_seconds``: how long after the ERP books an invoice the bank pays it.
- ``bank_noise``: an object of noise rates (each 0 to 1) replacing those named, e.g.
  {"short": 0.2, "duplicate": 0}; the names and defaults are payments.DEFAULT_NOISE.
- ``bank_malformed``: the next n statement files are sent first with a bad amount on one line,
  then again corrected (a new file id, the same statement and entries).
"""

from collections.abc import Callable

from .state import MASTER_STREAMS, SandboxState

INSERTABLE = MASTER_STREAMS | {"orders", "shipments", "deliveries"}


class SwitchError(ValueError):
    """A switch or value the sandbox refuses; the message says which and why."""


def _flag(name: str, value) -> bool:
    if not isinstance(value, bool):
        raise SwitchError(f"{name}: expected true or false, got {value!r}")
    return value


def _count(name: str, value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SwitchError(f"{name}: expected a whole number from 0 up, got {value!r}")
    return value


def _seconds(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise SwitchError(f"{name}: expected a number of seconds from 0 up, got {value!r}")
    return float(value)


def _texts(name: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise SwitchError(f"{name}: expected a list of ids, got {value!r}")
    return value


def _statuses(name: str, value) -> list[int]:
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) and 400 <= v <= 599 for v in value
    ):
        raise SwitchError(
            f"{name}: expected a list of HTTP error statuses (400-599), got {value!r}"
        )
    return value


def _insertions(name: str, value) -> list[dict]:
    items = value if isinstance(value, list) else [value]
    checked = []
    for item in items:
        if not isinstance(item, dict):
            raise SwitchError(f"{name}: expected an object with stream and count or records")
        unknown = set(item) - {"stream", "count", "records", "at", "backdate_seconds"}
        if unknown:
            raise SwitchError(f"{name}: unknown field(s) {', '.join(sorted(unknown))}")
        stream = item.get("stream")
        if stream not in INSERTABLE:
            raise SwitchError(f"{name}.stream: one of {', '.join(sorted(INSERTABLE))}")
        records = item.get("records")
        if ("count" in item) == (records is not None):
            raise SwitchError(f"{name}: give either count or records")
        if records is not None and not (
            isinstance(records, list)
            and all(isinstance(r, dict) and isinstance(r.get("id"), str) for r in records)
        ):
            raise SwitchError(f"{name}.records: expected a list of records, each with an id")
        checked.append(
            {
                "stream": stream,
                "count": _count(f"{name}.count", item.get("count", 0)),
                "records": records,
                "at": None if item.get("at") is None else _count(f"{name}.at", item["at"]),
                "backdate": _seconds(f"{name}.backdate_seconds", item.get("backdate_seconds", 0)),
            }
        )
    return checked


def _rates(name: str, value) -> dict[str, float]:
    from .payments import DEFAULT_NOISE

    if not isinstance(value, dict):
        raise SwitchError(f'{name}: expected an object of noise rates, e.g. {{"short": 0.2}}')
    unknown = sorted(set(value) - set(DEFAULT_NOISE))
    if unknown:
        raise SwitchError(
            f"{name}: unknown rate(s) {', '.join(unknown)}; the rates are {', '.join(DEFAULT_NOISE)}"
        )
    for rate, share in value.items():
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share <= 1:
            raise SwitchError(f"{name}.{rate}: expected a number from 0 to 1, got {share!r}")
    return {rate: float(share) for rate, share in value.items()}


def _bank_noise(state: SandboxState, name: str, value) -> None:
    state.bank_noise = {**state.bank_noise, **_rates(name, value)}


_bank_noise.parse = _rates


def _set(attribute: str, parse: Callable, convert: Callable = lambda v: v):
    def apply(state: SandboxState, name: str, value) -> None:
        setattr(state, attribute, convert(parse(name, value)))

    apply.parse = parse
    return apply


def _insert(state: SandboxState, name: str, value) -> None:
    """Build every insertion's records first (a refusal then changes nothing), then insert."""
    items, taken = _insertions(name, value), set()
    for item in items:
        if item["records"] is None:
            try:
                item["records"] = state.generated(item["stream"], item["count"], taken=taken)
            except ValueError as exc:
                raise SwitchError(str(exc)) from exc
        taken.update(record["id"] for record in item["records"])
    for item in items:
        state.insert(
            stream=item["stream"], records=item["records"], at=item["at"], backdate=item["backdate"]
        )


_insert.parse = _insertions


def _amendments(name: str, value) -> list[dict]:
    from .data import AMENDMENTS

    items = value if isinstance(value, list) else [value]
    for item in items:
        if not isinstance(item, dict) or set(item) != {"order", "kind"}:
            raise SwitchError(f"{name}: expected an object with order and kind")
        if item["kind"] not in AMENDMENTS:
            raise SwitchError(f"{name}.kind: one of {', '.join(AMENDMENTS)}")
    return items


def _amend(state: SandboxState, name: str, value) -> None:
    for item in _amendments(name, value):
        try:
            state.amend(item["order"], item["kind"])
        except ValueError as exc:
            raise SwitchError(str(exc)) from exc


_amend.parse = _amendments


def _edi(attribute: str, parse: Callable):
    """A switch of the EDI trading partner (``edi.py``)."""

    def apply(state: SandboxState, name: str, value) -> None:
        setattr(state.edi, attribute, parse(name, value))

    apply.parse = parse
    return apply


def _edi_send(state: SandboxState, name: str, value) -> None:
    state.edi.send_orders(value)


_edi_send.parse = _count


def _change(name: str, value) -> dict:
    if not isinstance(value, dict) or set(value) != {"po", "line", "quantity"}:
        raise SwitchError(f"{name}: expected an object with po, line and quantity")
    _count(f"{name}.line", value["line"])
    _count(f"{name}.quantity", value["quantity"])
    return value


def _edi_change(state: SandboxState, name: str, value) -> None:
    if value["po"] not in state.edi.sent:
        raise SwitchError(f"{name}.po: the buyer sent no PO {value['po']!r}")
    state.edi.send_change(value["po"], value["line"], value["quantity"])


_edi_change.parse = _change
ACTIONS = ("insert", "amend", "edi_send", "edi_change")

SWITCHES: dict[str, Callable] = {
    "fail_next": _set("fail_next", _statuses, list),
    "latency_ms": _set("latency_ms", _count),
    "malformed": _set("malformed", _texts, set),
    "duplicates": _set("duplicates", _flag),
    "shuffle": _set("shuffle", _flag),
    "orphan_shipments": _set("orphan_shipments", _texts, list),
    "reject_invoices": _set("reject_invoices", _flag),
    "insert": _insert,
    "amend": _amend,
    "amend_every": _set("amend_every", _count),
    "amend_after_seconds": _set("amend_after_seconds", _seconds),
    "orders": _set("orders", _count),
    "orders_per_minute": _set("orders_per_minute", _seconds),
    "ship_after_seconds": _set("ship_after_seconds", _seconds),
    "deliver_after_seconds": _set("deliver_after_seconds", _seconds),
    "short_every": _set("short_every", _count),
    "receive_after_seconds": _set("receive_after_seconds", _seconds),
    "return_short_every": _set("return_short_every", _count),
    "return_damaged_every": _set("return_damaged_every", _count),
    "pay_after_seconds": _set("pay_after_seconds", _seconds),
    "bank_noise": _bank_noise,
    "bank_malformed": _set("bank_malformed", _count),
    "edi_send": _edi_send,
    "edi_change": _edi_change,
    "edi_malformed": _edi("malformed_next", _count),
    "edi_wrong_counts": _edi("wrong_count_next", _count),
    "edi_duplicate": _edi("duplicate_next", _count),
    "edi_ack_delay_seconds": _edi("ack_delay_seconds", _seconds),
}


def switches_apply(state: SandboxState, switches) -> None:
    """Check every switch first, then set them: a refused request changes nothing."""
    if not isinstance(switches, dict):
        raise SwitchError("Send a JSON object of switch: value.")
    unknown = sorted(set(switches) - set(SWITCHES))
    if unknown:
        raise SwitchError(
            f"Unknown switch{'es' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"the switches are {', '.join(SWITCHES)}."
        )
    for name, value in switches.items():
        SWITCHES[name].parse(name, value)
    for name in ACTIONS:  # the ones that can still be refused, so they go first
        if name in switches:
            SWITCHES[name](state, name, switches[name])  # (they take the lock themselves)
    with state.lock:
        for name, value in switches.items():
            if name not in ACTIONS:
                SWITCHES[name](state, name, value)


def switches_now(state: SandboxState) -> dict:
    """Every switch's current value (``insert``: the records inserted so far, by stream)."""
    values = {
        name: getattr(state, name)
        for name in SWITCHES
        if name not in ACTIONS and not name.startswith("edi_")
    }
    values["edi"] = {
        "sent": len(state.edi.sent),
        "malformed_next": state.edi.malformed_next,
        "wrong_count_next": state.edi.wrong_count_next,
        "duplicate_next": state.edi.duplicate_next,
        "ack_delay_seconds": state.edi.ack_delay_seconds,
    }
    values["malformed"] = sorted(values["malformed"])
    values["insert"] = {stream: len(rows) for stream, rows in state.inserted.items()}
    values["amend"] = {order: r["version"] for order, r in state.amendments.items()}
    return values
