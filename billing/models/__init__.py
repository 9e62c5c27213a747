"""Models of billing: shipments and their proof of delivery, invoices, credit memos, and the
governed settings (billing policy, tax rates) finance keeps in admin."""

from .invoice import (
    FINAL_STATES,
    CreditMemo,
    CreditMemoLine,
    CreditReason,
    Invoice,
    InvoiceLine,
    InvoiceState,
)
from .policy import BillingPolicy, TaxRate
from .shipment import Shipment, ShipmentLine, ShipmentState

__all__ = [
    "FINAL_STATES",
    "BillingPolicy",
    "CreditMemo",
    "CreditMemoLine",
    "CreditReason",
    "Invoice",
    "InvoiceLine",
    "InvoiceState",
    "Shipment",
    "ShipmentLine",
    "ShipmentState",
    "TaxRate",
]
