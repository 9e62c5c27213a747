"""Receivables reacting to the business (nothing yet beyond its own services)."""
