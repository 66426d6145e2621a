"""Helpers shared by the benchmarks: a throw-away portal instance, gunicorn, wrk.

- ``Instance()``: a temporary instance folder with a migrated SQLite database (or the
  ``DATABASE_URL`` given), and ``instance.app()`` for in-process work on it.
- ``Server(app_spec, env)``: gunicorn on a free loopback port, started and stopped
  around a ``with`` block; every server gets the same settings (``GUNICORN_ARGS``).
- ``wrk(url, seconds)``: runs wrk, bounded in time, and parses requests per second,
  latency and errors.
- ``timed(fn, n)``: the median and 95th percentile of ``n`` calls, in milliseconds.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def workers_default() -> int:
    return int(os.environ.get("BENCH_WORKERS", max(2, os.cpu_count() or 2)))


# The same gunicorn settings for every app a benchmark compares.
def worker_class() -> tuple[str, int]:
    """gunicorn's worker class and threads per worker: ``BENCH_WORKER_CLASS`` (``sync`` or
    ``gthread``) and ``BENCH_THREADS``, to compare them; by default production's."""
    return (os.environ.get("BENCH_WORKER_CLASS", "sync"), int(os.environ.get("BENCH_THREADS", "1")))


def gunicorn_args(workers: int) -> list[str]:
    kind, threads = worker_class()
    return ["--workers", str(workers), "--worker-class", kind, "--threads", str(threads),
            "--timeout", "60", "--graceful-timeout", "5", "--log-level", "warning", "--backlog", "2048"]


class Instance:
    """A throw-away portal instance folder with a migrated database."""

    def __init__(self, database_url: str | None = None):
        self.path = Path(tempfile.mkdtemp(prefix="portal-bench-"))
        self.database_url = database_url or f"sqlite:///{self.path / 'portal.db'}"
        self.env = {
            "PORTAL_INSTANCE_PATH": str(self.path),
            "DATABASE_URL": self.database_url,
            "SECRET_KEY": "bench-secret-key",
            "PORTAL_ARGON2_TIME_COST": "1",
            "PORTAL_ARGON2_MEMORY_COST": "1024",
        }
        subprocess.run(
            [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
            cwd=ROOT, env={**os.environ, **self.env}, check=True, capture_output=True, timeout=120,
        )

    def app(self, **overrides):
        from portal import create_app

        os.environ.update(self.env)
        return create_app({"INSTANCE_PATH": str(self.path), **overrides})

    def cleanup(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)


@dataclass
class Server:
    """gunicorn serving ``app_spec`` (e.g. ``wsgi:app``) on a free port."""

    app_spec: str
    env: dict[str, str] = field(default_factory=dict)
    workers: int = field(default_factory=workers_default)
    health_path: str = "/healthz"
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.port = free_port()
        command = [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
                   *gunicorn_args(self.workers), self.app_spec]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env={**os.environ, **self.env}, start_new_session=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.app_spec} exited: {self.process.stderr.read().decode()}")
            try:
                with urllib.request.urlopen(self.url + self.health_path, timeout=2):
                    return self
            except OSError:
                time.sleep(0.1)
        self.__exit__()
        raise RuntimeError(f"{self.app_spec} did not start")

    def __exit__(self, *exc) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)
        if self.process and self.process.stderr:
            self.process.stderr.close()


@dataclass
class WrkResult:
    rps: float
    latency_avg_ms: float
    latency_p99_ms: float
    requests: int
    errors: int
    non_2xx: int

    def __str__(self) -> str:
        return (f"{self.rps:8.0f} req/s  avg {self.latency_avg_ms:6.2f} ms  "
                f"p99 {self.latency_p99_ms:6.2f} ms  errors {self.errors}  non-2xx {self.non_2xx}")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(
    url: str, seconds: int = 5, threads: int = 2, connections: int = 16, cookie: str | None = None
) -> WrkResult:
    """Load ``url`` for ``seconds`` with wrk; needs the ``wrk`` program (Debian: ``wrk``)."""
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (Debian: apt-get install wrk)")
    headers = ["-H", f"Cookie: {cookie}"] if cookie else []
    out = subprocess.run(
        ["wrk", "--latency", "-t", str(threads), "-c", str(connections), "-d", f"{seconds}s",
         "--timeout", "10s", *headers, url],
        check=True, capture_output=True, text=True, timeout=seconds + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    avg = _ms(re.search(r"Latency\s+([\d.]+\w+)", out).group(1))
    p99 = _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1))
    requests = int(re.search(r"(\d+) requests in", out).group(1))
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return WrkResult(rps, avg, p99, requests, errors, non_2xx)


def timed(fn: Callable[[], object], n: int) -> tuple[float, float]:
    """Median and 95th percentile of ``n`` calls of ``fn``, in milliseconds."""
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[min(len(samples) - 1, int(len(samples) * 0.95))]
