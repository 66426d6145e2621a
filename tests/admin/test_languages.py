"""The administration speaks Spanish and Hungarian: pages, form errors, flashes, plurals,
and the bulk job's messages in the language of the admin who started it."""
from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from portal.extensions import db
from portal.models.job import JobItem
from portal.models.license import License, LicenseEvent
from portal.models.user import Role, User
from tests.admin.test_bulk import _start
from tests.admin.test_refused_forms import error_beside


def speak(client, code: str) -> None:
    """The admin picks a language in the footer (it becomes their account's)."""
    assert client.get(f"/admin/?lang={code}").status_code == 200


def text(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def test_admin_pages_in_hungarian(client, logged_admin, make_user, make_specialization, make_license):
    student = make_user(Role.STUDENT, name="Sam Student")
    license = make_license(student, make_specialization(name="Player", validity_months=12))
    speak(client, "hu")
    users = text(client.get("/admin/users"))
    assert '<html lang="hu"' in users
    assert "Fiók létrehozása" in users and "Bármely szerepkör" in users and "Név (A–Z)" in users
    detail = text(client.get(f"/admin/users/{student.id}"))
    assert "Szerepkör módosítása" in detail and "Gondviselői hozzájárulás" in detail
    assert ">Tanuló<" in detail  # the stored role, named in Hungarian
    assert "Player, 1. szint" in detail
    page = text(client.get(f"/admin/licenses/{license.id}"))
    assert f"{license.code} licenc" in page and "Felfüggesztés…" in page and "Visszavonás…" in page
    assert "Megújítás 12 hónapra" in page and "Csak a munkatársak látják." in page
    assert "Szakirányok" in text(client.get("/admin/specializations"))
    assert "Licencek kiadása vagy szintlépése egy csoportnak" in text(client.get("/admin/licenses/bulk"))
    assert "Háttérfeladatok" in text(client.get("/admin/jobs"))


def test_admin_pages_in_spanish(client, logged_admin, make_user, make_specialization):
    minor = make_user(date_of_birth=date.today() - timedelta(days=16 * 365), name="Lía Menor")
    spec = make_specialization(name="Player")
    speak(client, "es")
    detail = text(client.get(f"/admin/users/{minor.id}"))
    assert '<html lang="es"' in detail
    assert "Gestionar la cuenta" in detail and "Perfil" in detail
    assert "Cambiar rol" in detail and ">Estudiante<" in detail
    page = text(client.get(f"/admin/specializations/{spec.id}"))
    assert "Niveles y requisitos" in page and "Editar el nivel 1" in page and "Añadir requisito" in page
    assert "Nombre o correo" in text(client.get("/admin/users"))
    assert "Emitir una licencia" in text(client.get("/admin/licenses/issue"))


def test_a_refused_admin_form_is_translated(client, logged_admin, make_user):
    student = make_user()
    speak(client, "es")
    page = text(client.post(f"/admin/users/{student.id}/role", data={"role": "student", "reason": "Motivo"},
                            follow_redirects=True))
    assert "ya tiene el rol estudiante." in page
    # The validators' own messages too (WTForms' catalogs), beside the field, on the page's address.
    refused = client.post(f"/admin/users/{student.id}/role", data={"role": "instructor", "reason": ""},
                          follow_redirects=True)
    assert refused.request.path == f"/admin/users/{student.id}"
    assert "Este campo es obligatorio." in error_beside(refused.get_data(as_text=True), "role_reason")
    speak(client, "hu")
    page = text(client.post(f"/admin/users/{student.id}/status", data={"status": "active", "reason": "x"},
                            follow_redirects=True))
    assert "A fiók állapota már most is: aktív." in page
    # A flash after success, in the reader's language.
    hired = {"role": "instructor", "reason": "Felvétel"}
    page = text(client.post(f"/admin/users/{student.id}/role", data=hired, follow_redirects=True))
    assert "új szerepköre: oktató; a munkamenetei véget értek." in page


def test_plurals(app, client, logged_admin, make_user, make_specialization, make_license):
    one = make_specialization(name="Player")
    none = make_specialization(name="Coach")
    make_license(make_user(), one)
    speak(client, "es")
    page = text(client.get(f"/admin/specializations/{one.id}"))
    assert "1 licencia; los titulares han llegado al nivel 1." in page
    assert "0 licencias." in text(client.get(f"/admin/specializations/{none.id}"))
    assert "1 sesión activa." in text(client.get(f"/admin/users/{logged_admin.id}"))
    speak(client, "hu")
    # Hungarian counts with the singular noun.
    assert "0 licenc." in text(client.get(f"/admin/specializations/{none.id}"))
    assert "1 aktív munkamenet." in text(client.get(f"/admin/users/{logged_admin.id}"))


def test_bulk_job_messages_in_the_starting_admins_language(app, client, logged_admin, class_of_students):
    klass, spec, ids = class_of_students(2, min_age=0)
    with app.app_context():
        db.session.get(User, ids[1]).status = "suspended"
        db.session.commit()
    speak(client, "es")
    job_id = _start(client, klass)
    with app.app_context():
        items = dict(db.session.execute(
            sa.select(JobItem.key, JobItem.message).where(JobItem.job_id == job_id)).all())
        note = db.session.scalar(
            sa.select(LicenseEvent.note).join(License, License.id == LicenseEvent.license_id)
            .where(LicenseEvent.kind == "issued", License.holder_id == ids[0]))
    assert re.fullmatch(r"emitida \S+, nivel 1", items[str(ids[0])])
    assert note == f"Emisión masiva (tarea {job_id})"
    page = text(client.get(f"/admin/jobs/{job_id}"))
    assert "Progreso" in page and "Omitidos (1)" in page
