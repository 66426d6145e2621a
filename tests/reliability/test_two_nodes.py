"""Two Portal nodes behind one address: separate instance folders (so separate local
certificate caches), one PostgreSQL, one Redis, one key folder, one secret key, and a job
worker started apart from both.

What one node does, the other knows at once: a license revoked through A is invalid
through B (and B's certificate of it is made again, not served from its cache); a rate
limit counts requests to both; a session revoked through B ends on A; a bulk job queued
through A is run by the worker and its progress shows on both.

Every client comes from an address of its own (``X-Forwarded-For``, the nodes trusting
one proxy, as behind a load balancer), so the rate limits in the shared Redis count
this test's requests alone.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from redis import Redis
from rq import Queue

from portal.extensions import db
from portal.models.license import License
from portal.models.user import Role
from tests.support.app import BACKEND
from tests.support.live import LIVE_SECRET_KEY, HttpClient, LiveServer, assert_server_healthy
from tests.support.polling import wait_until
from tests.support.worker import REDIS_URL, ROOT, flask_command, redis_or_skip

pytestmark = [pytest.mark.slow, pytest.mark.postgres_only]

# The machine is shared and loaded: every wait is for a condition, with a long deadline.
DEADLINE = 120
VERIFY_LIMIT = 4
TOTP_KEY = "test-totp-key-not-for-production"  # as the test app's (TEST_SETTINGS)


@pytest.fixture
def keys(tmp_path) -> Path:
    return tmp_path / "keys"


@pytest.fixture
def app(app_factory, keys):
    """The test's app signs with the nodes' key folder: what it issues, they verify."""
    return app_factory(SIGNING_KEY_DIR=str(keys), SECRET_KEY=LIVE_SECRET_KEY)


@pytest.fixture
def cluster(db_url, tmp_path, keys):
    """Nodes A and B and the shared environment (started by the test, stopped here)."""
    if BACKEND != "postgresql":
        pytest.skip("two nodes share one PostgreSQL database: run with PORTAL_TEST_DATABASE=postgresql")
    redis_or_skip()
    queue = f"portal-test-{uuid.uuid4().hex[:10]}"
    shared = {
        "REDIS_URL": REDIS_URL,
        "PORTAL_JOBS_QUEUE": queue,
        "PORTAL_KEY_DIR": str(keys),
        # Written by whichever process runs the export, handed out by whichever node is asked.
        "PORTAL_EXPORT_DIR": str(tmp_path / "shared-exports"),
        "SECRET_KEY": LIVE_SECRET_KEY,
        "PORTAL_TOTP_KEY": TOTP_KEY,
        # One public address for both (QR codes, credentials, the certificate cache key).
        "PORTAL_BASE_URL": "http://portal.test",
        "PORTAL_TRUSTED_PROXIES": "1",
        "PORTAL_RATELIMIT_ENABLED": "1",
        # Per hour: the window opens at an address's first request, and however slow the
        # machine, this test's few requests to one address fall in it.
        "PORTAL_RATELIMIT_VERIFY": f"{VERIFY_LIMIT} per hour",
    }
    nodes = [LiveServer(db_url, tmp_path / name, workers=2, env=shared) for name in ("node-a", "node-b")]
    try:
        for node in nodes:
            node.start(timeout=DEADLINE)
        yield nodes[0], nodes[1], shared
    finally:
        for node in nodes:
            node.stop()
        Queue(queue, connection=Redis.from_url(REDIS_URL)).delete(delete_jobs=True)


class Visitor(HttpClient):
    """A browser at an address of its own; ``on(node)`` is the same browser (same cookies)
    sent to another node, as a load balancer would."""

    def __init__(self, base_url: str, ip: str | None = None, jar=None):
        super().__init__(base_url, timeout=DEADLINE, jar=jar)
        self.ip = ip or _new_address()

    def on(self, node: LiveServer) -> Visitor:
        twin = Visitor(node.url, self.ip, jar=self.jar)
        twin.csrf = self.csrf
        return twin

    def request(self, method, path, data=None, headers=None):
        headers = {"X-Forwarded-For": self.ip, **(headers or {})}
        return super().request(method, path, data=data, headers=headers)


def _new_address() -> str:
    """A private address no other visitor of this run (or of another run on the same Redis)
    is likely to have."""
    n = secrets.randbits(24)
    return f"10.{n >> 16}.{(n >> 8) & 255}.{(n & 255) or 1}"


def _verify(node: LiveServer, code: str, ip: str | None = None):
    return Visitor(node.url, ip).request("GET", f"/verify/{code}.json")


def _state(node: LiveServer, code: str) -> str:
    reply = _verify(node, code)
    assert reply.status == 200, (reply.status, reply.body[:300])
    answer = json.loads(reply.body)
    assert answer["valid"] is (answer["state"] in ("valid", "expiring_soon")), answer
    return answer["state"]


def _revocation_list(node: LiveServer) -> str:
    reply = Visitor(node.url).request("GET", "/credentials/status/revocation")
    assert reply.status == 200, (reply.status, reply.body[:300])
    return json.loads(reply.body)["credentialSubject"]["encodedList"]


def _pdfs(node: LiveServer) -> list[str]:
    folder = node.instance_path / "certificates"
    return sorted(p.name for p in folder.glob("*.pdf")) if folder.is_dir() else []


def test_two_nodes_share_what_must_be_shared(app, cluster, make_user, make_specialization, make_license,
                                             class_of_students, audit_events):
    a, b, shared = cluster
    admin = make_user(Role.ADMIN)
    holder = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization())

    # --- the same keys on both: one signing key ring, one transparency log key
    published = [Visitor(n.url).request("GET", "/.well-known/portal-keys.json") for n in (a, b)]
    assert published[0].status == published[1].status == 200
    assert published[0].body == published[1].body

    # --- one login, good on both nodes (one secret key)
    browser_a = Visitor(a.url)
    browser_a.login(admin.email, admin.password)
    browser_b = browser_a.on(b)
    assert browser_b.get("/auth/sessions").status == 200

    # --- a license revoked through A is invalid through B at once
    assert _state(b, license.code) == "valid"
    assert _state(b, license.code) == "valid"  # asked twice: whatever B caches, it has it now
    before = browser_b.request("GET", f"/licenses/{license.id}/certificate.pdf")
    assert before.status == 200 and before.header("Content-Type") == "application/pdf"
    cached_on_b = _pdfs(b)
    list_before = _revocation_list(b)  # the credential exists since the certificate was made
    assert len(cached_on_b) == 1 and _pdfs(a) == []  # each node caches its own
    browser_b.get(f"/admin/licenses/{license.id}/revoke")  # the form from B ...
    revoked = browser_b.on(a).post(f"/admin/licenses/{license.id}/revoke",  # ... sent to A
                                   {"reason_category": "fraud", "note": "Forged papers"})
    assert revoked.status in (302, 303), (revoked.status, revoked.body[:500])
    assert _state(b, license.code) == "revoked"  # no waiting: the very next answer
    assert _state(a, license.code) == "revoked"
    assert "Not valid: revoked." in Visitor(b.url).request("GET", f"/verify/{license.code}").body
    # The credential's status list says so too, on both (its signed document is cached by content).
    assert _revocation_list(b) == _revocation_list(a) != list_before
    # B's cached certificate shows the license as it was: B makes it again, not from its cache.
    after = browser_b.request("GET", f"/licenses/{license.id}/certificate.pdf")
    assert after.status == 200 and after.body != before.body
    assert _pdfs(b) != cached_on_b and len(_pdfs(b)) == 1
    downloads = [e.details["cached"] for e in audit_events("license.certificate_downloaded")]
    assert downloads == [False, False], downloads

    # --- a rate limit counts requests to both nodes together (one Redis)
    ip = Visitor(a.url).ip
    answers = [_verify(node, license.code, ip).status for node in (a, b) * (VERIFY_LIMIT // 2)]
    assert answers == [200] * VERIFY_LIMIT, answers  # half on each node: all within the limit
    assert _verify(a, license.code, ip).status == 429
    assert _verify(b, license.code, ip).status == 429
    assert _verify(b, license.code).status == 200  # another address has its own budget

    # --- a session revoked through B ends on A
    holder_a = Visitor(a.url)
    holder_a.login(holder.email, holder.password)
    holder_b = Visitor(b.url)  # another device of the same person, on the other node
    holder_b.login(holder.email, holder.password)
    assert holder_a.get("/auth/sessions").status == 200
    holder_b.get("/auth/sessions")
    ended = holder_b.post("/auth/sessions/revoke-others")
    assert ended.status in (302, 303), (ended.status, ended.body[:500])
    refused = holder_a.get("/auth/sessions")
    assert refused.status in (302, 303) and "/auth/login" in refused.header("Location")
    assert holder_a.on(b).get("/auth/sessions").status in (302, 303)  # on B neither
    assert holder_b.get("/auth/sessions").status == 200  # the device that ended it stays in

    # --- a bulk job queued through A, run by a worker started apart, seen on both
    klass, spec, student_ids = class_of_students(4)
    form = browser_a.get(f"/admin/licenses/bulk?klass={klass.id}&action=issue")
    assert form.status == 200, form.body[:1000]
    digest = re.search(r'name="preview" type="hidden" value="([0-9a-f]{32})"', form.body).group(1)
    queued = browser_a.post("/admin/licenses/bulk", {"klass": klass.id, "action": "issue", "preview": digest})
    assert queued.status == 303, (queued.status, queued.body[:1000])
    job_path = "/admin/jobs/" + queued.header("Location").rstrip("/").rsplit("/", 1)[1]
    for browser in (browser_a, browser_b):
        assert "Waiting for a worker" in browser.get(job_path).body

    worker = _start_worker(shared, app, Path(a.instance_path).parent / "worker")
    try:
        for browser in (browser_a, browser_b):
            assert wait_until(lambda browser=browser: _finished(browser.get(job_path).body),
                              timeout=DEADLINE, step=0.5), (worker.poll(), _log(worker))
            body = browser.get(job_path).body
            assert '<progress value="4" max="4"' in body and "4 done, 0 skipped, 0 failed" in body
        with app.app_context():
            codes = db.session.scalars(
                sa.select(License.code).where(License.specialization_id == spec.id)).all()
        assert len(codes) == 4
        # Signed by the worker with the shared keys: both nodes vouch for them.
        assert _state(a, codes[0]) == "valid" and _state(b, codes[-1]) == "valid"

        # --- a data export asked for on B, made by the worker, downloaded from A
        holder_b.get("/account/privacy")
        asked = holder_b.post("/account/export")
        assert asked.status == 303, (asked.status, asked.body[:500])
        download = asked.header("Location").rstrip("/") + "/download"
        same_person_on_a = holder_b.on(a)

        def zip_from_a():
            reply = same_person_on_a.request("GET", download)
            return reply if reply.status == 200 else None

        got = wait_until(zip_from_a, timeout=DEADLINE, step=0.5)
        assert got and got.header("Content-Type") == "application/zip", (worker.poll(), _log(worker))
    finally:
        _stop(worker)

    for node in (a, b):
        assert_server_healthy(node, [])


def _finished(body: str) -> bool:
    return "badge-finished" in body


def _start_worker(shared: dict, app, instance: Path) -> subprocess.Popen:
    """``flask jobs worker`` as production runs it: its own instance folder, the shared rest."""
    instance.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **shared,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "PORTAL_INSTANCE_PATH": str(instance),
    }
    log = open(instance / "worker.log", "w")  # noqa: SIM115 - closed in _stop()
    process = subprocess.Popen(flask_command("jobs", "worker"), cwd=ROOT, env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    process.log_file = log
    process.log_path = instance / "worker.log"
    return process


def _log(worker) -> str:
    worker.log_file.flush()
    return worker.log_path.read_text()[-3000:]


def _stop(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    worker.log_file.close()
