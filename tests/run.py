"""Run the whole suite on SQLite and on PostgreSQL at the same time (`make test`).

The two runs share nothing but the servers: the PostgreSQL run creates a throw-away
database and drops it afterwards, Redis keys and queues carry per-test prefixes, and
every server a test starts takes a free port. Each line of output is prefixed with its
database; each run's summary is repeated at the end. When no PostgreSQL server answers,
its tests are reported as skipped with the reason.

    python -m tests.run [pytest arguments]
    PORTAL_TEST_SERIAL=1 python -m tests.run    one database after the other
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections import deque

BACKENDS = ("sqlite", "postgresql")
SUMMARY_LINES = 40


class Run:
    def __init__(self, backend: str, extra: list[str]):
        self.backend = backend
        self.tail: deque[str] = deque(maxlen=SUMMARY_LINES)
        self.started = time.monotonic()
        env = {**os.environ, "PORTAL_TEST_DATABASE": backend}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "pytest", *extra], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, bufsize=1,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.tail.append(line)
            sys.stdout.write(f"[{self.backend}] {line}")
            sys.stdout.flush()

    def wait(self) -> int:
        code = self.process.wait()
        self.reader.join()
        self.seconds = time.monotonic() - self.started
        return code


def main() -> int:
    extra = sys.argv[1:]
    serial = os.environ.get("PORTAL_TEST_SERIAL") == "1"
    results: dict[str, int] = {}
    runs: list[Run] = []
    if serial:
        for backend in BACKENDS:
            run = Run(backend, extra)
            results[backend] = run.wait()
            runs.append(run)
    else:
        runs = [Run(backend, extra) for backend in BACKENDS]
        results = {run.backend: run.wait() for run in runs}
    for run in runs:
        print(f"\n=== {run.backend}: exit {results[run.backend]} in {run.seconds:.0f}s ===")
        print("".join(list(run.tail)[-6:]), end="", flush=True)
    failed = [name for name, code in results.items() if code != 0]
    if failed:
        print(f"FAILED on: {', '.join(failed)}")
        return 1
    print("All tests passed on SQLite and PostgreSQL.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
