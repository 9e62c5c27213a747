"""Reliability fixtures: the signed ERP connector of the webhook tests, and the quiet sandbox of
the production scenarios (tests/reliability/harness.py), shared here."""

from tests.integrations.test_webhook import signed_erp  # noqa: F401 - a fixture, used by name
from tests.reliability.harness import quiet_sandbox  # noqa: F401 - a fixture, used by name
