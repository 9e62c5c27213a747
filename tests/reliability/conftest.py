"""Reliability fixtures: the signed ERP connector of the webhook tests, shared here."""

from tests.integrations.test_webhook import signed_erp  # noqa: F401 - a fixture, used by name
