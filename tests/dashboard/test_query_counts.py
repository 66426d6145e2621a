"""No dashboard or roster issues more queries when it shows more rows.

Each test measures one page with 5 rows, adds 45 more, and requires the same number
of statements. Statements about the login session are left out: the session's
"last seen" time is written at most once a minute, whatever the page.
"""
from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from portal.classes import services as class_services
from portal.extensions import db
from portal.licenses import reviews
from portal.licenses import services as license_services
from portal.models import ClassMembership, Klass, User
from portal.models.catalogue import Level, Requirement, Specialization
from tests.support.factories.classes import assigned_row
from tests.support.http import login
from tests.support.queries import of_request

_codes = itertools.count(100)


def measure(app, client, url: str) -> list[str]:
    return of_request(app, client, url, leave_out=("user_sessions",))


def assert_same(small: list[str], large: list[str]):
    assert len(small) == len(large), "\n---\n".join(large)


def add_specializations(app, n: int) -> list[int]:
    with app.app_context():
        ids = []
        for _ in range(n):
            number = next(_codes)
            code = "Q" + chr(65 + number // 26 % 26) + chr(65 + number % 26)
            spec = Specialization(code=code, name=f"Spec {number}", max_level=3, validity_months=12)
            for level in (1, 2, 3):
                spec.levels.append(
                    Level(
                        number=level,
                        title=f"Level {level}",
                        requirements=[Requirement(position=i, title=f"R{level}.{i}") for i in range(2)],
                    )
                )
            db.session.add(spec)
            db.session.flush()
            ids.append(spec.id)
        db.session.commit()
        return ids


def give_student(app, student, teacher, spec_ids):
    """For each specialization: a class of ``teacher`` with the student in it, a license,
    a confirmed requirement and (every second one) a pending request."""
    with app.app_context():
        t, u = db.session.get(User, teacher.id), db.session.get(User, student.id)
        for i, spec_id in enumerate(spec_ids):
            spec = db.session.get(Specialization, spec_id)
            assigned_row(t.id, spec.id)
            klass = class_services.create_class(t, f"Class {spec.code}", spec, actor=t)
            db.session.add(ClassMembership(class_id=klass.id, user_id=u.id))
            db.session.flush()
            license = license_services.issue_license(u, spec, 1, t)
            first = spec.levels[1].requirements[0]
            class_services.confirm_requirement(u, first, actor=t)
            if i % 2 == 0:
                reviews.request_upgrade(license, "Ready", u)
        db.session.commit()


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=3)


@pytest.fixture
def teacher(make_user):
    return make_user("instructor")


def test_roster(app, client, teacher, spec, make_class, fill_class):
    klass = make_class(teacher, spec)
    fill_class(klass, 5)
    login(client, teacher)
    url = f"/dashboard/classes/{klass.id}"
    small = measure(app, client, url)
    fill_class(klass, 45)
    large = measure(app, client, url)
    assert client.get(url).get_data(as_text=True).count('<tr id="student-') == 50
    assert_same(small, large)


def test_student_dashboard(app, client, teacher, make_user):
    student = make_user("student")
    give_student(app, student, teacher, add_specializations(app, 5))
    login(client, student)
    small = measure(app, client, "/dashboard")
    give_student(app, student, teacher, add_specializations(app, 45))
    large = measure(app, client, "/dashboard")
    assert client.get("/dashboard").get_data(as_text=True).count('class="license-card"') == 50
    assert_same(small, large)


def test_instructor_dashboard(app, client, teacher, spec, make_class, fill_class):
    klass = make_class(teacher, spec)
    fill_class(klass, 10)  # 5 pending requests
    for _ in range(4):
        make_class(teacher, spec)
    login(client, teacher)
    small = measure(app, client, "/dashboard")
    fill_class(klass, 90)  # 50 pending requests; the dashboard shows the oldest 25
    for _ in range(45):
        make_class(teacher, spec)
    large = measure(app, client, "/dashboard")
    page = client.get("/dashboard").get_data(as_text=True)
    assert page.count('class="request-card"') == 25 and "25 oldest of 50" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Klass.id))) == 50
    assert_same(small, large)


def test_admin_dashboard(app, client, teacher, spec, make_user, make_class, fill_class):
    add_specializations(app, 5)
    klass = make_class(teacher, spec)
    fill_class(klass, 5)
    login(client, make_user("admin"))
    small = measure(app, client, "/dashboard")
    add_specializations(app, 45)
    fill_class(klass, 45)
    large = measure(app, client, "/dashboard")
    assert_same(small, large)
    # The figures come from the kept summary (portal/stats/summary.py), never from counting
    # accounts, licenses or requests.
    counting = [s for s in large if "count(" in s.lower() and any(
        f"FROM {table}" in s for table in ("users", "licenses", "upgrade_requests"))]
    assert not counting, counting
    assert sum("FROM dashboard_counts" in s for s in large) == 1


def test_class_list(app, client, teacher, spec, make_class, fill_class):
    for _ in range(5):
        fill_class(make_class(teacher, spec), 1)
    login(client, teacher)
    small = measure(app, client, "/dashboard/classes")
    for _ in range(45):
        fill_class(make_class(teacher, spec), 1)
    large = measure(app, client, "/dashboard/classes")
    assert_same(small, large)


@pytest.mark.parametrize("page", ["report", "roster.csv"])
def test_class_report_and_roster_file(app, client, teacher, spec, make_class, fill_class, page):
    klass = make_class(teacher, spec)
    fill_class(klass, 5)
    login(client, teacher)
    url = f"/dashboard/classes/{klass.id}/{page}"
    small = measure(app, client, url)
    fill_class(klass, 45)
    large = measure(app, client, url)
    body = client.get(url).get_data(as_text=True)
    assert ("50 students" in body) if page == "report" else body.count("Pupil ") == 50
    assert_same(small, large)
