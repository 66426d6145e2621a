"""/account and POST /account/profile: the page, field errors, and a holder's new name."""
from __future__ import annotations

import io

import pypdf
import sqlalchemy as sa

from portal import fonts
from portal.audit import actions
from portal.extensions import db
from portal.licenses import chain, state
from portal.models.license import License, LicenseEvent
from portal.models.user import Role, User


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def test_the_page_is_in_the_account_menu_with_every_part(client, login_as):
    user = login_as()
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'href="/account"' in dashboard and "My account" in dashboard
    page = client.get("/account")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert user.email in html and 'name="name"' in html and 'name="locale"' in html
    assert 'list="timezones"' in html and '<option value="Europe/Budapest">' in html
    assert 'data-browser-zone="suggest"' in html  # the zone was never chosen
    for link in ("/auth/change-password", "/auth/sessions", "/account/two-factor"):
        assert f'href="{link}"' in html
    assert "Two-factor sign-in" in html and "Notifications" in html and "Privacy" in html
    assert 'name="new_email"' in html and 'name="current_password"' in html


def test_profile_saves_name_zone_and_language_with_an_audit_event(app, client, login_as, audit_events):
    user = login_as()
    answer = client.post("/account/profile", data={"name": "  Ada   Lovelace ", "timezone": "Europe/Budapest",
                                                   "locale": "es"})
    assert answer.status_code == 303 and answer.headers["Location"].endswith("/account")
    saved = _user(app, user.id)
    assert (saved.name, saved.timezone, saved.locale) == ("Ada Lovelace", "Europe/Budapest", "es")
    [event] = audit_events(actions.USER_PROFILE_UPDATED)
    assert event.details["before"]["timezone"] == "UTC" and event.details["after"]["locale"] == "es"
    assert set(event.details["changed"]) == {"name", "timezone", "locale"}
    html = client.get("/account").get_data(as_text=True)
    assert "Mi cuenta" in html and 'data-browser-zone="suggest"' not in html


def test_every_field_gets_its_own_message_and_keeps_what_was_typed(app, client, login_as):
    user = login_as()
    for name, message in (("", "Enter a name."), ("\u200b\u200d \u2060", "Enter a name."),
                          ("x" * 121, "120 characters")):
        answer = client.post("/account/profile", data={"name": name, "timezone": "Mars/Olympus",
                                                       "locale": "xx"})
        html = answer.get_data(as_text=True)
        assert answer.status_code == 422
        assert 'id="name-error"' in html and message in html
        assert 'id="timezone-error"' in html and 'value="Mars/Olympus"' in html
        assert 'id="locale-error"' in html
    assert _user(app, user.id).name == user.name


