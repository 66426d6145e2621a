"""The RQ path of background jobs: the test Redis, and a real ``flask jobs worker`` process
on the test's database."""
from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from redis import Redis
from rq import Queue

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("PORTAL_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def redis_or_skip() -> None:
    try:
        Redis.from_url(REDIS_URL).ping()
    except Exception as exc:  # noqa: BLE001  - any failure means "not here"
        pytest.skip(f"Redis is not reachable at {REDIS_URL}: {exc}")


def worker_env(app, db_url: str) -> dict[str, str]:
    """The environment of a worker process that serves ``app``'s queue on its database."""
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": db_url,
            "PORTAL_INSTANCE_PATH": app.instance_path,
            "REDIS_URL": REDIS_URL,
            "PORTAL_JOBS_QUEUE": app.config["JOBS_QUEUE"],
            "SECRET_KEY": app.config["SECRET_KEY"],
            "PORTAL_BASE_URL": app.config["PORTAL_BASE_URL"],
        }
    )
    return env


def flask_command(*args: str) -> list[str]:
    """``flask --app wsgi ARGS`` from the project's virtualenv."""
    flask = ROOT / ".venv" / "bin" / "flask"
    if flask.exists():
        return [str(flask), "--app", "wsgi", *args]
    return [sys.executable, "-m", "flask", "--app", "wsgi", *args]


def run_worker_burst(app, db_url: str, timeout: int = 180) -> subprocess.CompletedProcess:
    """Run a worker until the queue is empty (``flask jobs worker --burst``)."""
    return subprocess.run(
        flask_command("jobs", "worker", "--burst"),
        cwd=ROOT,
        env=worker_env(app, db_url),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def rq_app(app_factory):
    """An app whose jobs go to a queue of its own on the test Redis (skips without Redis);
    serve it with ``run_worker_burst``."""
    redis_or_skip()
    queue = f"portal-test-{uuid.uuid4().hex[:10]}"
    app = app_factory(JOBS_INLINE=False, REDIS_URL=REDIS_URL, JOBS_QUEUE=queue)
    yield app
    Queue(queue, connection=Redis.from_url(REDIS_URL)).delete(delete_jobs=True)
