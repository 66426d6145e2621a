"""Which language a reader gets (SPEC §12): the account's own, then the footer's cookie,
then Accept-Language, then English; bad input falls back quietly."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.extensions import db
from portal.models.user import User
from tests.support.http import login

pytestmark = pytest.mark.usefixtures("app")


def locale_of(app, email: str) -> str | None:
    with app.app_context():
        return db.session.scalar(sa.select(User.locale).where(User.email == email))


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.get_data(as_text=True)).group(1)


def test_english_by_default(client):
    response = client.get("/auth/login")
    assert response.status_code == 200
    assert html_lang(response) == "en"
    assert "Log in" in response.get_data(as_text=True)


@pytest.mark.parametrize(("header", "expected"), [
    ("hu-HU,hu;q=0.9,en;q=0.5", "hu"),
    ("es-MX", "es"),
    ("de-DE, fr;q=0.8", "en"),
    ("fr;q=0.9, es;q=0.8, hu;q=0.95", "hu"),
    (";;;q=abc, ,,=", "en"),  # malformed: quietly English
    ("x" * 500, "en"),
])
def test_accept_language_when_nothing_else_says(client, header, expected):
    response = client.get("/auth/login", headers={"Accept-Language": header})
    assert response.status_code == 200
    assert html_lang(response) == expected


def test_footer_link_sets_the_cookie_and_beats_the_browser(client):
    response = client.get("/auth/login?lang=hu", headers={"Accept-Language": "es"})
    assert html_lang(response) == "hu"
    assert "Bejelentkezés" in response.get_data(as_text=True)
    cookie = client.get_cookie("portal_lang")
    assert cookie is not None and cookie.value == "hu" and cookie.http_only
    # Later pages keep it, whatever the browser says.
    assert html_lang(client.get("/", headers={"Accept-Language": "es"})) == "hu"


def test_footer_lists_each_language_linking_to_this_page(client):
    page = client.get("/verify?code=abc", headers={"Accept-Language": "es"}).get_data(as_text=True)
    footer = page[page.index('class="language-links"'):]
    assert 'href="/verify?code=abc&amp;lang=hu"' in footer
    assert 'href="/verify?code=abc&amp;lang=en"' in footer
    assert '<strong aria-current="true" lang="es">Español</strong>' in footer


@pytest.mark.parametrize("bad", ["de", "", "hu'><script>", "../../etc", "EN", "x" * 300])
def test_unknown_languages_fall_back_quietly(client, bad):
    client.set_cookie("portal_lang", bad)
    response = client.get("/auth/login", query_string={"lang": bad})
    assert response.status_code == 200
    assert html_lang(response) == "en"
    cookie = client.get_cookie("portal_lang")
    assert cookie is None or cookie.value == bad  # never set to what is unknown


def test_the_choice_survives_login_and_becomes_the_accounts(app, client, make_user):
    user = make_user(email="ana@example.com")
    client.get("/auth/login?lang=es")
    login(client, user)
    response = client.get("/dashboard/", headers={"Accept-Language": "hu"})
    assert html_lang(response) == "es"
    assert locale_of(app, user.email) == "es"
    # On another browser with no cookie, the account's language still holds.
    other = app.test_client()
    login(other, user)
    assert html_lang(other.get("/dashboard/", headers={"Accept-Language": "hu"})) == "es"


def test_a_logged_in_footer_choice_is_kept_and_audited(app, client, make_user, audit_events):
    user = make_user(email="bela@example.com")
    login(client, user)
    response = client.get("/dashboard/?lang=hu")
    assert html_lang(response) == "hu"
    assert locale_of(app, user.email) == "hu"
    [event] = audit_events(actions.USER_LANGUAGE_CHANGED)
    assert event.actor_id == user.id and event.details["locale"] == "hu"
    # The account's own language beats a cookie planted in this browser.
    client.set_cookie("portal_lang", "es")
    assert html_lang(client.get("/dashboard/")) == "hu"


def test_registration_keeps_the_language_it_was_made_in(app, client):
    client.get("/auth/register?lang=hu")
    response = client.post("/auth/register", data={
        "name": "Kovács Anna", "email": "anna@example.com", "password": "correct horse battery staple 9",
        "confirm_password": "correct horse battery staple 9", "date_of_birth": "1990-04-02"})
    assert response.status_code == 200
    assert locale_of(app, "anna@example.com") == "hu"
