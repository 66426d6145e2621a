"""Run the whole suite on SQLite, then again on PostgreSQL (`make test`).

The PostgreSQL run creates a throw-away database and drops it afterwards; when no
server answers, its tests are reported as skipped with the reason.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time


def run(backend: str, extra: list[str]) -> int:
    env = {**os.environ, "PORTAL_TEST_DATABASE": backend}
    print(f"\n=== Portal test suite on {backend} ===", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *extra], env=env)
    print(f"=== {backend}: exit {code} in {time.monotonic() - started:.0f}s ===", flush=True)
    return code


def main() -> int:
    extra = sys.argv[1:]
    results = {backend: run(backend, extra) for backend in ("sqlite", "postgresql")}
    failed = [name for name, code in results.items() if code != 0]
    if failed:
        print(f"FAILED on: {', '.join(failed)}")
        return 1
    print("All tests passed on SQLite and PostgreSQL.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
