"""The audit viewer and the activity sentences in Spanish and Hungarian: pages, filter
errors, the sentences of describe() (plurals, status and role words, reasons), the
dashboard's and "My activity"'s lists. Machine values (action names, CSV headers) stay."""
from __future__ import annotations

import html
import re

import pytest
from flask_babel import force_locale

from portal.audit import actions
from portal.audit.describe import describe, job_title
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.job import Job
from portal.models.user import Role, User
from tests.support.http import login

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def text(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", response.get_data(as_text=True)))


@pytest.fixture
def admin(login_as):
    return login_as(Role.ADMIN, name="Ada Admin")


def test_viewer_pages_in_hungarian(client, admin):
    page = text(client.get("/audit/?lang=hu"))
    assert "<h1>Auditnapló</h1>" in page
    assert "Erőforrás típusa" in page and "IP-cím vagy tartomány" in page and ">Szűrés</button>" in page
    assert "✓ Sikeres</span>" in page  # the outcome badge of the admin's login
    assert "auth.login" in page  # action names are machine values, shown as recorded
    stats = text(client.get("/audit/stats?lang=hu"))
    assert "Az utolsó 30 nap" in stats and "Leggyakoribb műveletek" in stats
    assert "Utolsó 7 nap" in stats  # the period choice, a plural
    security = text(client.get("/audit/security?lang=hu"))
    assert "Sikertelen bejelentkezések IP-cím szerint" in security
    assert "Nincs. Egy cím sem próbált 3 vagy több fiókot." in security


def test_viewer_pages_in_spanish(client, admin):
    integrity = text(client.get("/audit/integrity?lang=es"))
    assert "<h1>Integridad de la auditoría</h1>" in integrity and "Nunca. Haz una ahora." in integrity
    response = client.post("/audit/integrity/check", follow_redirects=True)
    page = text(response)
    assert "Comprobación completa del registro de auditoría" in page
    assert re.search(r"La cadena de auditoría está intacta \(\d+ eventos comprobados\)\.", page)
    mine = text(client.get("/audit/mine"))
    assert "Iniciaste sesión desde" in mine
    assert "Iniciaste la tarea «Comprobación completa de la auditoría»" in mine
    event_id = db_event_id(client, actions.LOGIN)
    event = text(client.get(f"/audit/events/{event_id}"))
    assert "Evento de auditoría n.º" in event and "Dirección IP" in event and "auth.login" in event


def db_event_id(client, action: str) -> int:
    with client.application.app_context():
        return db.session.scalar(
            db.select(AuditEvent.id).where(AuditEvent.action == action).order_by(AuditEvent.id.desc()))


def test_filter_errors_are_translated(client, admin):
    bad_ip = client.get("/audit/?ip=not-an-address&lang=es")
    assert bad_ip.status_code == 422
    page = text(bad_ip)
    assert "Revisa el filtro:" in page
    assert ("Dirección IP o bloque: Escribe una dirección IP (203.0.113.7) o un bloque "
            "(203.0.113.0/24).") in page
    backwards = text(client.get("/audit/?start=2026-05-02&end=2026-05-01&lang=hu"))
    assert "Eddig: A végének a kezdete után kell lennie." in backwards
    stats = client.get("/audit/stats?from=2026-05-02&to=2026-05-01&lang=hu")
    assert stats.status_code == 422 and "A kezdet nem lehet a vége után." in text(stats)


def _event(app, action, *, actor=None, resource=None, outcome="success", user_agent=None, **details):
    with app.app_context():
        event = AuditEvent(action=action, actor_id=getattr(actor, "id", None),
                           actor_label=getattr(actor, "email", None), outcome=outcome,
                           resource_type=resource[0] if resource else None,
                           resource_id=str(resource[1]) if resource else None,
                           user_agent=user_agent, details=details)
        return event


def _say(app, event, viewer, code) -> str:
    with app.test_request_context("/"), force_locale(code):
        return describe(event, viewer)


def test_sentences_in_hungarian_and_spanish(app, make_user):
    sam = make_user(Role.STUDENT, name="Sam Lee")
    ada = make_user(Role.ADMIN, name="Ada Admin", email="ada@example.test")
    with app.app_context():
        sam, ada = db.session.get(User, sam.id), db.session.get(User, ada.id)
        db.session.expunge_all()

    login_event = _event(app, actions.LOGIN, actor=sam, resource=("user", sam.id), user_agent=FIREFOX_LINUX)
    assert _say(app, login_event, sam, "hu") == "Bejelentkeztél (eszköz: Firefox 128, Linux)"
    assert _say(app, login_event, sam, "es") == "Iniciaste sesión desde Firefox 128 en Linux"
    assert _say(app, login_event, ada, "es") == f"{sam.email} inició sesión desde Firefox 128 en Linux"

    # status and role values are words in the reader's language, never the stored value
    status = _event(app, actions.USER_STATUS_CHANGED, actor=ada, resource=("user", sam.id),
                    before="active", after="suspended")
    assert _say(app, status, ada, "hu") == "Módosítottad az állapotot (Sam Lee fiókja): aktív → felfüggesztve"
    assert _say(app, status, sam, "es") == (
        "ada@example.test cambió el estado de tu cuenta de activo a suspendido")
    role = _event(app, actions.USER_ROLE_CHANGED, actor=ada, resource=("user", sam.id),
                  before="student", after="instructor")
    assert _say(app, role, ada, "es") == (
        "Cambiaste el rol de la cuenta de Sam Lee de estudiante a instructor(a)")

    failed = _event(app, actions.LOGIN_FAILED, actor=sam, resource=("user", sam.id), outcome="failure",
                    user_agent=FIREFOX_LINUX, reason="email_unconfirmed")
    assert _say(app, failed, sam, "hu") == (
        "Elutasítottunk egy bejelentkezést a fiókodba (eszköz: Firefox 128, Linux): "
        "nem megerősített e-mail-cím")


def test_plural_sentences(app, make_user):
    sam = make_user(Role.STUDENT, name="Sam Lee")
    with app.app_context():
        sam = db.session.get(User, sam.id)
        db.session.expunge_all()
    own = ("user", sam.id)
    one = _event(app, actions.SESSION_REVOKED, actor=sam, resource=own, scope="others", count=1)
    three = _event(app, actions.SESSION_REVOKED, actor=sam, resource=own, scope="others", count=3)
    assert _say(app, one, sam, "es") == "Cerraste la sesión en 1 dispositivo más"
    assert _say(app, three, sam, "es") == "Cerraste la sesión en otros 3 dispositivos"
    assert _say(app, three, sam, "hu") == "3 másik eszközön kijelentkeztél"
    assert _say(app, one, sam, "en") == "You logged out 1 other device"
    assert _say(app, three, sam, "en") == "You logged out 3 other devices"
    lock = _event(app, actions.LOCKOUT, resource=("user", sam.id), outcome="failure", failures=1, minutes=15)
    assert _say(app, lock, None, "es") == (
        "La cuenta de Sam Lee se bloqueó durante 15 minutos tras 1 inicio de sesión fallido")
    lock.details = {"failures": 5, "minutes": 15}
    assert _say(app, lock, sam, "hu") == "A fiókodat 15 percre zároltuk 5 sikertelen bejelentkezés után"


def test_job_titles_follow_the_language(app):
    bulk = Job(kind="licenses.bulk", params={"class_name": "Saturday squad", "action": "upgrade"})
    with app.test_request_context("/"):
        with force_locale("hu"):
            assert job_title(bulk) == "Tömeges szintlépés: Saturday squad"
        with force_locale("es"):
            assert job_title(Job(kind="audit_verify", params={})) == "Comprobación completa de la auditoría"


def test_dashboard_and_my_activity_in_spanish(app, client, make_user):
    student = make_user(Role.STUDENT)
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX_LINUX
    login(client, student)
    for url in ("/dashboard?lang=es", "/audit/mine?lang=es"):
        page = text(client.get(url))
        assert "Iniciaste sesión desde Firefox 128 en Linux" in page, url
        assert "Elegiste leer Portal en Español" in page, url  # the footer choice, recorded
        assert "auth.login" not in page, url
    mine = text(client.get("/audit/mine"))
    assert "Mis eventos, los más recientes primero" in mine and "✓ Éxito</span>" in mine


def test_admin_user_page_shows_sentences(client, admin, make_user):
    sam = make_user(Role.STUDENT, name="Sam Lee")
    client.post(f"/admin/users/{sam.id}/status", data={"status": "suspended", "reason": "Test"})
    page = text(client.get(f"/admin/users/{sam.id}?lang=hu"))
    assert "Módosítottad az állapotot (Sam Lee fiókja): aktív → felfüggesztve" in page
    assert ">user.status_changed<" not in page


def test_csv_headers_stay_machine_values(client, admin):
    response = client.get("/audit/export.csv?lang=hu")
    assert response.status_code == 200
    header = response.get_data(as_text=True).splitlines()[0]
    assert header.startswith("seq,id,at,actor_id,actor,action,")
