"""Every test here runs with the session's log capture (scanned for secrets at the end)."""
import pytest


@pytest.fixture(autouse=True)
def _capture_logs(log_sink):
    yield log_sink
