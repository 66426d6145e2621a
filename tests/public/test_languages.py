"""The public pages, the error pages and the shared messages in the visitor's language.

The verification page and its JSON's ``message`` follow the visitor (``?lang=``, the
footer's cookie, Accept-Language); the JSON's keys and machine values stay English.
Error pages, the htmx alert, the 429 wait, a date field's range error and the words
portal.js shows are translated too."""
from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest

from portal.db import utcnow
from portal.errors import wait_message
from portal.extensions import db
from portal.licenses import services
from portal.models import License, User
from portal.models.user import Role
from tests.support.http import login

HTMX = {"HX-Request": "true"}
HU = {"Accept-Language": "hu-HU,hu;q=0.9,en;q=0.5"}
WORDS = r'data-msg-([a-z-]+)="([^"]*)"'


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# -- verification ---------------------------------------------------------------------------


def test_the_verification_page_speaks_the_visitors_language(client, signed_license):
    license = signed_license(holder_name="Rosa Díaz", level=2)

    hu = client.get(f"/verify/{license.code}", headers=HU)
    page = text_of(hu)
    assert hu.status_code == 200 and '<html lang="hu"' in hu.get_data(as_text=True)
    assert "Érvényes. Ez a licenc valódi és aktív." in page
    assert "Tulajdonos Rosa Díaz" in page and "Állapot Aktív" in page and "Nem jár le" in page
    assert "Az előzmények sértetlenek: 1 rögzített változás" in page
    assert f"Az aláírás ellenőrizve ezzel a kulccsal: {license.key_id} (Ed25519)." in page
    # A cache keeps one answer per language.
    assert {"Accept-Language", "Cookie"} <= set(hu.headers["Vary"].replace(" ", "").split(","))

    es = text_of(client.get(f"/verify/{license.code}?lang=es"))
    assert "Válida. Esta licencia es auténtica y está activa." in es
    assert "Titular Rosa Díaz" in es and "Historial intacto: 1 cambio registrado" in es


def test_the_json_message_is_in_the_visitors_language_and_the_rest_stays_english(client, signed_license):
    license = signed_license()

    english = client.get(f"/verify/{license.code}.json").get_json()
    assert english["message"] == "Valid. This license is genuine and active."
    hu = client.get(f"/verify/{license.code}.json", headers=HU).get_json()
    assert hu["message"] == "Érvényes. Ez a licenc valódi és aktív."
    client.set_cookie("portal_lang", "es")  # the footer's choice
    es = client.get(f"/verify/{license.code}.json").get_json()
    assert es["message"] == "Válida. Esta licencia es auténtica y está activa."
    for body in (hu, es):
        assert (body["valid"], body["state"], body["status"]) == (True, "valid", "active")
        assert {k: v for k, v in body.items() if k != "message"} == {
            k: v for k, v in english.items() if k != "message"}
    # An unknown code answers exactly SPEC's two keys, in every language.
    unknown = client.get("/verify/PLY-0000-0000-0000-0.json?lang=hu")
    assert unknown.status_code == 404 and unknown.get_json() == {"valid": False, "status": "unknown"}


def test_a_license_that_is_not_valid_says_why_in_hungarian_and_spanish(app, client, make_user,
                                                                       signed_license):
    suspended = signed_license(status="suspended")
    body = client.get(f"/verify/{suspended.code}.json?lang=hu").get_json()
    assert body["state"] == "suspended" and body["valid"] is False
    assert body["message"].startswith("Nem érvényes: felfüggesztették. Az akadémia ")

    revoked = signed_license()
    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.revoke(db.session.get(License, revoked.id), db.session.get(User, admin.id),
                        "fraud", "Forged attendance sheets")
        db.session.commit()
    page = text_of(client.get(f"/verify/{revoked.code}?lang=es"))
    assert "No válida: revocada. La academia revocó esta licencia el" in page
    assert "Forged attendance sheets" not in page


def test_a_license_expiring_soon_counts_its_days_in_spanish(client, signed_license):
    license = signed_license(expires_at=utcnow() + timedelta(days=10, hours=1))
    body = client.get(f"/verify/{license.code}.json?lang=es").get_json()
    assert body["state"] == "expiring_soon"
    assert body["message"].startswith(
        "Válida, vence pronto. Esta licencia es auténtica y está activa, pero vence el ")
    assert body["message"].endswith("(quedan 10 días).")
    tomorrow = signed_license(expires_at=utcnow() + timedelta(days=1, hours=1))
    assert client.get(f"/verify/{tomorrow.code}.json?lang=es").get_json()["message"].endswith(
        "(queda 1 día).")


def test_an_unknown_or_mistyped_code_in_spanish_and_hungarian(client):
    unknown = client.get("/verify/PLY-7K3Q-9XZD-M2P4-0?lang=es")
    assert unknown.status_code == 404
    page = text_of(unknown)
    assert "Licencia no encontrada" in page and "Código desconocido." in page

    typo = client.get("/verify/PLY-7K3Q-9XZD-M2P4-R?lang=hu")
    page = text_of(typo)
    assert typo.status_code == 404 and "Nincs ilyen licenc" in page
    assert "az utolsó karaktere (az ellenőrző karakter) nem egyezik" in page
    assert "Az ellenőrző karakter nem egyezik: a kódban elírás van." in page

    form = client.get("/verify?code=nonsense")
    assert form.status_code == 422
    assert "Ez nem érvényes licenckód: ellenőrizd, nincs-e benne elírás." in text_of(form)


