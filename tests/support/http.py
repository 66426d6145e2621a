"""Flask test-client helpers: CSRF tokens, a real login through the form, the session cookie."""
from __future__ import annotations

import re

from tests.support.two_factor import code_for


def csrf_token_from(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)


def login(client, user, password: str | None = None, remember: bool = False):
    """Log a user in through the real login form; returns the response."""
    data = {"email": user.email, "password": password or user.password}
    if remember:
        data["remember"] = "y"
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token_from(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    if response.headers["Location"].endswith("/auth/two-factor"):
        response = pass_second_step(client, user.email)
    return response


def pass_second_step(client, email: str, **extra):
    """The second step of a login in progress, with a code of the user's app."""
    data = {"code": code_for(client.application, email), **extra}
    if client.application.config.get("WTF_CSRF_ENABLED", True):
        data["csrf_token"] = csrf_token_from(client.get("/auth/two-factor").get_data(as_text=True))
    response = client.post("/auth/two-factor", data=data)
    assert response.status_code in (302, 303), response.get_data(as_text=True)[:500]
    return response


def session_cookie(client) -> str | None:
    cookie = client.get_cookie(client.application.config["SESSION_COOKIE_NAME"])
    return cookie.value if cookie else None


def set_session_cookie(client, value: str) -> None:
    client.set_cookie(client.application.config["SESSION_COOKIE_NAME"], value)


def is_logged_in(client) -> bool:
    """Whether the client's cookies open a page that needs a login."""
    response = client.get("/auth/sessions")
    return response.status_code == 200
