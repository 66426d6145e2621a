"""`make bench`: Portal at scale, side by side with a bare Flask app, in one run.

    python -m bench.run

Settings come from the environment:

    BENCH_STUDENTS=100000  BENCH_AUDIT_EVENTS=1000000   size of the scale academy (`seed scale`)
    BENCH_DATABASE_URL=postgresql+psycopg://…/empty_db  PostgreSQL instead of a temporary SQLite file
    BENCH_SECONDS=5  BENCH_ROUNDS=3  BENCH_CONNECTIONS=50  BENCH_WORKERS=<cores>
    BENCH_BULK=500                                       students in the bulk issuance job (0: skip)
    BENCH_REDIS_URL=redis://127.0.0.1:6379/15            where the served Portal counts rate limits, as in
                                                         production (``none``: in each worker's memory)
    BENCH_NOTIFICATIONS=50                               notifications per account for the list page
                                                         (0: skip; the full-scale figure, 50 per account,
                                                         is ``python -m bench.bench_notifications``)

Steps: a scale database is made (migrations + `flask seed scale`); Portal and
``bench/hello_app.py`` are served by gunicorn with the same settings
(``bench.common.Server``); every page is loaded with wrk in alternating rounds
(Portal, then hello, then Portal …) with a logged-in session cookie where needed;
then the in-process figures (login, PDF, audit queries, chain check, export, bulk
issuance). Results: ``bench/results/latest.md`` and ``latest.json``, each figure with
its goal marked met or not met. Pages that do not exist are reported "not available".
"""
from __future__ import annotations

import http.client
import json
import logging
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import ROOT, Instance, Server, _ms, gunicorn_args, workers_default

RESULTS = ROOT / "bench" / "results"
PRODUCTION_ARGON2 = {"PORTAL_ARGON2_TIME_COST": "2", "PORTAL_ARGON2_MEMORY_COST": "19456",
                     "PORTAL_ARGON2_PARALLELISM": "1"}


def env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


SETTINGS = {
    "students": env_int("BENCH_STUDENTS", 100_000),
    "audit_events": env_int("BENCH_AUDIT_EVENTS", 1_000_000),
    "seconds": env_int("BENCH_SECONDS", 5),
    "rounds": env_int("BENCH_ROUNDS", 3),
    "connections": env_int("BENCH_CONNECTIONS", 50),
    "workers": workers_default(),
    "bulk": env_int("BENCH_BULK", 500),
    "notifications": env_int("BENCH_NOTIFICATIONS", 50),
    "redis_url": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/15"),
}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


# -- wrk ----------------------------------------------------------------------------------


