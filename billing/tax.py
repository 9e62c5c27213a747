"""Tax calculation, pluggable: ``O2C_TAX_CALCULATOR`` names a class with ``rate_for``.

The default reads the TaxRate table (one rate per tax region, kept by finance in admin). A
calculator that cannot answer raises TaxError; invoicing then raises a billing hold instead of
guessing a rate.
"""

from datetime import date
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class TaxError(Exception):
    """No tax could be determined; the message says why, in finance's words."""


class TaxCalculator(Protocol):
    def rate_for(self, *, customer, on: date) -> Decimal: ...


class RateTableTaxCalculator:
    """The rate of the customer's tax region, from the TaxRate table."""

    def rate_for(self, *, customer, on: date) -> Decimal:
        from .models import TaxRate

        if not customer.tax_region:
            raise TaxError(f"Customer {customer.number} has no tax region.")
        rate = TaxRate.objects.filter(region=customer.tax_region, active=True).first()
        if rate is None:
            raise TaxError(f"No active tax rate for region “{customer.tax_region}”.")
        return rate.rate


def tax_calculator() -> TaxCalculator:
    path = getattr(settings, "O2C_TAX_CALCULATOR", "billing.tax.RateTableTaxCalculator")
    return import_string(path)()
