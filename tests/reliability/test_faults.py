"""Faults: the database, Redis, the mail server, the outbox or the PDF renderer fail,
or a worker dies halfway through a job. Portal answers calmly, loses nothing and
recovers when the part comes back."""
from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
import weasyprint

from portal import mail
from portal.admin import services as admin_services
from portal.extensions import db
from portal.licenses import codes
from portal.models.job import Job, JobItem, JobStatus
from portal.models.klass import Klass
from portal.models.license import License, LicenseEvent
from portal.models.user import Role, User
from tests.support.factories.users import PASSWORD
from tests.support.http import login
from tests.support.live import HttpClient, assert_chain_intact, free_port
from tests.support.logs import add_secret, secrets_snapshot
from tests.support.polling import wait_until

ROOT = Path(__file__).resolve().parents[2]


# --- the database goes away and comes back ------------------------------------------


class TcpProxy:
    """A loopback TCP proxy we can cut and restore: the database "unplugged"."""

    def __init__(self, target: tuple[str, int]):
        self.target = target
        self.port = free_port()
        self._server: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> TcpProxy:
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", self.port))
        self._server.listen(64)
        threading.Thread(target=self._accept, args=(self._server,), daemon=True).start()
        return self

    def _accept(self, server):
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst):
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def cut(self):
        if self._server:
            try:  # wakes up the thread blocked in accept()
                self._server.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._server.close()
            self._server = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
                except OSError:
                    pass
            self._conns.clear()


@pytest.fixture
def unpluggable_db(app_factory, db_url, tmp_path):
    """An app whose database can be taken away (``down()``) and given back (``up()``)."""
    url = sa.engine.make_url(db_url)
    if url.get_backend_name() == "sqlite":
        path = Path(url.database)
        app = app_factory()
        aside = tmp_path / "aside"
        aside.mkdir()

        def down():
            with app.app_context():
                db.engine.dispose()
            for suffix in ("", "-wal", "-shm"):
                src = Path(str(path) + suffix)
                if src.exists():
                    shutil.move(src, aside / (path.name + suffix))
            path.mkdir()  # a directory where the file was: "unable to open database file"

        def up():
            path.rmdir()
            for suffix in ("", "-wal", "-shm"):
                src = aside / (path.name + suffix)
                if src.exists():
                    shutil.move(src, Path(str(path) + suffix))

        yield app, down, up
        if path.is_dir():
            up()
        return
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432)).start()
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    app = app_factory(
        SQLALCHEMY_DATABASE_URI=proxied,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True, "connect_args": {"connect_timeout": 3}},
    )

    def pg_down():
        proxy.cut()

    def pg_up():
        proxy.start()

    yield app, pg_down, pg_up
    proxy.cut()


def test_database_unreachable_then_back(unpluggable_db, make_user, caplog, audit_events):
    app, down, up = unpluggable_db
    user = make_user(Role.STUDENT)
    client = app.test_client()
    login(client, user)
    assert client.get("/healthz").status_code == 200
    assert client.get("/dashboard").status_code == 200

    well_formed = codes.generate("PLY")
    down()
    with caplog.at_level(logging.WARNING):
        health = client.get("/healthz")
        assert health.status_code == 503
        assert health.get_json() == {"status": "error", "database": "unreachable"}
        for path in ("/", "/dashboard", f"/verify/{well_formed}", "/auth/login"):
            response = client.get(path)
            assert response.status_code == 503, path
            body = response.get_data(as_text=True)
            assert "Temporarily unavailable" in body and "Traceback" not in body
            assert "Content-Security-Policy" in response.headers
        post = anonymous = app.test_client().post(
            "/auth/login", data={"email": user.email, "password": user.password}
        )
        assert anonymous.status_code == 503, post.get_data(as_text=True)[:300]
        json_answer = client.get(f"/verify/{well_formed}.json")
        assert json_answer.status_code == 503 and json_answer.get_json()["status"] == 503
    assert "database unreachable" in caplog.text and "database unavailable" in caplog.text

    up()
    # The same process recovers without a restart; the logged-in session still works.
    assert wait_until(lambda: client.get("/healthz").status_code == 200)
    assert client.get("/dashboard").status_code == 200
    fresh = app.test_client()
    login(fresh, user)
    assert "auth.login" in audit_events.actions()
    assert_chain_intact(app)


# --- Redis configured but down ------------------------------------------------------------