def ensure_wrk() -> None:
    if shutil.which("wrk"):
        return
    if os.geteuid() == 0:
        log("installing wrk from Debian")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(["apt-get", "install", "-y", "-qq", "wrk"], check=True,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing (Debian: apt-get install wrk); run as root to install it")


def wrk(url: str, seconds: int, connections: int, cookie: str | None = None) -> dict:
    """One bounded wrk run: requests/s, p50/p99 latency (ms), errors (socket + non-2xx/3xx)."""
    command = ["wrk", "--latency", "-t", "2", "-c", str(connections), "-d", f"{seconds}s",
               "--timeout", "10s"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run(command + [url], check=True, capture_output=True, text=True,
                         timeout=seconds + 60).stdout
    errors = sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    non_2xx = int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", out)) else 0
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_ms": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "errors": errors + non_2xx,
    }


# -- HTTP helpers (the login form, with its CSRF token) -------------------------------------


def request(base: str, method: str, path: str, cookie: str = "", body: dict | None = None):
    parts = urllib.parse.urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    conn.request(method, path, body=data, headers=headers)
    response = conn.getresponse()
    payload = response.read()
    cookies = [h.split(";", 1)[0] for k, h in response.getheaders() if k.lower() == "set-cookie"]
    conn.close()
    return response.status, dict(response.getheaders()), payload.decode("utf-8", "replace"), cookies


def log_in(base: str, email: str, password: str) -> str:
    """Log in through the form (CSRF token included); returns the Cookie header to reuse."""
    status, _, page, cookies = request(base, "GET", "/auth/login")
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    if token is None:
        token = re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    jar = dict(c.split("=", 1) for c in cookies)
    form = {"email": email, "password": password, "csrf_token": token.group(1) if token else ""}
    status, headers, _, cookies = request(base, "POST", "/auth/login",
                                          "; ".join(f"{k}={v}" for k, v in jar.items()), form)
    if status not in (302, 303):
        raise RuntimeError(f"login as {email} answered {status}")
    jar.update(c.split("=", 1) for c in cookies)
    return "; ".join(f"{k}={v}" for k, v in jar.items())


def worker_rss_mb(master_pid: int) -> list[float]:
    out = subprocess.run(["ps", "--ppid", str(master_pid), "-o", "rss="], capture_output=True,
                         text=True).stdout
    return [int(x) / 1024 for x in out.split()]


# -- goals ----------------------------------------------------------------------------------


def verdict(value: float | None, goal: float | None, higher_is_better: bool) -> str:
    if value is None:
        return "not available"
    if goal is None:
        return "—"
    ok = value >= goal if higher_is_better else value < goal
    return "met" if ok else "not met"


class Report:
    def __init__(self):
        self.rows: list[dict] = []
        self.notes: list[str] = []

    def add(self, section: str, name: str, value, unit: str, goal=None, higher=False,
            goal_text: str | None = None, **extra) -> dict:
        if goal_text is None:
            goal_text = "" if goal is None else f"{'≥' if higher else '<'} {goal:g} {unit}"
        row = {"section": section, "name": name, "value": value, "unit": unit, "goal": goal,
               "goal_text": goal_text, "status": verdict(value, goal, higher), **extra}
        self.rows.append(row)
        shown = "not available" if value is None else f"{value:,.2f} {unit}"
        log(f"{section} / {name}: {shown}  [{row['goal_text'] or 'no goal'}: {row['status']}]")
        return row


# -- the scale database -----------------------------------------------------------------------


def build_database(report: Report) -> tuple[Instance, dict]:
    url = os.environ.get("BENCH_DATABASE_URL") or None
    log(f"migrating a fresh {'PostgreSQL' if url else 'SQLite'} database")
    instance = Instance(url)
    instance.env.update(PRODUCTION_ARGON2)  # the scale accounts' password hash, as in production
    instance.env["PORTAL_RATELIMIT_VERIFY"] = "100000000 per minute"
    instance.env["PORTAL_RATELIMIT_LOGIN"] = "100000 per minute"
    # The scale admins have no authenticator app; the second step is measured on its own
    # (login figures, "second step").
    instance.env["PORTAL_ADMIN_2FA_REQUIRED"] = "0"
    log(f"seed scale: {SETTINGS['students']:,} students, {SETTINGS['audit_events']:,} audit events")
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "seed", "scale",
         "--students", str(SETTINGS["students"]), "--audit-events", str(SETTINGS["audit_events"])],
        cwd=ROOT, env={**os.environ, **instance.env}, capture_output=True, text=True, timeout=3600,
    )
    if out.returncode:
        raise SystemExit(f"seed scale failed:\n{out.stdout}\n{out.stderr}")
    seconds = time.perf_counter() - start
    counts = {}
    if m := re.search(r"Done in \d+ s: (.*)\.", out.stdout):
        for part in m.group(1).split(", "):
            number, name = part.split(" ", 1)
            counts[name] = int(number.replace(",", ""))
    report.add("data", "seed scale (bulk inserts)", seconds, "s", counts=counts)
    return instance, counts


def targets(app) -> dict:
    """Ids and codes the pages need: student 1's license, a code to verify."""
    import sqlalchemy as sa

    from portal.extensions import db
    from portal.models import License, User
    from portal.seed import scale

    with app.app_context():
        row = db.session.execute(
            sa.select(License.id, License.code).join(User, User.id == License.holder_id)
            .where(User.email == scale.email("student", 1)).order_by(License.id).limit(1)
        ).one()
        db.session.remove()
    return {"license_id": row.id, "code": row.code}


# -- HTTP ---------------------------------------------------------------------------------------

# (name, path, who logs in, ratio goal)
PAGES = [
    ("/verify/<code>", "/verify/{code}", None, 0.5),
    ("/verify/<code>.json", "/verify/{code}.json", None, 0.5),
    ("student dashboard", "/dashboard", "student", 0.3),
    ("license page", "/licenses/{license_id}", "student", 0.3),
    ("instructor dashboard (queue)", "/dashboard", "instructor", 0.3),
    ("admin dashboard", "/admin/", "admin", 0.2),
    ("audit viewer, action filter", "/audit/?action=auth.login_failed", "admin", 0.2),
    ("admin user list", "/admin/users", "admin", 0.2),
    ("notifications list", "/notifications", "student", 0.3),
    ("notifications, later page (keyset)", "/notifications?before={notification_before}", "student", 0.3),
    ("notifications unread count (header, htmx)", "/notifications/count", "student", 0.3),
]


