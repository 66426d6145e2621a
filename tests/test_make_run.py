"""`make run PORT=…`: the newcomer's command serves on the chosen port, and the links the
portal prints and e-mails point at that port."""
from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import subprocess
import urllib.parse
import urllib.request

import pytest

from portal.seed.accounts import DEMO_PASSWORD
from tests.support.http import csrf_token_from
from tests.support.live import ROOT, free_port
from tests.support.polling import wait_until

pytestmark = pytest.mark.slow


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def test_make_run_serves_on_the_chosen_port_and_links_follow(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'portal.db'}",
        "PORTAL_ARGON2_TIME_COST": "1",
        "PORTAL_ARGON2_MEMORY_COST": "1024",
    }
    env.pop("PORTAL_BASE_URL", None)
    env.pop("REDIS_URL", None)
    log = tmp_path / "make-run.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run", f"PORT={port}"], cwd=ROOT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: process.poll() is not None or _answers(base + "/healthz"), timeout=240)
        assert process.poll() is None, log.read_text()
        # The printed logins say where to log in, on the chosen port.
        assert f"Open {base}/auth/login" in log.read_text()
        # A demo student's license page shows a verification link through the chosen port.
        browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        form = browser.open(base + "/auth/login", timeout=10).read().decode()
        fields = {"email": "maya@demo.academy", "password": DEMO_PASSWORD,
                  "csrf_token": csrf_token_from(form)}
        browser.open(base + "/auth/login", urllib.parse.urlencode(fields).encode(), timeout=30)
        mine = browser.open(base + "/licenses/", timeout=10).read().decode()
        license_path = re.search(r'href="(/licenses/\d+)"', mine).group(1)
        page = browser.open(base + license_path, timeout=30).read().decode()
        assert f"{base}/verify/" in page
        assert "127.0.0.1:5000" not in page
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    # A PORTAL_BASE_URL set by the person (a proxy's public address) wins over the port.
    dry = subprocess.run(
        ["make", "--no-print-directory", "-n", "run", f"PORT={port}"], cwd=ROOT,
        capture_output=True, text=True, check=True,
    ).stdout
    assert "PORTAL_BASE_URL=${PORTAL_BASE_URL:-http://127.0.0.1:" + str(port) + "}" in dry
