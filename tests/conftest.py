"""Shared pytest setup: fixtures, and the rule that a skip is a failure when services are required."""

import os

import pytest

pytest_plugins = [
    "tests.fixtures.users",
    "tests.fixtures.orders",
    "tests.fixtures.holds",
    "tests.fixtures.integrations",
    "tests.fixtures.processes",
    "tests.fixtures.billing",
    "tests.fixtures.insights",
    "tests.fixtures.deliveries",
]

REQUIRE_SERVICES = os.environ.get("O2C_REQUIRE_SERVICES") == "1"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With O2C_REQUIRE_SERVICES=1 (CI), a test skipped for a missing service fails instead."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)  # fixtures read how the test itself went
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"O2C_REQUIRE_SERVICES=1, but this test was skipped: {reason}"


def pytest_terminal_summary(terminalreporter):
    """The reliability and security scenarios' one-line summaries, as one table."""
    from tests.summary import LINES

    if not LINES:
        return
    terminalreporter.section("reliability and security scenarios")
    width = max(len(line["scenario"]) for line in LINES)
    for line in LINES:
        terminalreporter.write_line(
            f"{line['scenario']:<{width}}  {line['result']:<10}  lost={line['lost']}  "
            f"faults: {line['faults']}  load: {line['load']}"
        )