def http_figures(instance: Instance, ids: dict, report: Report) -> None:
    from portal.seed import scale

    seconds, rounds, conns = SETTINGS["seconds"], SETTINGS["rounds"], SETTINGS["connections"]
    workers = SETTINGS["workers"]
    env = {**instance.env, "PORTAL_BASE_URL": "http://127.0.0.1"}
    if SETTINGS["redis_url"] != "none":  # rate limits shared by the workers, as in production
        env["REDIS_URL"] = SETTINGS["redis_url"]
    with Server("wsgi:app", env, workers=workers) as portal, \
            Server("bench.hello_app:app", {}, workers=workers) as hello:
        cookies = {}
        for who, kind in (("student", "student"), ("instructor", "instructor"), ("admin", "admin")):
            cookies[who] = log_in(portal.url, scale.email(kind, 1), scale.PASSWORD)
        wrk(hello.url + "/", 1, conns)
        for name, template, who, goal in PAGES:
            try:
                path = template.format(**ids)
            except KeyError:  # its data was not made (e.g. BENCH_NOTIFICATIONS=0)
                continue
            cookie = cookies.get(who) if who else None
            status, _, _, _ = request(portal.url, "GET", path, cookie or "")
            if status == 404 or status >= 500 or (who and status != 200):
                report.add("http", name, None, "× hello", goal, True, path=path,
                           note=f"answered {status}")
                continue
            wrk(portal.url + path, 1, conns, cookie)  # warm-up
            p_runs, h_runs = [], []
            for _ in range(rounds):
                p_runs.append(wrk(portal.url + path, seconds, conns, cookie))
                h_runs.append(wrk(hello.url + "/", seconds, conns))
            # Still logged in at the end? A redirect to the login page would count as success.
            after, _, _, _ = request(portal.url, "GET", path, cookie or "")
            p_rps = statistics.median(r["rps"] for r in p_runs)
            h_rps = statistics.median(r["rps"] for r in h_runs)
            # A round without a single answer, or a session lost on the way, is an error too.
            errors = sum(r["errors"] + (r["requests"] == 0) for r in p_runs) + (after != 200)
            p99 = max(r["p99_ms"] for r in p_runs)
            p50 = statistics.median(r["p50_ms"] for r in p_runs)
            report.add("http", name, p_rps / h_rps, "× hello", goal, True, path=path,
                       rps=p_rps, hello_rps=h_rps, p50_ms=p50, p99_ms=p99, errors=errors,
                       requests=sum(r["requests"] for r in p_runs), rounds=p_runs,
                       hello_rounds=h_runs, p99_ok=p99 < 250, errors_ok=errors == 0)
        rss = worker_rss_mb(portal.process.pid)
        report.add("memory", "worker resident memory after the load (largest)",
                   max(rss) if rss else None, "MB", 200, False, workers=rss)


# -- in-process figures ---------------------------------------------------------------------------


def login_figures(app, report: Report) -> None:
    from bench.bench_auth import measure
    from portal.seed import scale

    def login():
        client = app.test_client()
        response = client.post("/auth/login", data={"email": scale.email("student", 2),
                                                    "password": scale.PASSWORD})
        assert response.status_code == 303, response.status_code

    login()
    r = measure(login, 20)
    report.add("login", "login wall time (median)", r["wall_median"], "ms", p95_ms=r["wall_p95"])
    report.add("login", "login CPU time (median)", r["cpu_median"], "ms")
    from bench.bench_two_factor import second_step

    r = second_step(app, scale.email("student", 3), scale.PASSWORD, 20)
    report.add("login", "second step, TOTP code (median)", r["wall_median"], "ms", p95_ms=r["wall_p95"],
               cpu_ms=r["cpu_median"])


