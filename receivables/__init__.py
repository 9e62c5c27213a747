"""Receivables: payments in from bank statements and remittances, matched to invoices and applied."""
