"""pytest plugin: with CODA_REQUIRE_SERVICES=1 (CI) a test that would be skipped — skip, skipif, importorskip,
a fixture's skip for a missing service, browser or client — fails instead, naming the reason."""

import pytest

from tests.plugins import REQUIRE_SERVICES


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if REQUIRE_SERVICES and report.skipped and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = (
            f"{item.nodeid} would be skipped, but CODA_REQUIRE_SERVICES=1 requires every test to run: {reason}"
        )