def pdf_figures(app, ids: dict, report: Report) -> None:
    from bench.common import timed
    from portal.extensions import db
    from portal.licenses import certificates
    from portal.models import License
    from portal.seed import scale

    with app.test_request_context():
        license = db.session.get(License, ids["license_id"])
        certificates.render(license)  # cold: fonts, stylesheets
        median, p95 = timed(lambda: certificates.render(license), 10)
        cpu = []
        for _ in range(10):
            start = time.process_time()
            certificates.render(license)
            cpu.append((time.process_time() - start) * 1000)
        db.session.remove()
    report.add("pdf", "certificate warm render (median)", median, "ms", p95_ms=p95)
    # PDF/A-3a, tagged, with the credential attached (SPEC §13): goal under 200 ms of CPU.
    report.add("pdf", "certificate warm render CPU (median)", statistics.median(cpu), "ms")
    client = app.test_client()
    client.post("/auth/login", data={"email": scale.email("student", 1), "password": scale.PASSWORD})
    url = f"/licenses/{ids['license_id']}/certificate.pdf"
    first = client.get(url)
    if first.status_code != 200:
        report.add("pdf", "certificate cached serve (median)", None, "ms", 5, note=first.status_code)
        return
    median, p95 = timed(lambda: client.get(url), 50)
    report.add("pdf", "certificate cached serve (median, whole request)", median, "ms", 5, p95_ms=p95)


def audit_figures(app, report: Report) -> None:
    import sqlalchemy as sa

    from bench.bench_audit import rss_mb
    from bench.common import timed
    from portal.audit import export, integrity, queries
    from portal.audit.queries import AuditFilter
    from portal.extensions import db
    from portal.models import AuditEvent
    from portal.seed import scale

    n = SETTINGS["audit_events"]
    with app.app_context():
        end = datetime.now(UTC)
        since = end - timedelta(days=30)
        some = db.session.execute(
            sa.select(AuditEvent.ip, AuditEvent.resource_type, AuditEvent.resource_id)
            .where(AuditEvent.at >= since, AuditEvent.resource_type == "license").limit(1)
        ).first()
        cases = {
            "no filter": AuditFilter(),
            "actor (e-mail)": AuditFilter(actor=scale.email("student", 1)),
            "actor (name part)": AuditFilter(actor="okafor"),
            "action": AuditFilter(actions=["license.issued"]),
            "two actions": AuditFilter(actions=["license.revoked", "auth.lockout"]),
            "resource": AuditFilter(resource_type="license", resource_id=some.resource_id if some else "1"),
            "ip exact": AuditFilter(ip=some.ip if some else "203.0.113.7"),
            "ip /24": AuditFilter(ip="203.0.113.0/24"),
            "outcome denied": AuditFilter(outcome="denied"),
            "actor + action": AuditFilter(actor=scale.email("admin", 1), actions=["user.updated"]),
        }
        worst = 0.0
        detail = {}
        for label, flt in cases.items():
            flt.start, flt.end = since, end

            def run(flt=flt):
                return queries.page(queries.conditions(flt)).rows

            try:
                run()
            except Exception as exc:  # noqa: BLE001 - a filter the viewer does not support
                detail[label] = f"failed: {exc}"
                db.session.rollback()
                continue
            median, _ = timed(run, 15)
            detail[label] = round(median, 2)
            worst = max(worst, median)
            db.session.rollback()
        report.add("audit", "viewer first page, slowest filter (median)", worst, "ms", 20, filters=detail)

        start = time.perf_counter()
        result = integrity.check()
        seconds = time.perf_counter() - start
        goal = 30 * max(n, 1) / 1_000_000
        report.add("audit", f"chain verification of {result.count:,} events", seconds, "s", round(goal, 2),
                   ok=result.ok)
        db.session.rollback()

        before = peak = rss_mb()
        start = time.perf_counter()
        lines = 0
        for chunk in export.rows([]):
            lines += chunk.count("\n")
            if lines % 20_000 < 2_100:
                peak = max(peak, rss_mb())
        seconds = time.perf_counter() - start
        peak = max(peak, rss_mb())
        db.session.rollback()
        report.add("audit", f"CSV export of {lines - 1:,} events (time)", seconds, "s",
                   round(60 * max(n, 1) / 1_000_000, 2))
        report.add("audit", "CSV export (memory growth)", peak - before, "MB", 50)


def transparency_figures(app, report: Report) -> None:
    from bench.bench_transparency import figures

    figures(app, report)


