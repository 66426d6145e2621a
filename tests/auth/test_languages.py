"""Accounts and mail speak the reader's language (issue 16): the auth pages, their form
errors (ours and WTForms' own) and plurals in Spanish and Hungarian, and every e-mail in
its RECIPIENT's language (``User.locale``, else English), subject and body, with its dates
written by Babel in the recipient's language and zone."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from babel.dates import format_time, get_month_names
from flask_wtf import FlaskForm
from markupsafe import escape
from wtforms import StringField
from wtforms.validators import DataRequired

from portal import mail
from portal.auth import lockout, registration, sessions, tokens
from portal.db import utcnow
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.models.user import User
from tests.support import pseudo
from tests.support.http import login
from tests.support.mail import link_in, wait_for_mail

GOOD = "a very plain passphrase"


def set_language(app, user, locale: str | None, zone: str = "UTC") -> None:
    with app.app_context():
        db.session.execute(sa.update(User).where(User.id == user.id).values(locale=locale, timezone=zone))
        db.session.commit()


def page(client, path: str, code: str) -> str:
    response = client.get(f"{path}?lang={code}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


# -- pages -------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "path", "expected", "english"), [
    ("hu", "/auth/login", ["Bejelentkezés", "Elfelejtetted a jelszavadat?", "Fiók létrehozása",
                           "Maradjak bejelentkezve ezen az eszközön", "Jelszó"], "Forgot your password?"),
    ("es", "/auth/login", ["Iniciar sesión", "¿Olvidaste tu contraseña?", "Crear una cuenta",
                           "Mantener la sesión iniciada en este dispositivo", "Contraseña"],
     "Forgot your password?"),
    ("hu", "/auth/register", ["Fiók létrehozása", "Teljes név", "Születési dátum", "Létrehozom a fiókomat",
                              "Legalább 10, legfeljebb 256 karakter."], "Create my account"),
    ("es", "/auth/register", ["Crear una cuenta", "Nombre completo", "Fecha de nacimiento",
                              "Crear mi cuenta", "Entre 10 y 256 caracteres."], "Create my account"),
    ("hu", "/auth/forgot-password", ["Elfelejtetted a jelszavadat?", "Kérem a linket",
                                     "Vissza a bejelentkezéshez"], "Send me a link"),
    ("es", "/auth/forgot-password", ["¿Olvidaste tu contraseña?", "Enviarme un enlace",
                                     "Volver a iniciar sesión"], "Send me a link"),
    ("hu", "/auth/verify-email", ["Erősítsd meg az e-mail-címedet", "Kérek új linket"], "Send me a new link"),
    ("es", "/auth/verify-email", ["Confirma tu dirección de correo", "Enviarme un enlace nuevo"],
     "Send me a new link"),
])
def test_auth_pages_in_spanish_and_hungarian(client, code, path, expected, english):
    html = page(client, path, code)
    for text in expected:
        assert text in html, text
    assert english not in html


@pytest.mark.parametrize(("code", "heading", "hint"), [
    ("hu", "Új jelszó megadása", "A fiók összes többi munkamenete véget ér."),
    ("es", "Elige una contraseña nueva", "Se cerrarán todas las demás sesiones de esta cuenta."),
])
def test_reset_page_and_a_bad_link_in_the_readers_language(app, client, make_user, code, heading, hint):
    user = make_user(email="reset@example.org")
    with app.app_context():
        token = tokens.make_token(db.session.get(User, user.id))
    client.set_cookie("portal_lang", code)
    html = client.get(f"/auth/reset-password/{token}", follow_redirects=True).get_data(as_text=True)
    assert heading in html and hint in html and "reset@example.org" in html
    bad = client.get("/auth/verify-email/not-a-token")
    assert bad.status_code == 400
    assert {"hu": "Ez a link érvénytelen. Kérj újat.",
            "es": "Este enlace no es válido. Pide uno nuevo."}[code] in bad.get_data(as_text=True)


def test_sessions_page_in_hungarian(app, client, make_user):
    user = make_user()
    set_language(app, user, "hu")
    login(client, user)
    html = client.get("/auth/sessions").get_data(as_text=True)
    assert "Eszközök és munkamenetek" in html and "Ez az eszköz" in html
    assert "Csak ez az eszköz van bejelentkezve a fiókodba." in html
    # The test client's agent is a program the parser does not know.
    assert "Werkzeug, ismeretlen rendszeren" in html


# -- form errors and plurals ------------------------------------------------------------


@pytest.mark.parametrize(("code", "required", "too_long"), [
    ("hu", "Add meg az e-mail-címedet.", "Legfeljebb 254 karaktert használj."),
    ("es", "Escribe tu dirección de correo.", "Usa como máximo 254 caracteres."),
])
def test_login_form_errors_in_the_readers_language(client, code, required, too_long):
    empty = client.post(f"/auth/login?lang={code}", data={"email": "", "password": "x"})
    assert empty.status_code == 422 and required in empty.get_data(as_text=True)
    long = client.post(f"/auth/login?lang={code}", data={"email": "a" * 250 + "@example.org",
                                                         "password": "x"})
    assert too_long in long.get_data(as_text=True)
    wrong = client.post(f"/auth/login?lang={code}", data={"email": "nobody@example.org", "password": "x"})
    refused = {"hu": "Hibás e-mail-cím vagy jelszó.",
               "es": "El correo electrónico o la contraseña no son correctos."}[code]
    assert refused in wrong.get_data(as_text=True)


@pytest.mark.parametrize(("code", "message"), [("hu", "Ez a mező kötelező."),
                                               ("es", "Este campo es obligatorio.")])
def test_wtforms_own_required_message_is_translated(app, code, message):
    """WTForms' own messages come from the catalogs WTForms ships, in the reader's language
    (Flask-WTF's i18n with Flask-Babel's locale); ours are in our catalog."""
    class Form(FlaskForm):
        name = StringField("x", validators=[DataRequired()])

    with app.test_request_context(f"/?lang={code}", method="POST", data={"name": ""}):
        form = Form()
        assert not form.validate()
        assert [str(e) for e in form.name.errors] == [message]


def test_register_errors_in_hungarian(client):
    response = client.post("/auth/register?lang=hu", data={
        "name": "", "email": "not an address", "password": "short", "confirm_password": "other",
        "date_of_birth": "2000-01-01"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Add meg a nevedet." in html
    assert "Ilyen formában add meg az e-mail-címet: nev@example.org." in html
    assert "A két jelszó nem egyezik." in html
    policy = client.post("/auth/register?lang=hu", data={
        "name": "Ada", "email": "ada@example.org", "password": "short", "confirm_password": "short",
        "date_of_birth": "2000-01-01"})
    assert "Legalább 10 karaktert használj." in policy.get_data(as_text=True)


@pytest.mark.parametrize(("days", "code", "expected"), [
    (1, "es", "Tu sesión seguirá iniciada hasta 1 día."),
    (30, "es", "Tu sesión seguirá iniciada hasta 30 días."),
    (30, "hu", "Legfeljebb 30 napig maradsz bejelentkezve."),
    (1, "en", "You stay logged in for up to 1 day."),
    (30, "en", "You stay logged in for up to 30 days."),
])
def test_remember_hint_is_a_plural(app_factory, days, code, expected):
    app = app_factory(SESSION_REMEMBER_DAYS=days)
    assert expected in page(app.test_client(), "/auth/login", code)


def test_a_flashed_plural_in_spanish(app, client, make_user):
    user = make_user()
    set_language(app, user, "es")
    for _ in range(2):
        login(app.test_client(), user)
    login(client, user)
    response = client.post("/auth/sessions/revoke-others", follow_redirects=True)
    assert "Se han cerrado 2 sesiones más." in response.get_data(as_text=True)


def test_device_descriptions():
    assert str(sessions.describe(None)) == "Unknown device"
    assert str(sessions.describe(
        "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0")) == "Firefox 120 on Linux"


# -- mail in the recipient's language ----------------------------------------------------

SUBJECTS = {
    "confirm": {"hu": "Erősítsd meg az e-mail-címedet a Portalon",
                "es": "Confirma tu dirección de correo para Portal"},
    "repeated": {"hu": "Valaki a te címeddel próbált regisztrálni",
                 "es": "Alguien intentó registrarse con tu dirección"},
    "reset": {"hu": "Új Portal-jelszó beállítása", "es": "Restablece tu contraseña de Portal"},
    "changed": {"hu": "Megváltozott a Portal-jelszavad", "es": "Se ha cambiado tu contraseña de Portal"},
    "lockout": {"hu": "Hibás jelszavak miatt zároltuk a Portal-fiókodat",
                "es": "Tu cuenta de Portal se ha bloqueado tras varias contraseñas incorrectas"},
    "set": {"hu": "Add meg a Portal-jelszavadat", "es": "Elige tu contraseña de Portal"},
}
BODIES = {
    "confirm": {"hu": ["Kedves Ada Lovelace!", "24 óráig érvényes", "7 nap múlva töröljük"],
                "es": ["Hola, Ada Lovelace:", "durante 24 horas", "pasados 7 días"]},
    "repeated": {"hu": ["Kedves Reader!", "Ha te voltál, jelentkezz be:"],
                 "es": ["Hola, Reader:", "Si fuiste tú, inicia sesión:"]},
    "reset": {"hu": ["Kedves Reader!", "60 percig érvényes"],
              "es": ["Hola, Reader:", "durante 60 minutos"]},
    "changed": {"hu": ["Kedves Reader!", "jelszava megváltozott ekkor:"],
                "es": ["Hola, Reader:", "se cambió el"]},
    "lockout": {"hu": ["Kedves Reader!", "erről a címről: 203.0.113.9"],
                "es": ["Hola, Reader:", "desde la dirección 203.0.113.9"]},
    "set": {"hu": ["Kedves Reader!", "3 napig érvényes"], "es": ["Hola, Reader:", "durante 3 días"]},
}
ZONES = {"hu": "Europe/Budapest", "es": "Europe/Madrid"}


def send(app, kind: str, user) -> None:
    """Make and send the ``kind`` of mail to ``user`` (the reader of the request is an
    English visitor, so only the recipient's own language can make it Spanish or Hungarian)."""
    with app.test_request_context("/?lang=en"):
        account = db.session.get(User, user.id)
        if kind == "repeated":
            registration.register(name="Someone", email=account.email, password=GOOD,
                                  date_of_birth=datetime(2000, 1, 1).date()).mail.send()
        elif kind == "reset":
            tokens.send_reset_link(tokens.request_password_reset(account.email))
        elif kind == "changed":
            tokens.send_password_changed_notice(account)
        elif kind == "lockout":
            lock = lockout.Lock("ip:203.0.113.9", utcnow() + timedelta(minutes=15), 15, 1)
            tokens.send_lockout_notices([lockout.Notice(account.email, account.name, lock,
                                                        account.locale, account.timezone)])
        elif kind == "set":
            tokens.send_set_password_link(account)
        db.session.commit()


@pytest.mark.parametrize("code", ["hu", "es"])
@pytest.mark.parametrize("kind", ["repeated", "reset", "changed", "lockout", "set"])
def test_each_mail_in_the_recipients_language(app, make_user, kind, code):
    user = make_user(email="reader@example.org", name="Reader")
    set_language(app, user, code, ZONES[code])
    send(app, kind, user)
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "reader@example.org")
    assert subject == SUBJECTS[kind][code]
    for phrase in BODIES[kind][code]:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
    assert "Hello" not in text
    if kind in ("changed", "lockout"):
        # The moment in the recipient's zone and language: its month as they write it
        # (this month or the next, near midnight) and their zone's name.
        now = datetime.now(ZoneInfo(ZONES[code]))
        months = get_month_names("abbreviated", locale=code)
        assert any(months[d.month] in text for d in (now, now + timedelta(minutes=20)))
        assert f" {now.tzname()}" in text


