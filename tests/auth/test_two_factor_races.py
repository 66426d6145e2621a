"""One TOTP code, many logins at the same moment: exactly one is accepted (RFC 6238 §5.2).

Threads against the test app (both databases), and 4 gunicorn workers on this run's
database (slow): the last accepted step is advanced by one conditional UPDATE.
"""
from __future__ import annotations

from collections import Counter

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.auth import two_factor
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.user import Role, User
from tests.support.live import HttpClient, assert_server_healthy, together
from tests.support.two_factor import enrol

N = 8


def current_code(app, user) -> str:
    """The code of this moment (good for the whole drift window: no race with the clock)."""
    with app.app_context():
        code, _seconds = two_factor.usable_code(db.session.get(User, user.id))
        return code


def count(app, action: str, **details) -> int:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)).all()
        return sum(all((r.details or {}).get(k) == v for k, v in details.items()) for r in rows)


def test_parallel_logins_with_one_code_let_exactly_one_in(app, make_user):
    user = make_user(Role.STUDENT)
    enrol(app, user)
    clients = [app.test_client() for _ in range(N)]
    for c in clients:
        first = c.post("/auth/login", data={"email": user.email, "password": user.password})
        assert first.headers["Location"].endswith("/auth/two-factor")
    code = current_code(app, user)
    replies = together([lambda c=c: c.post("/auth/two-factor", data={"code": code}).status_code
                        for c in clients])
    assert Counter(replies) == Counter({303: 1, 422: N - 1}), replies
    assert count(app, actions.LOGIN, second_factor="totp") == 1
    assert count(app, actions.SECOND_FACTOR_FAILED, reason="replayed_code") == N - 1


@pytest.mark.slow
def test_one_code_on_four_gunicorn_workers_logs_in_once(app, make_user, live_server):
    server = live_server(workers=4)
    user = make_user(Role.STUDENT)
    enrol(app, user)
    clients = [HttpClient(server.url) for _ in range(N)]
    for c in clients:
        reply = c.post("/auth/login", {"email": user.email, "password": user.password},
                       form_page="/auth/login")
        assert reply.status == 303 and reply.header("Location").endswith("/auth/two-factor"), reply.status
        assert c.get("/auth/two-factor").status == 200  # its CSRF token
    code = current_code(app, user)
    replies = together([lambda c=c: c.post("/auth/two-factor", {"code": code}) for c in clients])
    assert Counter(r.status for r in replies) == Counter({303: 1, 422: N - 1}), [r.status for r in replies]
    assert_server_healthy(server, replies)
    assert count(app, actions.LOGIN, second_factor="totp") == 1
    assert count(app, actions.SECOND_FACTOR_FAILED, reason="replayed_code") == N - 1