def notification_data(app, ids: dict, report: Report) -> None:
    """``BENCH_NOTIFICATIONS`` notifications for every account of the scale database
    (bulk inserts, scattered as months of use leave them), and the keyset id of student
    1's second page for the pages under load."""
    from bench.bench_notifications import fill
    from portal.extensions import db
    from portal.models import User
    from portal.notifications import services
    from portal.seed import scale

    per_user = SETTINGS["notifications"]
    if not per_user:
        return
    start = time.perf_counter()
    rows = fill(app, per_user)
    report.add("data", f"{rows:,} notifications ({per_user} per account, bulk inserts)",
               time.perf_counter() - start, "s")
    with app.app_context():
        import sqlalchemy as sa

        user_id = db.session.scalar(sa.select(User.id).where(User.email == scale.email("student", 1)))
        first = services.page(user_id)
        ids["notification_user"] = user_id
        if first.next:
            ids["notification_before"] = first.next["before"]
        db.session.remove()


def notification_figures(app, ids: dict, report: Report) -> None:
    """Database time of the unread count and the list's pages, with the plans."""
    from bench.bench_notifications import database_figures

    if "notification_user" not in ids:
        return
    figures = database_figures(app, ids["notification_user"], 30)
    figures.pop("before", None)
    for label, v in figures.items():
        report.add("notifications", f"{label}, database time (median)", v["median_ms"], "ms",
                   p95_ms=v["p95_ms"], plan=v["plan"])


def bulk_figure(report: Report) -> None:
    from bench.bench_admin import bulk_issue

    students = SETTINGS["bulk"]
    if not students:
        return
    instance = Instance(None)  # its own small database: the job's own cost
    try:
        app = instance.app(RATELIMIT_ENABLED=False, JOBS_INLINE=True)
        result = bulk_issue(app, students, True)
        if result["succeeded"] != students:  # a job that skipped its students measured nothing
            raise SystemExit(f"the bulk job issued {result['succeeded']} of {students}: {result}")
        # The goal is 60 s for 500 licenses; a smaller run is held to its share.
        report.add("bulk", f"bulk issuance of {students} licenses with certificates", result["seconds"],
                   "s", round(60 * students / 500, 1), succeeded=result["succeeded"],
                   failed=result["failed"])
    finally:
        instance.cleanup()
    from bench.bench_notifications import bulk_extra, notify_cost

    # What notifying every student adds to the same job (no certificates: its own cost):
    # the job with and without, and one notify() measured apart (the job's own time
    # drifts with the machine's load by more than the notifications cost).
    r = bulk_extra(students, 1)
    report.add("bulk", f"notifying the {students} students of a bulk job (extra time)", r["extra_s"],
               "s", round(5 * students / 500, 1), with_s=r["with_s"], without_s=r["without_s"],
               extra_cpu_s=r["extra_cpu_s"], load=r["load"])
    c = notify_cost(students)
    report.add("bulk", f"one notify() with its e-mail delivery, × {students}", c["wall_ms"] * students / 1000,
               "s", round(5 * students / 500, 1), per_notification_ms=c["wall_ms"], cpu_ms=c["cpu_ms"],
               load=c["load"])


# -- output ---------------------------------------------------------------------------------------


def versions(database_url: str) -> dict:
    from importlib.metadata import version

    out = {"python": platform.python_version()}
    for name in ("flask", "sqlalchemy", "gunicorn", "weasyprint", "werkzeug", "jinja2"):
        try:
            out[name] = version(name)
        except Exception:  # noqa: BLE001
            out[name] = "?"
    import sqlite3

    out["sqlite"] = sqlite3.sqlite_version
    wrk_v = subprocess.run(["wrk", "-v"], capture_output=True, text=True)
    out["wrk"] = (wrk_v.stdout + wrk_v.stderr).split("\n")[0].strip()
    if database_url.startswith("postgresql"):
        import sqlalchemy as sa

        engine = sa.create_engine(database_url)
        with engine.connect() as conn:
            out["postgresql"] = conn.exec_driver_sql("SHOW server_version").scalar()
        engine.dispose()
    return out


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(line for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
        mem_gb = int(mem.split()[1]) / 1024 / 1024
    except OSError:
        mem_gb = 0
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(mem_gb, 1),
            "kernel": platform.release(), "system": platform.platform()}


def fmt(value, unit: str) -> str:
    if value is None:
        return "not available"
    if unit == "× hello":
        return f"{value:.2f} ×"
    return f"{value:,.1f} {unit}" if value >= 10 else f"{value:,.2f} {unit}"


