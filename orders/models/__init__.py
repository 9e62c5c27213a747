"""Models of the orders app: master data and the canonical order."""

from .master import (
    ARBalance,
    Customer,
    ExternalRef,
    InventoryPosition,
    Item,
    PriceAgreement,
    ShipTo,
    TerritoryAssignment,
    Warehouse,
)
from .order import EXPOSED_STATES, Channel, Order, OrderLine, OrderState

__all__ = [
    "EXPOSED_STATES",
    "ARBalance",
    "Channel",
    "Customer",
    "ExternalRef",
    "InventoryPosition",
    "Item",
    "Order",
    "OrderLine",
    "OrderState",
    "PriceAgreement",
    "ShipTo",
    "TerritoryAssignment",
    "Warehouse",
]