def test_htmx_gets_the_form_alone(client, login_as):
    login_as()
    answer = client.post("/account/profile", data={"name": "", "timezone": "UTC", "locale": "en"},
                         headers={"HX-Request": "true"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and "<html" not in html and 'id="profile-form"' in html


def test_a_holders_new_name_adds_a_history_row_and_keeps_every_license_verifiable(
        app, client, runner, login_as, make_specialization, make_license, make_user, audit_events):
    admin = make_user(Role.ADMIN)
    student = login_as()
    first = make_license(student, make_specialization(), actor=admin)
    second = make_license(student, make_specialization(), actor=admin, status="revoked")
    answer = client.post("/account/profile", data={"name": "Sam Renamed", "timezone": "UTC", "locale": "en"})
    assert answer.status_code == 303
    with app.app_context():
        for original in (first, second):
            license = db.session.get(License, original.id)
            kinds = db.session.scalars(sa.select(LicenseEvent.kind)
                                       .where(LicenseEvent.license_id == license.id)
                                       .order_by(LicenseEvent.seq)).all()
            assert kinds[-1] == "holder_renamed"
            assert license.code == original.code and license.status == original.status  # nothing re-issued
            assert chain.verify_history(license).ok and state.check(license)
            assert state.public_fields(license)["holder"] == "Sam Renamed"
        assert db.session.scalar(sa.select(sa.func.count(License.id))) == 2
    assert len(audit_events(actions.LICENSE_HOLDER_RENAMED)) == 2
    assert runner.invoke(args=["licenses", "verify", first.code]).exit_code == 0
    assert "Sam Renamed" in client.get(f"/verify/{first.code}.json").get_json()["holder"]


def test_the_page_speaks_spanish_and_hungarian(client, login_as):
    login_as()
    client.post("/account/profile", data={"name": "Ana", "timezone": "UTC", "locale": "es"})
    es = client.get("/account").get_data(as_text=True)
    assert "Mi cuenta" in es and "Zona horaria" in es and "Guardar perfil" in es
    client.post("/account/profile", data={"name": "Ana", "timezone": "UTC", "locale": "hu"})
    hu = client.get("/account").get_data(as_text=True)
    assert "Fiókom" in hu and "Időzóna" in hu
    answer = client.post("/account/profile", data={"name": "", "timezone": "Mars/Olympus", "locale": "hu"})
    assert "Adj meg egy nevet." in answer.get_data(as_text=True)


def test_the_optional_name_parts_are_saved_tidied_audited_and_cleared_when_empty(
        app, client, login_as, audit_events):
    user = login_as(name="Eszter Kovács")
    html = client.get("/account").get_data(as_text=True)
    assert 'name="given_name"' in html and 'name="family_name"' in html
    assert "family name first in Hungarian" in html
    client.post("/account/profile", data={"name": "Eszter Kovács", "timezone": "UTC", "locale": "en"})
    answer = client.post("/account/profile", data={
        "name": "Eszter Kovács", "given_name": " Eszter ", "family_name": "Kovács", "timezone": "UTC",
        "locale": "en"})
    assert answer.status_code == 303
    saved = _user(app, user.id)
    assert (saved.name, saved.given_name, saved.family_name) == ("Eszter Kovács", "Eszter", "Kovács")
    event = audit_events(actions.USER_PROFILE_UPDATED)[-1]
    assert set(event.details["changed"]) == {"given_name", "family_name"}
    assert event.details["before"] == {"given_name": None, "family_name": None}
    assert event.details["after"] == {"given_name": "Eszter", "family_name": "Kovács"}
    html = client.get("/account").get_data(as_text=True)
    assert 'value="Eszter"' in html and 'value="Kovács"' in html
    # Empty (or only invisible characters) means unknown again.
    client.post("/account/profile", data={"name": "Eszter Kovács", "given_name": "", "family_name": "\u200b",
                                          "timezone": "UTC", "locale": "en"})
    saved = _user(app, user.id)
    assert (saved.given_name, saved.family_name) == (None, None)
    last = audit_events(actions.USER_PROFILE_UPDATED)[-1]
    assert last.details["before"] == {"given_name": "Eszter", "family_name": "Kovács"}
    assert last.details["after"] == {"given_name": None, "family_name": None}


def test_a_name_part_too_long_or_unprintable_is_refused_beside_its_field(app, client, login_as):
    user = login_as(name="Ada Lovelace")
    answer = client.post("/account/profile", data={"name": "Ada Lovelace", "given_name": "x" * 81,
                                                   "family_name": "Love\U00010600lace", "timezone": "UTC",
                                                   "locale": "en"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="given_name-error"' in html and "80 characters" in html
    if fonts.undrawable("\U00010600"):  # Linear A: no installed font draws it
        assert 'id="family_name-error"' in html and "cannot print" in html
    assert 'id="name-error"' not in html
    saved = _user(app, user.id)
    assert (saved.given_name, saved.family_name) == (None, None)
    client.post("/account/profile", data={"name": "Ada Lovelace", "timezone": "UTC", "locale": "hu"})
    hu = client.post("/account/profile", data={"name": "Ada Lovelace", "given_name": "x" * 81,
                                               "timezone": "UTC", "locale": "hu"}).get_data(as_text=True)
    assert "Utónév (nem kötelező)" in hu and "Vezetéknév (nem kötelező)" in hu
    assert "A névnek ez a része legfeljebb 80 karakter lehet." in hu
    client.post("/account/profile", data={"name": "Ada Lovelace", "timezone": "UTC", "locale": "es"})
    es = client.get("/account").get_data(as_text=True)
    assert "Nombre de pila (opcional)" in es and "en húngaro, por ejemplo, van primero los apellidos" in es


def test_a_hungarian_holders_certificate_shows_the_family_name_first_once_the_parts_are_set(
        app, client, login_as, signed_license):
    holder = login_as(name="Eszter Kovács")
    license = signed_license(holder=holder)
    client.post("/account/profile", data={"name": "Eszter Kovács", "timezone": "UTC", "locale": "hu"})
    before = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert before.status_code == 200
    assert "Eszter Kovács" in pdf_text(before.data) and "Kovács Eszter" not in pdf_text(before.data)
    answer = client.post("/account/profile", data={
        "name": "Eszter Kovács", "given_name": "Eszter", "family_name": "Kovács", "timezone": "UTC",
        "locale": "hu"})
    assert answer.status_code == 303
    after = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert after.status_code == 200 and "Kovács Eszter" in pdf_text(after.data)