def markdown(data: dict) -> str:
    s = data["settings"]
    lines = [
        f"# Portal benchmark — {data['finished_at']}",
        "",
        f"- Machine: {data['machine']['cpu']}, {data['machine']['cores']} cores, "
        f"{data['machine']['memory_gb']} GB, Linux {data['machine']['kernel']}",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in data["versions"].items()),
        f"- Database: {data['database']}; {s['students']:,} students, {s['audit_events']:,} audit events",
        f"- gunicorn: {' '.join(gunicorn_args(s['workers']))} (Portal and the hello app alike)",
        "- Rate limits counted in: "
        + ("each worker" if s.get("redis_url", "none") == "none" else s["redis_url"]),
        f"- wrk: {s['connections']} connections, 2 threads, {s['rounds']} alternating rounds of "
        f"{s['seconds']} s per page (Portal, hello, Portal, hello …); figures are medians of the rounds, "
        "p99 the worst round",
        f"- Whole run: {data['total_seconds'] / 60:.1f} min",
        "",
        "## Pages under load (ratio = Portal's requests/s ÷ hello's, same run)",
        "",
        "| page | req/s | hello req/s | ratio | goal | p50 | p99 (goal < 250 ms) | errors (goal 0) |",
        "|---|---:|---:|---:|---|---:|---:|---:|",
    ]
    for r in data["results"]:
        if r["section"] != "http":
            continue
        if r["value"] is None:
            lines.append(f"| {r['name']} | not available ({r.get('note', '')}) | | | "
                         f"{r['goal_text']} | | | |")
            continue
        lines.append(
            f"| {r['name']} | {r['rps']:,.0f} | {r['hello_rps']:,.0f} | {r['value']:.2f} | "
            f"{r['goal_text'].replace(' × hello', '')} **{r['status']}** | {r['p50_ms']:.1f} ms | "
            f"{r['p99_ms']:.1f} ms **{'met' if r['p99_ok'] else 'not met'}** | "
            f"{r['errors']} **{'met' if r['errors_ok'] else 'not met'}** |"
        )
    lines += ["", "## Other figures", "", "| figure | value | goal | |", "|---|---:|---|---|"]
    for r in data["results"]:
        if r["section"] == "http":
            continue
        lines.append(f"| {r['name']} | {fmt(r['value'], r['unit'])} | {r['goal_text'] or '—'} | "
                     f"{'**' + r['status'] + '**' if r['status'] != '—' else ''} |")
    filters = next((r.get("filters") for r in data["results"] if r.get("filters")), None)
    if filters:
        lines += ["", "Audit viewer first page (50 rows, last 30 days), median database time per filter: "
                  + "; ".join(f"{k} {v} ms" if isinstance(v, float) else f"{k} {v}"
                              for k, v in filters.items())]
    if data["notes"]:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in data["notes"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    logging.getLogger("weasyprint").setLevel(logging.WARNING)
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    begun = time.perf_counter()
    ensure_wrk()
    report = Report()
    instance, counts = build_database(report)
    try:
        app = instance.app(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
        ids = targets(app)
        log(f"pages: license {ids['license_id']}, code {ids['code']}")
        notification_data(app, ids, report)
        http_figures(instance, ids, report)
        login_figures(app, report)
        pdf_figures(app, ids, report)
        audit_figures(app, report)
        transparency_figures(app, report)
        notification_figures(app, ids, report)
        from portal.extensions import db

        with app.app_context():
            db.engine.dispose()
    finally:
        if not os.environ.get("BENCH_KEEP"):
            instance.cleanup()
    bulk_figure(report)

    url = instance.database_url
    database = f"PostgreSQL {url.split('@')[-1]}" if "@" in url else "SQLite (temporary file)"
    data = {
        "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "versions": versions(instance.database_url),
        "database": database,
        "settings": {**SETTINGS, "gunicorn": gunicorn_args(SETTINGS["workers"])},
        "counts": counts,
        "total_seconds": time.perf_counter() - begun,
        "results": report.rows,
        "notes": report.notes,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "latest.json").write_text(json.dumps(data, indent=2, default=str))
    (RESULTS / "latest.md").write_text(markdown(data))
    print()
    print(markdown(data))
    log(f"written {RESULTS / 'latest.md'} and {RESULTS / 'latest.json'}")


if __name__ == "__main__":
    tempfile.tempdir = os.environ.get("BENCH_TMPDIR") or None
    main()
