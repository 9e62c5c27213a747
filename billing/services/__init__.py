"""Every write in billing: shipments, invoicing under the billing rules, finance's approvals and
credit memos. Import from here."""

from .approvals import (
    invoice_approve,
    invoice_bill_ordered_only,
    invoice_mark_posted,
    invoice_record_posting_refusal,
    invoice_release,
    invoice_void,
    invoices_approve_preview,
    makers,
)
from .credit_memos import credit_memo_create, credit_memo_tier
from .invoicing import (
    billing_policy,
    consolidation_window,
    due_date,
    invoice_create,
    invoices_consolidate,
    shipments_hold_pod_overdue,
    shipments_invoice,
    shipments_waive_pod,
)
from .settlement import invoices_settle
from .shipments import SHIPPABLE, shipment_deliver, shipment_record

__all__ = [
    "SHIPPABLE",
    "billing_policy",
    "consolidation_window",
    "credit_memo_create",
    "credit_memo_tier",
    "due_date",
    "invoice_approve",
    "invoice_bill_ordered_only",
    "invoice_create",
    "invoice_mark_posted",
    "invoice_record_posting_refusal",
    "invoice_void",
    "invoices_approve_preview",
    "invoices_consolidate",
    "invoices_settle",
    "makers",
    "shipments_hold_pod_overdue",
    "invoice_release",
    "shipment_deliver",
    "shipment_record",
    "shipments_invoice",
    "shipments_waive_pod",
]
