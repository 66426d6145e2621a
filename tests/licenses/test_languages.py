"""Licenses, requests, the dashboards and the certificate speak the reader's language.

Pages follow the reader (their account's language); the certificate PDF follows its
HOLDER, whoever downloads it, with its dates written by Babel for that language: the
expiry as the calendar date it is (no time zone moves it), the moments on the academy's
clock. Status words, reasons and levels are words of the language; the values stored,
signed and sent as JSON stay English.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from babel.dates import format_date
from flask_babel import force_locale

from portal.extensions import db
from portal.licenses import certificates, rules
from portal.models import License, User
from portal.models.user import Role
from tests.support.documents import pdf_text
from tests.support.http import login


def speaks(app, user, code: str, timezone: str | None = None):
    """Give ``user`` the language ``code`` (and a time zone), as their account page would."""
    with app.app_context():
        row = db.session.get(User, user.id)
        row.locale = code
        if timezone:
            row.timezone = timezone
        db.session.commit()
    return user


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)


# --- pages -----------------------------------------------------------------------------


@pytest.mark.parametrize(("code", "words"), [
    ("hu", ["Szakirány elkezdése", "Aktív", "1. szint (összesen 3)", "érvényes eddig", "Kérelmeim",
            "Függőben", "1. → 2. szint", "Az oktatódra vár"]),
    ("es", ["Empezar una especialización", "Activa", "Nivel 1 de 3", "válida hasta el", "Mis solicitudes",
            "Pendiente", "Nivel 1 → 2", "Esperando a tu instructor"]),
])
def test_a_students_licenses_page_is_in_their_language(app, client, make_user, make_license, make_request,
                                                       spec, code, words):
    student = speaks(app, make_user(name="Maya Lindqvist"), code)
    license = make_license(student, spec, 1)
    make_request(license)
    login(client, student)

    page = client.get("/licenses/").get_data(as_text=True)

    for word in words:
        assert word in page, word
    assert 'class="badge badge-active"' in page  # the machine value stays English
    assert "Start a specialization" not in page and "Waiting for your instructor" not in page


@pytest.mark.parametrize(("code", "words"), [
    ("hu", ["Player licenc, 1. szint", "Tulajdonos", "Előzmények", "Kiadva", "Tanúsítvány letöltése (PDF)",
            "Úton a(z) 2. szint felé", "(még nem teljesült)", "0 / 2 igazolva"]),
    ("es", ["Licencia de Player, nivel 1", "Titular", "Historial", "Emitida", "Descargar certificado (PDF)",
            "Hacia el nivel 2", "(aún no cumplido)", "0 de 2 confirmados"]),
])
def test_a_license_page_is_in_the_readers_language(app, client, make_user, make_license, spec, code, words):
    student = speaks(app, make_user(), code)
    license = make_license(student, spec, 1)
    login(client, student)

    page = client.get(f"/licenses/{license.id}").get_data(as_text=True)

    for word in words:
        assert word in page, word
    assert "History" not in page and "Holder" not in page


@pytest.mark.parametrize(("code", "words"), [
    ("hu", ["Szintkérelmek", "1. → 2. szint", "Függőben", "Jóváhagyás", "Elutasítás",
            "2 követelményből 0 teljesült", "(a tanuló látja; elutasításhoz kötelező, és mivel hiányzik"
            " követelmény, jóváhagyáshoz is)", "Legutóbbi döntések"]),
    ("es", ["Solicitudes de nivel", "Nivel 1 → 2", "Pendiente", "Aprobar", "Rechazar",
            "0 de 2 requisitos cumplidos", "(el estudiante la ve; es obligatoria para rechazar y, como faltan"
            " requisitos, también para aprobar)", "Decisiones recientes"]),
])
def test_the_request_queue_is_in_the_reviewers_language(app, client, make_user, make_license, make_request,
                                                        make_class, join, spec, code, words):
    teacher = speaks(app, make_user(Role.INSTRUCTOR, name="Carla Rivera"), code)
    student = make_user(name="Liam O'Connor")  # the student's own language does not matter here
    join(student, make_class(teacher, spec, "Player autumn"))
    make_request(make_license(student, spec, 1))
    login(client, teacher)

    page = client.get("/licenses/requests/").get_data(as_text=True)

    for word in words:
        assert word in page, word
    assert "Upgrade requests" not in page and ">Approve<" not in page


def test_a_decision_is_confirmed_in_the_reviewers_language(app, client, make_user, make_license,
                                                           make_request, make_class, join, spec):
    teacher = speaks(app, make_user(Role.INSTRUCTOR), "es")
    student = make_user()
    join(student, make_class(teacher, spec))
    request = make_request(make_license(student, spec, 1))
    login(client, teacher)

    refused = client.post(f"/licenses/requests/{request.id}/approve", data={"note": ""})
    assert refused.status_code == 422
    assert "Algunos requisitos de este nivel aún no están confirmados" in refused.get_data(as_text=True)
    done = client.post(f"/licenses/requests/{request.id}/approve", data={"note": "Lo vi jugar"},
                       follow_redirects=True)
    assert "Solicitud aprobada; la licencia se ha actualizado." in done.get_data(as_text=True)
    again = client.post(f"/licenses/requests/{request.id}/approve", data={"note": "otra vez"})
    assert again.status_code == 409
    assert "Esta solicitud ya fue aprobada." in again.get_data(as_text=True)


@pytest.mark.parametrize(("code", "student_words", "staff_words"), [
    ("hu", "Nem elérhető: A(z) Coach szakirány 18 éves kortól választható.",
     "fiatalabb 18 évesnél, ami a(z) Coach alsó korhatára"),
    ("es", "No disponible: Coach está abierta a partir de los 18 años.",
     "es menor de 18 años, la edad mínima de Coach"),
])
def test_a_rules_reason_is_worded_for_each_reader_in_their_language(
        app, client, make_user, make_specialization, code, student_words, staff_words):
    coach = make_specialization("COA", "Coach", min_age=18)
    young = speaks(app, make_user(name="Sofia Ruiz", date_of_birth=date.today() - timedelta(days=365 * 15)),
                   code)
    login(client, young)

    page = client.get("/licenses/").get_data(as_text=True)
    assert student_words in page

    with app.test_request_context(), force_locale(code):
        problem = rules.eligibility_problem(db.session.get(User, young.id), coach, consent=False)
        assert problem.reason == rules.TOO_YOUNG  # the machine value
        assert problem.to_staff() == staff_words


def test_the_dashboard_counts_in_plurals(app, client, make_user, make_class, make_license, make_request,
                                         join, spec):
    teacher = speaks(app, make_user(Role.INSTRUCTOR), "es")
    student = make_user()
    join(student, make_class(teacher, spec, "Player autumn"))
    make_request(make_license(student, spec, 1))
    login(client, teacher)

    one = client.get("/dashboard").get_data(as_text=True)
    assert "<p>clase que diriges</p>" in one and "estudiante en clases abiertas" in one
    assert "solicitud en espera" in one and "solicitudes en espera" not in one
    assert "Impartes Player: diriges clases y revisas solicitudes en ella." in one

    other = make_user()
    join(other, make_class(teacher, spec, "Player spring"))
    make_request(make_license(other, spec, 1))
    two = client.get("/dashboard").get_data(as_text=True)
    assert "<p>clases que diriges</p>" in two and "estudiantes en clases abiertas" in two
    assert "solicitudes en espera" in two


def test_a_students_dashboard_in_hungarian(app, client, make_user, make_license, make_request, spec):
    student = speaks(app, make_user(name="Maya Lindqvist"), "hu")
    make_request(make_license(student, spec, 1))
    login(client, student)

    page = client.get("/dashboard").get_data(as_text=True)

    for word in ("Szia, Maya Lindqvist!", "A következő lépésed",
                 "A(z) Player kérelmed (1. → 2. szint) az oktatódra vár.",
                 "0 / 2 követelmény teljesítve a(z) 2. szinthez", "Kérelmeim", ">Visszavonás<"):
        assert word in page, word


# --- the certificate ----------------------------------------------------------------------


def certificate_text(client, license) -> str:
    response = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert response.status_code == 200
    return " ".join(pdf_text(response.data).split())


@pytest.mark.parametrize(("code", "words"), [
    ("hu", ["Licenctanúsítvány", "Ezennel igazoljuk, hogy", "Player licenc · 2. szint", "Licenckód",
            "Szakirány", "Lejárat", "Állapot", "Aktív", "Olvasd be az ellenőrzéshez"]),
    ("es", ["Certificado de licencia", "Se certifica que", "Licencia de Player · Nivel 2",
            "Código de licencia", "Especialización", "Vence", "Estado", "Activa", "Escanea para verificar"]),
])
def test_the_certificate_is_in_the_holders_language_whoever_downloads_it(
        app, client, make_user, signed_license, code, words):
    holder = speaks(app, make_user(name="Amelia Nakamura"), code)
    expiry = datetime(2030, 5, 31, 12, 0, tzinfo=UTC)
    license = signed_license(holder=holder, level=2, expires_at=expiry)
    admin = make_user(Role.ADMIN)  # reads English pages
    login(client, admin)

    text = certificate_text(client, license)

    for word in words:
        assert word in text, word
    assert "Amelia Nakamura" in text and license.code in text
    assert format_date(date(2030, 5, 31), "long", locale=code) in text  # Babel's words for the date
    assert "Certificate of License" not in text and "This certifies that" not in text


def test_a_revoked_certificate_says_why_in_the_holders_language(app, client, make_user, signed_license):
    holder = speaks(app, make_user(), "es")
    license = signed_license(holder=holder, status="revoked")
    login(client, make_user(Role.ADMIN))

    text = certificate_text(client, license)

    assert "NO VÁLIDA: esta licencia fue revocada el" in text and "(motivo: Otro)" in text
    assert "Revocada — NO VÁLIDA" in text


def test_the_expiry_is_the_calendar_date_on_any_clock(app, client, make_user, signed_license):
    # 23:30 UTC on 31 May is already 1 June in Kiritimati (UTC+14), the holder's zone and the
    # reader's: the certificate still gives the expiry as the date the academy set, 31 May.
    holder = speaks(app, make_user(), "hu", timezone="Pacific/Kiritimati")
    license = signed_license(holder=holder, expires_at=datetime(2030, 5, 31, 23, 30, tzinfo=UTC))
    login(client, holder)

    text = certificate_text(client, license)

    assert "2030. május 31." in text
    assert "2030. június 1." not in text


def test_a_holders_new_language_gives_a_new_certificate(app, client, make_user, signed_license):
    holder = speaks(app, make_user(), "hu")
    license = signed_license(holder=holder)
    login(client, holder)
    assert "Licenctanúsítvány" in certificate_text(client, license)

    # The footer's language link changes the account's language (and so the certificate's).
    client.get("/dashboard?lang=es")
    with app.app_context():
        assert db.session.get(User, holder.id).locale == "es"
        attached = db.session.get(License, license.id)
        assert len(certificates.path_glob(attached)) == 1

    text = certificate_text(client, license)
    assert "Certificado de licencia" in text and "Licenctanúsítvány" not in text
    with app.app_context():
        attached = db.session.get(License, license.id)
        assert len(certificates.path_glob(attached)) == 1  # the Hungarian file made way
