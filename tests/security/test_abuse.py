"""Abuse of inputs: CSRF, extra fields, open redirects, script injection, odd text,
wrong methods, oversized bodies and malformed dates and numbers."""
from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portal.auth import services as auth_services
from portal.extensions import db
from portal.licenses import services as lic_services
from portal.models.catalogue import Specialization
from portal.models.klass import ClassMembership, Klass
from portal.models.license import License, UpgradeRequest
from portal.models.user import Role, User
from tests.support import world as W
from tests.support.http import csrf_token_from, login
from tests.support.mail import link_in, wait_for_mail

XSS = '<script>alert("xss")</script><img src=x onerror=alert(1)>'
ESCAPED = "&lt;script&gt;"
ODD_TEXTS = [
    "'; DROP TABLE users; --",
    "\" OR 1=1 --",
    "Robert'); DELETE FROM licenses WHERE ('1'='1",
    "x" * 5000,
    "nul\x00byte",
    "Ñandú Σωκράτης Мария 李小龍 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\u202eelgoog\u202c مرحبا שלום",
    "%00%27%22<>{{7*7}}${7*7}",
    "\ufeff\u200b\u2028\u2029",
]


@pytest.fixture
def world(build_world):
    return build_world(visitors=["anonymous", "student", "instructor", "admin"])


# --- CSRF ----------------------------------------------------------------------------------


def test_every_post_refused_without_or_with_anothers_csrf_token(app_factory, world, audit_events):
    csrf_app = app_factory(WTF_CSRF_ENABLED=True)
    mine, other = csrf_app.test_client(), csrf_app.test_client()
    login(mine, world.users["admin"])
    login(other, world.users["other_student"])
    others_token = csrf_token_from(other.get("/auth/change-password").get_data(as_text=True))
    post_rules = [r for r in csrf_app.url_map.iter_rules() if "POST" in r.methods]
    assert len(post_rules) > 20
    problems = []
    for rule in post_rules:
        url = W.url_for_rule(rule, world.ids)
        for label, data in (("no token", {}), ("another session's token", {"csrf_token": others_token})):
            response = mine.post(url, data=data)
            if response.status_code != 400:
                problems.append(f"{url} with {label}: {response.status_code}")
        anonymous = csrf_app.test_client().post(url, data={"csrf_token": others_token})
        if anonymous.status_code != 400:
            problems.append(f"{url} anonymous with a stolen token: {anonymous.status_code}")
    assert not problems, problems
    # The refusals are recorded, and the admin's own token still works (also as an htmx header).
    own = csrf_token_from(mine.get("/auth/change-password").get_data(as_text=True))
    assert mine.post("/auth/sessions/revoke-others", data={"csrf_token": own}).status_code in (302, 303)
    assert mine.post("/auth/sessions/revoke-others", headers={"X-CSRFToken": own,
                                                              "HX-Request": "true"}).status_code < 400
    denied = audit_events("access.denied")
    # Aggregated per source and hour (portal.errors): the admin's and the anonymous
    # visitors' refusals each appear, with the 1st, 10th, 100th ... counted.
    assert {(e.actor_id, e.details["reason"]) for e in denied} == {
        (world.users["admin"].id, "csrf"), (None, "csrf")}
    assert max(e.details["count"] for e in denied) >= 10


# --- extra fields are ignored ------------------------------------------------------------


def test_register_ignores_role_status_and_ids(client, app):
    response = client.post("/auth/register", data={
        "name": "Eve Extra", "email": "eve.extra@example.org", "password": "a long unusual passphrase 7",
        "confirm_password": "a long unusual passphrase 7", "date_of_birth": "2000-01-01",
        "role": "admin", "status": "active", "level": "8", "user_id": "1", "id": "1", "is_admin": "1",
    })
    assert response.status_code == 200
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "eve.extra@example.org"))
        assert (user.role, user.status) == (Role.STUDENT, "pending")