def test_the_landing_and_keys_pages_in_hungarian_and_spanish(client, make_specialization):
    make_specialization("PLY", "Player")
    make_specialization("COA", "Coach")

    landing = text_of(client.get("/?lang=hu"))
    assert "A tanulók szakirányt választanak (Player vagy Coach)" in landing
    assert "Hogyan ellenőrizhető egy tanúsítvány" in landing and "Tanulói fiók létrehozása" in landing
    assert "Player licenc · 2. szint" in landing

    keys = text_of(client.get("/keys?lang=es"))
    assert "Claves de firma" in keys and "Cómo cambian las claves" in keys and "Para programas" in keys
    assert "No necesitas estas claves para verificar un certificado" in keys


# -- errors and shared messages ---------------------------------------------------------------


@pytest.mark.parametrize(("lang", "title", "message"), [
    ("hu", "Az oldal nem található",
     "Itt nincs semmi. Ellenőrizd a címet, vagy térj vissza az áttekintésedre."),
    ("es", "Página no encontrada", "Aquí no hay nada. Revisa la dirección o vuelve a tu panel."),
])
def test_the_404_page_in_the_visitors_language(client, lang, title, message):
    response = client.get(f"/no-such-page?lang={lang}")
    page = text_of(response)
    assert response.status_code == 404
    assert title in page and message in page


def test_a_403_page_in_hungarian(client, make_user):
    login(client, make_user(Role.INSTRUCTOR))
    response = client.get("/dashboard/join?lang=hu")
    page = text_of(response)
    assert response.status_code == 403
    assert "Nem engedélyezett" in page and "A fiókod ehhez nem jogosult." in page
    assert "Ugrás a kezdőlapra" in page


def test_the_htmx_error_alert_in_hungarian(client, make_user):
    login(client, make_user(Role.STUDENT))
    client.get("/dashboard/classes?lang=hu")
    response = client.get("/dashboard/classes/999", headers=HTMX)
    alert = response.get_data(as_text=True)
    assert response.status_code == 403 and response.headers["HX-Reswap"] == "none"
    assert 'class="error-alert"' in alert and "<html" not in alert
    assert "Nem engedélyezett" in alert and "A fiókod ehhez nem jogosult." in alert
    # JSON errors keep their English label; the message is the reader's.
    body = client.get("/dashboard/classes/999", headers={"Accept": "application/json"}).get_json()
    assert body == {"error": "Not allowed", "message": "A fiókod ehhez nem jogosult.", "status": 403}


def test_the_wait_in_words_in_spanish_and_hungarian(app):
    with app.test_request_context(headers={"Accept-Language": "es"}):
        assert wait_message(1) == "Demasiados intentos en poco tiempo. Espera 1 segundo e inténtalo de nuevo."
        assert "Espera 59 segundos" in wait_message(59)
        assert "Espera aproximadamente 15 minutos" in wait_message(14 * 60 + 1)
    with app.test_request_context(headers=HU):
        assert wait_message(5) == "Túl sok próbálkozás rövid idő alatt. Várj 5 másodpercet, és próbáld újra."
        assert wait_message(None) == "Túl sok próbálkozás rövid idő alatt. Várj egy kicsit, és próbáld újra."


def test_a_date_out_of_range_is_a_field_error_in_hungarian(client, make_user):
    login(client, make_user(Role.ADMIN))
    response = client.get("/audit/stats", query_string={"from": "9999-12-31", "lang": "hu"})
    assert response.status_code == 422
    assert "Adj meg egy 1900-01-01 és 2099-12-31 közötti dátumot." in text_of(response)
    malformed = client.get("/audit/stats", query_string={"to": "2026-13-45"})
    assert "Adj meg egy valódi dátumot" in text_of(malformed)


def test_the_words_of_portal_js_come_from_the_page_in_its_language(client):
    html = client.get("/?lang=hu").get_data(as_text=True)
    words = dict(re.findall(WORDS, html))
    assert words["unreachable"] == "A Portal nem érhető el. Ellenőrizd a kapcsolatodat, és próbáld újra."
    assert words["wait-one"] == "Túl sok kérés. Várj {seconds} másodpercet, és próbáld újra."
    assert words["failed"] == "Valami hiba történt (hibakód: {status}). Próbáld újra egy kicsit később."
    spanish = dict(re.findall(WORDS, client.get("/?lang=es").get_data(as_text=True)))
    assert spanish["wait-one"] == "Demasiadas solicitudes. Espera {seconds} segundo e inténtalo de nuevo."
    assert spanish["wait-other"] == "Demasiadas solicitudes. Espera {seconds} segundos e inténtalo de nuevo."


def test_the_session_ended_notice_in_spanish(client, make_user):
    login(client, make_user(Role.STUDENT))
    client.get("/dashboard?lang=es")
    client.post("/auth/logout")
    client.set_cookie("portal_lang", "es")
    client.set_cookie("session", "stale")
    response = client.get("/dashboard/classes", headers=HTMX)
    assert response.status_code == 204 and "/auth/login" in response.headers["HX-Redirect"]
    login_page = text_of(client.get(response.headers["HX-Redirect"]))
    assert "Tu sesión terminó; vuelve a iniciar sesión." in login_page
