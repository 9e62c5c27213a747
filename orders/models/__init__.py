"""Models of the orders app: master data and the canonical order."""

from .master import (
    ARBalance,
    Customer,
    CustomerItem,
    ExternalRef,
    InventoryPosition,
    Item,
    ItemUnit,
    PriceAgreement,
    ShipTo,
    TerritoryAssignment,
    Warehouse,
)
from .order import EXPOSED_STATES, Channel, Order, OrderLine, OrderState
from .watch import WATCHED_STATES, ShipWatch, WatchAction, WatchState

__all__ = [
    "EXPOSED_STATES",
    "WATCHED_STATES",
    "ARBalance",
    "Channel",
    "Customer",
    "CustomerItem",
    "ExternalRef",
    "InventoryPosition",
    "Item",
    "ItemUnit",
    "Order",
    "OrderLine",
    "OrderState",
    "PriceAgreement",
    "ShipTo",
    "ShipWatch",
    "TerritoryAssignment",
    "Warehouse",
    "WatchAction",
    "WatchState",
]
