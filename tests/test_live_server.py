"""The live server used by browser, race and load tests serves the real app."""
from __future__ import annotations

import json
import socket
import urllib.request

import pytest

from tests.support.live import BROWSER_THREADS

pytestmark = pytest.mark.slow  # starts gunicorn


def test_gunicorn_serves_health_and_pages(live_server):
    server = live_server(workers=2)
    with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}
    with urllib.request.urlopen(server.url + "/", timeout=5) as response:
        body = response.read().decode()
        assert response.status == 200 and "Portal" in body
        assert "Content-Security-Policy" in response.headers


def test_a_silent_connection_does_not_hold_up_the_browsers_server(live_server):
    # Chromium opens connections ahead of need and may send nothing on them for a while;
    # a sync worker would wait on one until its timeout (a minute), and every click with it.
    server = live_server(workers=1, threads=BROWSER_THREADS)
    with (
        socket.create_connection(("127.0.0.1", server.port)),
        urllib.request.urlopen(server.url + "/healthz", timeout=30) as response,
    ):
        assert json.loads(response.read())["status"] == "ok"