@pytest.mark.parametrize("code", ["hu", "es"])
def test_a_visitor_registers_in_their_language_and_the_account_keeps_it(app, client, code):
    response = client.post(f"/auth/register?lang={code}", data={
        "name": "Ada Lovelace", "email": "ada@example.org", "password": GOOD, "confirm_password": GOOD,
        "date_of_birth": "2000-12-10"})
    assert response.status_code == 200
    assert {"hu": "Nézd meg a postafiókodat", "es": "Revisa tu bandeja de entrada"}[code] in \
        response.get_data(as_text=True)
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "ada@example.org")
    assert subject == SUBJECTS["confirm"][code]
    for phrase in BODIES["confirm"][code]:
        assert phrase in text
    with app.app_context():
        assert db.session.scalar(sa.select(User.locale).where(User.email == "ada@example.org")) == code


def test_the_recipients_language_not_the_requesters(app, client, make_user):
    """A Hungarian reader asks for a reset link of a Spanish account: the mail is Spanish.
    An account with no language of its own gets English, whoever asked."""
    user = make_user(email="reader@example.org", name="Reader")
    set_language(app, user, "es")
    client.post("/auth/forgot-password?lang=hu", data={"email": "reader@example.org"})
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "reader@example.org")
    assert subject == SUBJECTS["reset"]["es"] and "Hola, Reader:" in text
    other = make_user(email="nobody-speaks@example.org", name="Plain")
    set_language(app, other, None)
    client.post("/auth/forgot-password?lang=hu", data={"email": "nobody-speaks@example.org"})
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "nobody-speaks@example.org")
    assert subject == "Reset your Portal password" and "Hello Plain," in text
    assert "Kedves" not in text