def test_upgrade_and_join_ignore_level_and_user_id(app, world):
    student = world.clients["student"]
    other_id = world.users["admin"].id
    # The student's pending request is withdrawn first, so a new one can be made.
    student.post(f"/licenses/requests/{world.ids['request_id']}/withdraw")
    response = student.post(f"/licenses/{world.ids['license_id']}/upgrade", data={
        "reason": "Ready.", "level": "8", "to_level": "8", "user_id": str(other_id), "status": "approved"})
    assert response.status_code in (302, 303), response.status_code
    with app.app_context():
        lic = db.session.get(License, world.ids["license_id"])
        newest = db.session.scalar(sa.select(UpgradeRequest).order_by(UpgradeRequest.id.desc()).limit(1))
        assert newest.user_id == world.users["student"].id
        assert newest.to_level == lic.level + 1 and newest.status == "pending"
        assert lic.level == 1
    response = student.post("/dashboard/join", data={"join_code": world.ids["join_code"],
                                                     "user_id": str(other_id), "class_id": "999"})
    assert response.status_code < 500
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(ClassMembership.user_id == other_id)) == 0


def test_login_ignores_role(client, make_user, app):
    user = make_user(Role.STUDENT)
    client.post("/auth/login", data={"email": user.email, "password": user.password, "role": "admin"})
    assert client.get("/admin/").status_code == 403
    with app.app_context():
        assert db.session.get(User, user.id).role == Role.STUDENT


# --- open redirects ----------------------------------------------------------------------

REDIRECTS = [
    "//evil.example/", "https://evil.example/", "http://evil.example", "/\\evil.example", "\\\\evil.example",
    "http:evil.example", "https:/evil.example", " //evil.example", "javascript:alert(1)",
    "/%2F%2Fevil.example", "///evil.example", "\t//evil.example", "data:text/html,<script>alert(1)</script>",
    "//evil.example@portal.test",
]


def test_no_open_redirect_through_next(app, make_user):
    user = make_user(Role.STUDENT)
    for target in REDIRECTS:
        client = app.test_client()
        response = client.post("/auth/login", query_string={"next": target},
                               data={"email": user.email, "password": user.password})
        assert response.status_code in (302, 303)
        location = response.headers["Location"]
        parts = urlsplit(location)
        assert parts.scheme in ("", "http") and parts.netloc in ("", "localhost"), (target, location)
        assert not location.startswith("//") and "\\" not in location, (target, location)
        # Already logged in: the login page sends the visitor on, never off-site either.
        again = client.get("/auth/login", query_string={"next": target})
        assert "evil.example" not in urlsplit(again.headers.get("Location", "")).netloc


def test_same_site_next_is_kept(client, make_user):
    user = make_user(Role.STUDENT)
    response = client.post("/auth/login", query_string={"next": "/licenses/"},
                           data={"email": user.email, "password": user.password})
    assert urlsplit(response.headers["Location"]).path == "/licenses/"


# --- script injection is shown as text everywhere -----------------------------------------


