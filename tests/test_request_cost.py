"""The fixed cost of a logged-in page: the session check and the user load are one
statement on the session token's unique index, and the student's pages send as many
statements with a long history as with a short one (no lazy load, no per-row query)."""
from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.licenses import services as license_services
from portal.models import License, User
from portal.models.user import UserSession
from tests.support.http import login
from tests.support.queries import of_request, statements


def _is_session_check(statement: str) -> bool:
    return "user_sessions" in statement and statement.lstrip().upper().startswith("SELECT")


def test_the_session_check_and_the_user_load_are_one_statement(app, client, make_user):
    login(client, make_user("student"))
    seen = of_request(app, client, "/dashboard")
    checks = [s for s in seen if _is_session_check(s)]
    assert len(checks) == 1, checks
    assert "JOIN user_sessions" in checks[0] and "token_hash" in checks[0]
    # The user comes with it: no second look-up of the user by id.
    assert not [s for s in seen if "FROM users" in s and "user_sessions" not in s
                and "users.id = " in s and s.count("users.id") <= 2], seen
    # Within the minute nothing is written for the visit.
    assert not [s for s in seen if "UPDATE user_sessions" in s]


def test_last_seen_is_one_update_when_due_and_the_check_still_refuses_a_revoked_session(
        app, client, make_user):
    user = make_user("student")
    login(client, user)
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=2)))
        db.session.commit()
    with statements(app) as seen:
        assert client.get("/dashboard").status_code == 200
    assert len([s for s in seen if "UPDATE user_sessions" in s]) == 1
    with statements(app) as seen:
        assert client.get("/dashboard").status_code == 200
    assert not [s for s in seen if "UPDATE user_sessions" in s]
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(revoked_at=utcnow()))
        db.session.commit()
    assert client.get("/dashboard").status_code == 302


def test_the_license_page_sends_as_many_statements_with_a_long_history(
        app, client, make_user, make_specialization, make_license):
    student, admin = make_user("student"), make_user("admin")
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=3)
    license = make_license(student, spec, 1, actor=admin)
    login(client, student)
    url = f"/licenses/{license.id}"
    small = of_request(app, client, url, leave_out=("user_sessions",))
    with app.app_context():
        actor = db.session.get(User, admin.id)
        for _ in range(10):  # twenty more history entries, and a notification for each
            license_services.suspend(db.session.get(License, license.id), actor, "Paused")
            license_services.reinstate(db.session.get(License, license.id), actor)
        db.session.commit()
    large = of_request(app, client, url, leave_out=("user_sessions",))
    assert len(small) == len(large), "\n---\n".join(large)
