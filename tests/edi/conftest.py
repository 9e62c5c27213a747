"""Fixtures the EDI tests share with others: three released invoices of one customer (the cash
application tests' own), for the 820s that pay them."""

from tests.receivables.test_cash_application import invoices  # noqa: F401 - a fixture