def test_script_in_free_text_is_escaped_everywhere(app, client, make_user, make_specialization, assign):
    """A student named like a script, who writes scripts in every field, shown to everyone."""


    admin = make_user(Role.ADMIN)
    instructor = make_user(Role.INSTRUCTOR, name=f"Coach {XSS}"[:120])
    spec = make_specialization(max_level=3)
    assign(instructor, spec, actor=admin)
    # Register through the real form with the payload as the name.
    reg = client.post("/auth/register", data={
        "name": XSS, "email": "mallory@example.org", "password": "a long unusual passphrase 9",
        "confirm_password": "a long unusual passphrase 9", "date_of_birth": "2000-01-01"})
    assert reg.status_code == 200
    [(_, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "mallory@example.org")
    assert client.get(urlsplit(link_in(text, "/auth/verify-email/")).path).status_code == 303
    with app.app_context():
        mallory = db.session.scalar(sa.select(User).where(User.email == "mallory@example.org"))
        assert mallory.name == XSS  # stored as typed, escaped on output
        license = lic_services.issue_license(mallory, db.session.get(Specialization, spec.id), 1,
                                             db.session.get(User, admin.id))
        db.session.commit()
        license_id, code, mallory_id = license.id, license.code, mallory.id
    teacher = app.test_client()
    login(teacher, instructor)
    made = teacher.post("/dashboard/classes", data={"name": XSS, "specialization": spec.id,
                                                     "description": XSS})
    assert made.status_code in (302, 303), made.status_code
    with app.app_context():
        klass = db.session.scalar(sa.select(Klass).where(Klass.name == XSS))
        join_code, class_id = klass.join_code, klass.id
    assert client.post("/dashboard/join", data={"join_code": join_code}).status_code in (302, 303)
    assert client.post(f"/licenses/{license_id}/upgrade", data={"reason": XSS}).status_code in (302, 303)
    with app.app_context():
        _ = auth_services  # the account exists and is active

    admin_client = app.test_client()
    login(admin_client, admin)
    pages = {
        client: ["/dashboard", "/licenses/", f"/licenses/{license_id}", "/audit/mine"],
        teacher: ["/dashboard", f"/dashboard/classes/{class_id}", "/licenses/requests/",
                  "/dashboard/classes"],
        admin_client: [f"/admin/users/{mallory_id}", f"/admin/users/{instructor.id}", "/admin/users",
                       "/admin/licenses",
                       f"/licenses/{license_id}", "/licenses/requests/", "/audit/",
                       f"/audit/resource/user/{mallory_id}", "/dashboard"],
        app.test_client(): [f"/verify/{code}"],
    }
    shown = 0
    for visitor, paths in pages.items():
        for path in paths:
            response = visitor.get(path)
            assert response.status_code == 200, path
            body = response.get_data(as_text=True)
            assert "<script>alert" not in body, path
            assert "<img src=x" not in body, path
            shown += ESCAPED in body
            htmx = visitor.get(path, headers={"HX-Request": "true"}).get_data(as_text=True)
            assert "<script>alert" not in htmx and "<img src=x" not in htmx, path
    assert shown >= 8
    # CSV: a cell never starts a formula, and the payload is plain text.
    export = admin_client.get("/audit/export.csv")
    assert export.status_code == 200
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True))))
    assert any("<script>alert(" in cell for row in rows for cell in row)  # text, not markup
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    # PDF: the name is text in the document (and the render fetched nothing).
    pdf = client.get(f"/licenses/{license_id}/certificate.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "alert" in text and "<script>" in text.replace(" ", "").replace("\n", "")


def test_formula_in_a_cell_is_neutralised_in_csv(app, make_user):
    """A User-Agent (any client can send one) that a spreadsheet would run as a formula."""
    admin = make_user(Role.ADMIN)
    formula = '=HYPERLINK("http://evil.example","click")'
    client = app.test_client()
    client.post("/auth/login", data={"email": "nobody@example.org", "password": "wrong password"},
                headers={"User-Agent": formula})
    login(client, admin)
    text = client.get("/audit/export.csv").get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    cells = [cell for row in rows for cell in row if "HYPERLINK" in cell]
    assert cells, "the failed login is exported with its user agent"
    assert all(not cell.startswith(("=", "+", "-", "@")) for cell in cells)
    assert "'" + formula in cells


# --- odd text, wrong methods, big bodies, malformed numbers ---------------------------------


def test_odd_text_never_breaks_a_page(app, world):
    student, admin, anonymous = world.clients["student"], world.clients["admin"], world.clients["anonymous"]
    problems = []
    for text in ODD_TEXTS:
        attempts = [
            (anonymous, "POST", "/auth/login", {"email": text, "password": text}),
            (anonymous, "POST", "/auth/register", {"name": text, "email": text, "password": text,
                                                    "confirm_password": text, "date_of_birth": text}),
            (anonymous, "POST", "/auth/forgot-password", {"email": text}),
            (anonymous, "GET", "/verify", {"code": text}),
            (anonymous, "GET", f"/verify/{text[:200]}", None),
            (anonymous, "GET", f"/verify/{text[:200]}.json", None),
            (student, "POST", "/dashboard/join", {"join_code": text}),
            (student, "POST", "/licenses/select-specialization", {"specialization": text}),
            (student, "POST", f"/licenses/{world.ids['license_id']}/upgrade", {"reason": text}),
            (admin, "GET", "/admin/users", {"q": text, "role": text, "status": text, "sort": text,
                                            "page": text}),
            (admin, "GET", "/admin/licenses", {"q": text, "status": text, "page": text}),
            (admin, "GET", "/audit/", {"actor": text, "action": text, "resource_type": text,
                                       "resource_id": text, "ip": text, "outcome": text, "start": text,
                                       "end": text, "before": text}),
            (admin, "GET", "/audit/export.csv", {"actor": text, "ip": text}),
            (admin, "GET", f"/audit/resource/{text[:100]}/{text[:100]}", None),
            (admin, "POST", "/admin/specializations/new", {"code": text, "name": text, "description": text,
                                                          "max_level": text, "min_age": text,
                                                          "validity_months": text}),
            (admin, "POST", f"/admin/users/{world.ids['user_id']}/consent", {"guardian_name": text}),
        ]
        for visitor, method, path, data in attempts:
            if method == "GET":
                response = visitor.get(path, query_string=data)
            else:
                response = visitor.post(path, data=data)
            if response.status_code >= 500:
                problems.append(f"{method} {path} with {text[:30]!r}: {response.status_code}")
            response.close()
    assert not problems, problems
    # NUL is refused at the door, in the path, the query or the form.
    nul_login = anonymous.post("/auth/login", data={"email": "a\x00@example.org", "password": "x"})
    assert nul_login.status_code == 400
    assert anonymous.get("/verify", query_string={"code": "PLY\x00"}).status_code == 400
    assert admin.get("/audit/resource/user/%00").status_code == 400


def test_wrong_methods_answer_405(client, app):
    problems = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        url = rule.rule
        for arg in rule.arguments:
            url = url.replace(f"<int:{arg}>", "1").replace(f"<{arg}>", "x")
        for method in ("PUT", "DELETE", "PATCH"):
            response = client.open(url, method=method)
            if response.status_code != 405:
                problems.append(f"{method} {url}: {response.status_code}")
            elif not response.headers.get("Allow"):
                problems.append(f"{method} {url}: 405 without Allow")
        if "GET" not in rule.methods:
            response = client.get(url)
            if response.status_code != 405:
                problems.append(f"GET {url}: {response.status_code}")
    assert not problems, problems


def test_oversized_bodies_answer_413(client, make_user):
    big = "x" * (1024 * 1024 + 10)
    for path in ("/auth/login", "/auth/register", "/auth/forgot-password"):
        response = client.post(path, data={"email": big, "name": big})
        assert response.status_code == 413, path
        assert "larger than we accept" in response.get_data(as_text=True)
    user = make_user(Role.STUDENT)
    login(client, user)
    response = client.post("/dashboard/join", data=b"join_code=" + b"A" * (2 * 1024 * 1024),
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 413


BAD_DATES = ["2001-02-30", "abc", "99999-01-01", "-1", "2001/02/03", "0000-00-00", "1e9", "",
             "2001-02-03T00:00", "３０００-01-01", "2100-01-01", "1800-01-01"]


def test_malformed_dates_are_field_errors(client):
    for value in BAD_DATES:
        response = client.post("/auth/register", data={
            "name": "Date Tester", "email": "date.tester@example.org",
            "password": "a long unusual passphrase 3",
            "confirm_password": "a long unusual passphrase 3", "date_of_birth": value})
        assert response.status_code == 422, value
        assert "date of birth" in response.get_data(as_text=True).lower(), value
        assert 'value="Date Tester"' in response.get_data(as_text=True)  # what was typed is kept


BAD_NUMBERS = ["abc", "1e9", "-5", "99999999999999999999999", "3.5", "", " ", "0x10", "NaN"]


def test_malformed_numbers_are_field_errors(app, make_user):
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    login(client, admin)
    for value in BAD_NUMBERS:
        _numbers(client, admin, value)


def _numbers(client, admin, value):
    response = client.post("/admin/specializations/new", data={
        "code": "QQQ", "name": "Numbers", "description": "", "max_level": value, "min_age": value,
        "validity_months": value})
    assert response.status_code == 422, response.status_code
    issue = client.post("/admin/licenses/issue", data={"email": admin.email, "specialization": value,
                                                       "level": value})
    assert issue.status_code == 422
    for path in ("/admin/users", "/admin/licenses", "/audit/"):
        for name in ("page", "before", "after"):
            assert client.get(path, query_string={name: value}).status_code < 500, (path, name)
