"""What htmx requests are answered when they fail, and when the session behind them ended.

An error answers an htmx request with the error page's words only (``errors/_alert.html``,
never swapped into the target) for portal.js to show beside the control; a visitor
whose session ended is sent, as a whole page, to the login form and back.
"""
from __future__ import annotations

import logging
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import abort

from portal.auth import services as auth_services
from portal.db import utcnow
from portal.errors import MESSAGES, wait_message
from portal.extensions import db
from portal.models.user import Role, User, UserSession
from portal.permissions import SESSION_ENDED
from tests.support.http import csrf_token_from, login

HTMX = {"HX-Request": "true"}


def alert_of(response) -> str:
    """The alert an htmx error answer carries; fails when it is a page or a swap."""
    body = response.get_data(as_text=True)
    assert "<html" not in body and 'class="error-alert"' in body, body[:500]
    assert response.headers["HX-Reswap"] == "none"
    assert "HX-Request" in response.headers["Vary"]
    return body


# -- errors ------------------------------------------------------------------------------------


def test_a_500_under_htmx_carries_the_incident_of_the_log(app, caplog):
    @app.get("/_test/boom")
    def boom():
        raise RuntimeError("secret internal detail")

    with caplog.at_level(logging.ERROR, logger="portal.errors"):
        response = app.test_client().get("/_test/boom", headers=HTMX)
    assert response.status_code == 500
    body = alert_of(response)
    assert "Something went wrong" in body and "secret internal detail" not in body
    incident = re.search(r"<code>([0-9a-f]{12})</code>", body).group(1)
    assert any(incident in r.getMessage() for r in caplog.records)
    # The page without JavaScript says the same words.
    page = app.test_client().get("/_test/boom").get_data(as_text=True)
    assert "<html" in page and "An unexpected error happened on our side. It has been logged." in page
    assert "An unexpected error happened on our side. It has been logged." in body


def test_404_and_403_under_htmx_are_alerts(client, login_as):
    login_as(Role.STUDENT)
    missing = client.get("/licenses/999999", headers=HTMX)
    assert missing.status_code == 404 and "Page not found" in alert_of(missing)
    refused = client.get("/admin/users", headers=HTMX)
    assert refused.status_code == 403 and "Your account is not allowed to do this." in alert_of(refused)
    # JSON clients still get JSON.
    api = client.get("/admin/users", headers={**HTMX, "Accept": "application/json"})
    assert api.get_json()["status"] == 403


def test_a_409_page_under_htmx_is_not_swapped_into_the_target(app, client, login_as):
    @app.post("/_test/conflict")
    def conflict():
        abort(409, "Someone decided this a moment ago.")

    login_as(Role.STUDENT)
    response = client.post("/_test/conflict", headers=HTMX)
    assert response.status_code == 409
    assert "Someone decided this a moment ago." in alert_of(response)


def test_an_expired_form_under_htmx_says_so(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    login(client, make_user(Role.INSTRUCTOR))
    response = client.post("/dashboard/classes/1/students/1/requirements", headers=HTMX)
    assert response.status_code == 400
    assert "The form had expired" in alert_of(response)


@pytest.mark.parametrize("limit", ["2 per 30 seconds", "2 per 10 minutes"])
def test_429_says_how_long_to_wait(app_factory, make_user, limit):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_LOGIN=limit)
    client = app.test_client()
    user = make_user()
    data = {"email": user.email, "password": "not the password"}
    statuses = [client.post("/auth/login", data=data, headers=HTMX).status_code for _ in range(3)]
    assert statuses == [422, 422, 429]
    for headers in (HTMX, {}):
        response = client.post("/auth/login", data=data, headers=headers)
        assert response.status_code == 429
        body = alert_of(response) if headers else response.get_data(as_text=True)
        retry_after = int(response.headers["Retry-After"])
        assert 0 < retry_after <= (30 if "seconds" in limit else 600)
        # Said in words, as long as the Retry-After header (a second may pass in between).
        assert any(wait_message(s) in body for s in (retry_after, retry_after + 1)), body


def test_the_wait_in_words():
    assert wait_message(None) == MESSAGES[429]
    assert "wait 1 second and" in wait_message(1)
    assert "wait 59 seconds" in wait_message(59)
    assert "wait about 1 minute and" in wait_message(60)
    assert "wait about 15 minutes" in wait_message(14 * 60 + 1)


# -- a session that ended ------------------------------------------------------------------


@pytest.fixture
def roster(app, make_user, make_specialization, make_class, join, make_license):
    """An instructor's class with one student whose next level has requirements."""
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)
    coach = make_user(Role.INSTRUCTOR)
    student = make_user(Role.STUDENT)
    klass = make_class(coach, spec, "Saturday squad")
    join(student, klass)
    make_license(student, spec, 1)
    return {"coach": coach, "student": student, "klass": klass,
            "page": f"/dashboard/classes/{klass.id}",
            "tick": f"/dashboard/classes/{klass.id}/students/{student.id}/requirements"}


