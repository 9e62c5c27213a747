"""Shipments, invoices, credit memos, billing rules and the finance release queue."""
