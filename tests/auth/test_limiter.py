"""Per-IP throttling of login, registration and reset requests (Flask-Limiter)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap

import pytest
import redis

REDIS = "redis://127.0.0.1:6379"


def redis_or_skip():
    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"Redis is not reachable at {REDIS}: {exc}")


def attempt(client, path="/auth/login"):
    data = {"email": "someone@example.org", "password": "wrong password here"}
    if path == "/auth/forgot-password":
        data = {"email": "someone@example.org"}
    return client.post(path, data=data).status_code


def test_limit_per_ip_in_memory(app_factory, fresh_limiter):
    app = app_factory(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", RATELIMIT_LOGIN="3 per minute"
    )
    client = app.test_client()
    assert [attempt(client) for _ in range(4)] == [422, 422, 422, 429]
    response = client.post("/auth/login", data={})
    assert response.status_code == 429 and 0 < int(response.headers["Retry-After"]) <= 60
    assert "Too many attempts" in response.get_data(as_text=True)
    # Reading the form is not limited; another IP has its own budget.
    assert client.get("/auth/login").status_code == 200
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "198.51.100.7"
    within = other.post("/auth/login", data={"email": "someone@example.org", "password": "wrong password"})
    assert within.status_code == 422
    # An answer within the limit carries no X-RateLimit-* headers (each would cost the
    # storage a read); only a refusal says when to come back.
    assert not [name for name, _ in within.headers if name.startswith("X-RateLimit")]
    # Registration and reset requests are limited too.
    assert [attempt(client, "/auth/forgot-password") for _ in range(4)][-1] == 429


@pytest.mark.slow
def test_limit_shared_through_redis_by_two_app_instances(app_factory, fresh_limiter, db_url, tmp_path):
    redis_or_skip()

    settings = {
        "RATELIMIT_ENABLED": True,
        "RATELIMIT_STORAGE_URI": REDIS,
        "RATELIMIT_KEY_PREFIX": fresh_limiter,
        "RATELIMIT_LOGIN": "4 per minute",
    }
    first = app_factory(**settings).test_client()
    second = app_factory(**settings).test_client()
    assert [attempt(first), attempt(second)] == [422, 422]
    # A second process (another gunicorn worker, say) with its own memory.
    script = textwrap.dedent(f"""
        from portal import create_app
        from tests.support.app import TEST_SETTINGS
        app = create_app({{**TEST_SETTINGS, "SQLALCHEMY_DATABASE_URI": {db_url!r},
                          "INSTANCE_PATH": {str(tmp_path / "other")!r}, **{settings!r}}})
        c = app.test_client()
        data = {{"email": "someone@example.org", "password": "wrong password"}}
        print(c.post("/auth/login", data=data).status_code)
    """)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=os.getcwd()
    )
    assert out.stdout.strip().splitlines()[-1] == "422", out.stderr[-2000:]
    # Three attempts spent in three places; the fourth from anywhere is the last allowed.
    assert attempt(first) == 422
    assert attempt(second) == 429
    keys = redis.Redis.from_url(REDIS).keys(f"*{fresh_limiter}*")
    assert keys, "the counters live in Redis"
    redis.Redis.from_url(REDIS).delete(*keys)


def test_unreachable_redis_falls_back_to_memory_with_a_warning(app_factory, fresh_limiter, caplog):
    app = app_factory(
        RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="redis://127.0.0.1:1", RATELIMIT_LOGIN="2 per minute"
    )
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        codes = [attempt(client) for _ in range(3)]
    assert codes == [422, 422, 429]
    assert any(
        "falling back to in-memory" in r.getMessage() and r.levelno == logging.WARNING for r in caplog.records
    )