def test_lockout_mail_time_in_the_owners_zone_and_language(app, make_user):
    user = make_user(email="reader@example.org", name="Reader")
    set_language(app, user, "hu", "Europe/Budapest")
    send(app, "lockout", user)
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "reader@example.org")
    assert subject == SUBJECTS["lockout"]["hu"]
    # The lock ends 15 minutes after it was made: its clock time in Budapest, as Hungarian writes it.
    ends = datetime.now(UTC) + timedelta(minutes=15)
    budapest = ZoneInfo("Europe/Budapest")
    shown = {format_time(ends + timedelta(seconds=s), "short", tzinfo=budapest, locale="hu")
             for s in (-60, 0, 60)}
    assert any(t in text for t in shown), text


def test_every_mail_speaks_only_through_the_catalog(app_factory, tmp_path, make_user):
    """In the pseudo-locale every word of every mail is bracketed: nothing but the links and
    the data (name, address, academy, the date Babel wrote) is outside the catalog."""
    app = app_factory(BABEL_TRANSLATION_DIRECTORIES=f"translations;{pseudo.build(tmp_path / 'pseudo')}",
                      PORTAL_LANGUAGES={**LANGUAGES, pseudo.CODE: "Pseudo"})
    user = make_user(email="reader@example.org", name="Reader")
    set_language(app, user, pseudo.CODE, "Europe/Budapest")
    kinds = ["repeated", "reset", "changed", "lockout", "set"]
    for kind in kinds:
        send(app, kind, user)
    data = pseudo.data_pattern(["reader@example.org", "Reader", app.config["PORTAL_ACADEMY_NAME"]])
    mails = wait_for_mail(app.config["MAIL_OUTBOX"], "reader@example.org", count=len(kinds))
    for subject, text in mails:
        words = re.sub(r"https?://\S+", " ", f"{subject}\n{text}").replace("—", " ")
        assert pseudo.leftovers(words, data) == [], text


def test_the_html_part_says_the_same_in_the_recipients_language(app, client, make_user):
    """Every mail has an HTML part too: the text's own words (Hungarian here), the link
    clickable, and a name with markup in it shown as written."""
    user = make_user(email="html-reader@example.org", name="Anna <b>Kiss</b>")
    set_language(app, user, "hu")
    client.post("/auth/forgot-password", data={"email": "html-reader@example.org"})
    wait_for_mail(app.config["MAIL_OUTBOX"], "html-reader@example.org")
    with app.app_context():
        [(_path, message)] = [m for m in mail.outbox_messages(app.config["MAIL_OUTBOX"])
                              if m[1]["To"] == "html-reader@example.org"]
    text = message.get_body(preferencelist=("plain",)).get_content()
    html = message.get_body(preferencelist=("html",)).get_content()
    assert message.get_content_type() == "multipart/alternative"
    link = link_in(text, "/auth/reset-password/")
    assert f'<a href="{escape(link)}">' in html
    assert "Anna &lt;b&gt;Kiss&lt;/b&gt;" in html and "<b>Kiss</b>" not in html
    first_line = text.strip().splitlines()[0]
    assert str(escape(first_line)) in html  # the greeting, in Hungarian, as in the text
    assert "Hello" not in html
