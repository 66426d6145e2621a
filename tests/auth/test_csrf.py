"""Every POST of the accounts pages is refused without a CSRF token."""

from __future__ import annotations

import pytest

from tests.support.http import csrf_token_from, is_logged_in, login

POSTS = [
    "/auth/register",
    "/auth/login",
    "/auth/logout",
    "/auth/forgot-password",
    "/auth/reset-password",
    "/auth/reset-password/some-token",
    "/auth/change-password",
    "/auth/sessions/1/revoke",
    "/auth/sessions/revoke-others",
]


@pytest.fixture
def csrf_app(app_factory):
    return app_factory(WTF_CSRF_ENABLED=True)


@pytest.mark.parametrize("path", POSTS)
def test_post_without_csrf_token_is_refused(csrf_app, make_user, path, audit_events):
    client = csrf_app.test_client()
    user = make_user()
    login(client, user)  # through the form, with its token
    response = client.post(path, data={"email": user.email, "password": user.password})
    assert response.status_code == 400
    assert "expired or was not sent from this site" in response.get_data(as_text=True)
    assert is_logged_in(client)  # nothing happened (not even the logout)
    denied = audit_events("access.denied")
    assert denied[-1].details["reason"] == "csrf"


def test_token_in_htmx_header_is_accepted(csrf_app, make_user):
    client = csrf_app.test_client()
    user = make_user()
    login(client, user)
    token = csrf_token_from(client.get("/auth/sessions").get_data(as_text=True))
    response = client.post(
        "/auth/sessions/revoke-others", headers={"HX-Request": "true", "X-CSRFToken": token}
    )
    assert response.status_code == 200
    response = client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 303 and not is_logged_in(client)
