"""Finding 4: without Redis each gunicorn worker counts rate limits alone, so a limit of
120 a minute let 480 lookups through with 4 workers. Production refuses that setup."""
from __future__ import annotations

import os
import subprocess
import sys

from portal.config import rate_limit_storage
from tests.support.live import ROOT, free_port


def test_production_with_several_workers_needs_redis():
    described, problem = rate_limit_storage("production", 4, None)
    assert described.startswith("memory") and "REDIS_URL" in problem and "4 workers" in problem
    assert rate_limit_storage("production", 1, None)[1] is None
    assert rate_limit_storage("development", 4, None)[1] is None
    described, problem = rate_limit_storage("production", 4, "redis://:hunter2@cache:6379/0")
    assert problem is None and described == "Redis at cache:6379 (shared by all workers)"


def _gunicorn(workers: int, env: dict) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "GUNICORN_CMD_ARGS")}
    return subprocess.run(
        [sys.executable, "-m", "gunicorn", "--config", "gunicorn.conf.py", "--workers", str(workers),
         "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"],
        cwd=ROOT, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )


def test_gunicorn_refuses_to_start_in_production_without_redis(tmp_path):
    result = _gunicorn(4, {"PORTAL_ENV": "production", "PORTAL_INSTANCE_PATH": str(tmp_path),
                           "SECRET_KEY": "x" * 32})
    assert result.returncode == 1, result.stderr[-2000:]
    assert "REDIS_URL" in result.stderr and "4 workers" in result.stderr
    assert "Rate limits are counted in memory" in result.stderr
