"""Every write to orders, by subdomain: entry, edits of an open order, upstream amendments and
the lifecycle transitions, with what they share (access: who may write and the locks; pricing: lines priced
and totalled); atomic, row-locked, with history authors and reasons, events after commit."""

from .access import EDITABLE_STATES, lock_credit
from .amendments import Amendment, Outcome, order_amend
from .edits import (
    customer_update_master_data,
    order_line_accept_price,
    order_line_cancel,
    order_line_set_price,
    order_line_substitute,
    order_set_ship_to,
    order_update_line,
)
from .entry import order_create
from .pricing import ORDER_TOTAL_DIGITS, LineInput
from .transitions import (
    MANUAL_TRANSITIONS,
    SHIPPED_SO_FAR,
    order_line_close_short,
    order_place_on_hold,
    order_record_invoice,
    order_record_shipment,
    order_release,
    order_transition,
)
from .watch import WATCHED_STATES, ship_watch_close, ship_watch_open, ship_watches_settle

__all__ = [
    "Amendment",
    "EDITABLE_STATES",
    "LineInput",
    "MANUAL_TRANSITIONS",
    "ORDER_TOTAL_DIGITS",
    "Outcome",
    "SHIPPED_SO_FAR",
    "WATCHED_STATES",
    "customer_update_master_data",
    "lock_credit",
    "order_amend",
    "order_create",
    "ship_watch_close",
    "ship_watch_open",
    "ship_watches_settle",
    "order_line_accept_price",
    "order_line_cancel",
    "order_line_close_short",
    "order_line_set_price",
    "order_line_substitute",
    "order_place_on_hold",
    "order_record_invoice",
    "order_record_shipment",
    "order_release",
    "order_set_ship_to",
    "order_transition",
    "order_update_line",
]
