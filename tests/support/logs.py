"""Logs must never hold a secret.

- ``log_sink``: every log record of the session (from the security and reliability
  tests, plus the log files of the live servers they start) is kept and scanned at
  the end for passwords, reset tokens and session cookies.
- ``add_secret``: tests add what must never be logged (passwords they typed,
  cookie values, reset links they received).
"""
from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field

import pytest

from tests.support.factories.users import PASSWORD

# Patterns that must never appear in a log line, whatever the test.
SECRET_PATTERNS = [
    re.compile(r"reset-password/[A-Za-z0-9_.\-]{20,}"),
    re.compile(r"portal_session=[A-Za-z0-9_.\-]{10,}"),
    re.compile(r"portal_remember=[A-Za-z0-9_.\-|]{10,}"),
]

_secrets: set[str] = {PASSWORD}
_secrets_lock = threading.Lock()


def add_secret(value: str | None) -> None:
    """Remember a value that must never show up in any log."""
    if value and len(value) >= 8:
        with _secrets_lock:
            _secrets.add(value)


def secrets_snapshot() -> set[str]:
    with _secrets_lock:
        return set(_secrets)


def find_leaks(lines: list[str]) -> list[str]:
    """The log lines that contain a known secret or a secret-looking pattern."""
    known = secrets_snapshot()
    leaks = []
    for line in lines:
        if any(secret in line for secret in known) or any(p.search(line) for p in SECRET_PATTERNS):
            leaks.append(line[:300])
    return leaks


class _ListHandler(logging.Handler):
    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    def emit(self, record):
        try:
            text = self.format(record)
        except Exception:  # noqa: BLE001 - a broken record is still worth a line
            text = repr(record.msg)
        self.lines.append(text)


@dataclass
class LogSink:
    handler: _ListHandler
    extra_files: list = field(default_factory=list)

    def lines(self) -> list[str]:
        lines = list(self.handler.lines)
        for path in self.extra_files:
            try:
                lines.extend(path.read_text(errors="replace").splitlines())
            except OSError:
                pass
        return lines


@pytest.fixture(scope="session")
def log_sink():
    """Capture every log record from the start of the first security/reliability test."""
    root = logging.getLogger()
    handler = _ListHandler()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    sink = LogSink(handler)
    yield sink
    root.removeHandler(handler)
    root.setLevel(old_level)
    leaks = find_leaks(sink.lines())
    assert not leaks, "secrets found in the logs:\n" + "\n".join(leaks[:20])