def _next_of(location: str) -> str | None:
    parts = urlsplit(location)
    assert parts.path == "/auth/login", location
    return parse_qs(parts.query).get("next", [None])[0]


def _ended_login_page(client) -> str:
    html = client.get("/auth/login").get_data(as_text=True)
    assert str(SESSION_ENDED) in html
    return html


def test_htmx_after_logging_out_other_devices_goes_to_login_and_back(app_factory, roster):
    app = app_factory(WTF_CSRF_ENABLED=True)
    phone, laptop = app.test_client(), app.test_client()
    for c in (phone, laptop):
        login(c, roster["coach"])
    page = phone.get(roster["page"]).get_data(as_text=True)  # the roster is open on the phone
    token = csrf_token_from(page)
    laptop_page = laptop.get("/auth/sessions").get_data(as_text=True)
    laptop.post("/auth/sessions/revoke-others", data={"csrf_token": csrf_token_from(laptop_page)})

    here = f"http://localhost{roster['page']}?q=al"
    response = phone.post(roster["tick"], data={"csrf_token": token, "requirement": "1", "shown": "1"},
                          headers={**HTMX, "HX-Current-URL": here})
    assert response.status_code == 204 and response.get_data(as_text=True) == ""
    location = response.headers["HX-Redirect"]
    assert _next_of(location) == f"{roster['page']}?q=al"  # the page, not the POST-only address
    login_page = phone.get(location).get_data(as_text=True)
    assert str(SESSION_ENDED) in login_page
    back = phone.post(location, data={"csrf_token": csrf_token_from(login_page),
                                      "email": roster["coach"].email, "password": roster["coach"].password})
    assert back.status_code in (302, 303) and back.headers["Location"].endswith(f"{roster['page']}?q=al")


@pytest.mark.parametrize("how", ["idle", "suspended", "revoked"])
def test_every_way_a_session_ends_answers_htmx_with_a_redirect(app_factory, make_user, how):
    app = app_factory(SESSION_IDLE_MINUTES=5)
    client = app.test_client()
    user = make_user(Role.ADMIN)
    login(client, user)
    with app.app_context():
        record = db.session.scalar(sa.select(UserSession).where(UserSession.user_id == user.id))
        if how == "idle":
            record.last_seen_at = utcnow() - timedelta(minutes=6)
        elif how == "suspended":
            auth_services.set_status(db.session.get(User, user.id), "suspended", None, "test")
        else:
            auth_services.revoke_session(db.session.get(User, user.id), record, actor=None)
        db.session.commit()
    response = client.get("/audit/?actor=alice", headers={**HTMX, "HX-Current-URL": "http://localhost/audit/?actor=al"})
    assert response.status_code == 204
    assert _next_of(response.headers["HX-Redirect"]) == "/audit/?actor=al"
    _ended_login_page(client)


@pytest.mark.parametrize("current", [
    "http://evil.example/audit/", "https://localhost.evil.example/x", "javascript:alert(1)",
    "http://localhost//evil.example/x", "http://localhost/\\evil", "", "not a url",
])
def test_a_foreign_or_odd_current_url_is_not_a_next(client, make_user, current):
    user = make_user(Role.ADMIN)
    login(client, user)
    client.post("/auth/logout")  # so the cookie has no session at all
    response = client.get("/audit/", headers={**HTMX, "HX-Current-URL": current})
    assert response.status_code == 204
    assert _next_of(response.headers["HX-Redirect"]) is None


def test_the_ended_message_cannot_be_written_from_outside(client, make_user):
    html = client.get("/auth/login?next=/x&ended=%3Cb%3Eowned%3C/b%3E&message=owned").get_data(as_text=True)
    assert "owned" not in html.split('<main', 1)[1].split("<form", 1)[0]
    assert str(SESSION_ENDED) not in html


def test_a_form_posted_after_the_session_ended_returns_to_its_page(app, client, roster):
    login(client, roster["coach"])
    with app.app_context():
        db.session.execute(sa.update(UserSession).values(revoked_at=utcnow()))
        db.session.commit()
    response = client.post(roster["tick"], data={"requirement": "1", "shown": "1"},
                           headers={"Referer": f"http://localhost{roster['page']}"})
    assert response.status_code == 302
    assert _next_of(response.headers["Location"]) == roster["page"]
    _ended_login_page(client)


def test_a_visitor_who_never_logged_in_is_asked_to_log_in(client):
    response = client.get("/dashboard/classes/3?q=x")
    assert response.status_code == 302
    assert _next_of(response.headers["Location"]) == "/dashboard/classes/3?q=x"
    html = client.get("/auth/login").get_data(as_text=True)
    assert "Please log in to see that page." in html and str(SESSION_ENDED) not in html