def test_redis_unreachable_limits_fall_back_to_memory(app_factory, make_user, caplog):
    dead = "redis://127.0.0.1:1/0"
    with caplog.at_level(logging.WARNING):
        app = app_factory(REDIS_URL=dead, RATELIMIT_STORAGE_URI=dead, RATELIMIT_ENABLED=True,
                          RATELIMIT_LOGIN="3 per minute", JOBS_INLINE=False)
        client = app.test_client()
        assert client.get("/").status_code == 200
        assert client.get("/healthz").status_code == 200
        statuses = [
            client.post("/auth/login", data={"email": "x@example.org", "password": "not it!!"}).status_code
            for _ in range(5)
        ]
    # Still serving, still limiting (in memory): the 4th attempt is refused.
    assert 500 not in statuses and 503 not in statuses
    assert all(code in (401, 422) for code in statuses[:3]) and statuses[3:] == [429, 429], statuses
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert any("fall" in r.getMessage().lower() or "redis" in r.getMessage().lower()
               or "storage" in r.getMessage().lower() for r in warnings), [r.getMessage() for r in warnings]
    # Another address is not affected by that client's budget, and logs in.
    user = make_user(Role.STUDENT)
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "10.1.2.3"
    login(other, user)
    assert other.get("/dashboard").status_code == 200


@pytest.mark.slow
def test_redis_down_live_server_keeps_serving(live_server, make_user):
    """The real gunicorn process with REDIS_URL pointing nowhere: pages, logins and limits work."""
    server = live_server(workers=1, REDIS_URL="redis://127.0.0.1:1/0", PORTAL_RATELIMIT_ENABLED="1",
                         PORTAL_RATELIMIT_LOGIN="1000 per minute")
    user = make_user(Role.STUDENT)
    visitor = HttpClient(server.url)
    assert visitor.get("/").status == 200
    visitor.login(user.email, user.password)
    assert visitor.get("/dashboard").status == 200
    log = server.log()
    assert "Traceback" not in log
    assert "redis" in log.lower() or "storage" in log.lower(), log[-2000:]


# --- mail: server down, outbox not writable ---------------------------------------------


def _forgot(client, email):
    return client.post("/auth/forgot-password", data={"email": email})


def _normalise(html: str) -> str:
    html = re.sub(r'name="csrf_token"[^>]*>', "", html)
    return re.sub(r"\s+", " ", html)


def test_smtp_down_reset_answers_the_same_and_logs(app_factory, make_user, caplog, audit_events):
    port = free_port()  # nothing listens there
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    user = make_user(Role.STUDENT, email="smtp.down@example.org")
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        known = _forgot(client, user.email)
        unknown = _forgot(app.test_client(), "nobody-here@example.org")
        assert wait_until(lambda: "could not be sent" in caplog.text), caplog.text
    assert known.status_code == unknown.status_code
    assert known.status_code in (302, 303)
    if known.status_code in (302, 303):
        assert known.headers["Location"] == unknown.headers["Location"]
    else:
        assert _normalise(known.get_data(as_text=True)) == _normalise(unknown.get_data(as_text=True))
    failure = next(r for r in caplog.records if "could not be sent" in r.getMessage())
    assert failure.levelno >= logging.WARNING
    assert user.email not in failure.getMessage()  # the address is masked
    assert len(audit_events("auth.password_reset_requested")) == 2


def test_outbox_not_writable(app_factory, make_user, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the outbox folder should be")
    app = app_factory(MAIL_OUTBOX=str(blocker / "outbox"))
    user = make_user(Role.STUDENT, email="outbox.blocked@example.org")
    with app.app_context(), caplog.at_level(logging.INFO, logger="portal.mail"):
        assert mail.send(user.email, "Hello", "Body with a link http://x/reset-password/abc") is False
    assert "could not be sent" in caplog.text
    assert "reset-password" not in caplog.text  # the body is never logged
    caplog.clear()
    client = app.test_client()
    with caplog.at_level(logging.INFO, logger="portal.mail"):
        response = _forgot(client, user.email)
        assert response.status_code < 500
        assert wait_until(lambda: "could not be sent" in caplog.text)
    # The rest of the portal is unaffected.
    login(client, user)
    assert client.get("/dashboard").status_code == 200


# --- the PDF renderer fails --------------------------------------------------------------


@pytest.fixture
def holder_with_license(make_user, make_specialization, make_license):
    holder = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization())
    return holder, license


def _license_state(app, license_id):
    with app.app_context():
        lic = db.session.get(License, license_id)
        history = db.session.scalar(sa.select(sa.func.count()).where(LicenseEvent.license_id == license_id))
        return (lic.level, lic.status, lic.head_hash, lic.signature, lic.version, history)


def _cache_files(app) -> list[Path]:
    folder = Path(app.config["CERTIFICATE_CACHE_DIR"])
    return sorted(folder.glob("*.pdf")) + sorted(folder.glob(".tmp-*")) if folder.exists() else []


