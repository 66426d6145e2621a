"""Waiting for something done by a thread or another process, without guessing its speed."""
from __future__ import annotations

import time


def wait_until(predicate, timeout: float = 60, step: float = 0.05):
    """Poll ``predicate()`` until it is true, or the (generous, for a loaded machine) deadline
    passes; returns its last value, so ``assert wait_until(...)`` fails when it never came."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()
