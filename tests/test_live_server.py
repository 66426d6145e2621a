"""The live server used by browser, race and load tests serves the real app."""
from __future__ import annotations

import json
import urllib.request

import pytest

pytestmark = pytest.mark.slow  # starts gunicorn


def test_gunicorn_serves_health_and_pages(live_server):
    server = live_server(workers=2)
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
    with urllib.request.urlopen(server.url + "/", timeout=5) as response:
        body = response.read().decode()
        assert response.status == 200 and "Portal" in body
        assert "Content-Security-Policy" in response.headers