def test_pdf_renderer_raising(app, client, holder_with_license, monkeypatch, audit_events):
    holder, license = holder_with_license
    login(client, holder)
    before = _license_state(app, license.id)

    def broken(self, *args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", broken)
    response = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    assert "could not be produced" in body and "renderer crashed" not in body and "Traceback" not in body
    assert _license_state(app, license.id) == before
    assert _cache_files(app) == []
    assert audit_events("license.certificate_downloaded") == []
    monkeypatch.undo()
    # When the renderer works again, the certificate comes out and is cached.
    ok = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert ok.status_code == 200 and ok.data.startswith(b"%PDF")
    assert len(_cache_files(app)) == 1


def test_pdf_renderer_too_slow(app_factory, holder_with_license, monkeypatch, caplog):
    """A render that hangs past the limit gives the friendly error; nothing is cached.

    The render is held until the response is in, so the request can only have come
    back through the time limit, however slow the machine.
    """
    holder, license = holder_with_license
    app = app_factory(CERTIFICATE_RENDER_TIMEOUT=1)
    original = weasyprint.HTML.write_pdf
    release = threading.Event()

    def hanging(self, *args, **kwargs):
        release.wait(timeout=60)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", hanging)
    client = app.test_client()
    login(client, holder)
    before = _license_state(app, license.id)
    try:
        with caplog.at_level(logging.ERROR, logger="portal"):
            response = client.get(f"/licenses/{license.id}/certificate.pdf")
        assert not release.is_set()  # the render was still hanging when the answer came
    finally:
        release.set()
    assert response.status_code == 503
    assert "could not be produced" in response.get_data(as_text=True)
    assert "took too long" in caplog.text  # the time limit, not a renderer error
    assert _license_state(app, license.id) == before
    assert _cache_files(app) == []


# --- a worker killed in the middle of a bulk job ---------------------------------------


@pytest.mark.slow
def test_worker_killed_mid_bulk_job_no_duplicates(app, db_url, tmp_path, make_user, make_specialization,
                                                  make_class, join, audit_events):
    admin = make_user(Role.ADMIN)
    instructor = make_user(Role.INSTRUCTOR)
    spec = make_specialization()
    klass = make_class(instructor, spec)
    # More students than one chunk of the bulk job (whose certificates render between
    # chunks), so the worker is still making changes when it is killed.
    students = [make_user(Role.STUDENT) for _ in range(30)]
    for student in students:
        join(student, klass)
    with app.app_context():
        job = admin_services.start_bulk(db.session.get(Klass, klass.id), "issue", True,
                                        db.session.get(User, admin.id))
        db.session.commit()
        job_id = job.id
    env = {**os.environ, "DATABASE_URL": db_url, "PORTAL_INSTANCE_PATH": str(tmp_path / "instance"),
           "SECRET_KEY": "test-secret-key-not-for-production"}
    env.pop("REDIS_URL", None)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "jobs", "run", str(job_id)]
    worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)

    def items_done():
        # As a reader (a GET request context): outside requests, SQLite transactions
        # begin as writers and would queue behind the worker.
        with app.test_request_context("/", method="GET"):
            return db.session.scalar(sa.select(sa.func.count()).where(JobItem.job_id == job_id))

    try:
        assert wait_until(lambda: items_done() >= 2 or worker.poll() is not None)
        assert worker.poll() is None, "the job finished before we could interrupt it"
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
    halfway = items_done()
    assert 2 <= halfway < len(students)
    with app.app_context():
        assert db.session.get(Job, job_id).status == JobStatus.RUNNING  # died, not finished

    rerun = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    with app.app_context():
        job = db.session.get(Job, job_id)
        assert job.status == JobStatus.FINISHED
        keys = list(db.session.scalars(sa.select(JobItem.key).where(JobItem.job_id == job_id)))
        assert sorted(keys) == sorted(str(s.id) for s in students)  # each item once
        for student in students:
            licenses = db.session.scalars(sa.select(License).where(License.holder_id == student.id)).all()
            assert len(licenses) == 1, student.email
            issued = [e for e in audit_events("license.issued") if e.resource_id == str(licenses[0].id)]
            assert len(issued) == 1
            history = db.session.scalar(sa.select(sa.func.count()).where(
                LicenseEvent.license_id == licenses[0].id))
            assert history == 1
    assert_chain_intact(app)


def test_secrets_registered():
    """The log scan knows the password every factory user has."""
    add_secret("correct horse battery")
    assert PASSWORD in secrets_snapshot()
