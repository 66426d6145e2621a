"""Public verification: the form, the page and the JSON for every state, keys, CLI."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from portal.db import utcnow
from portal.extensions import db
from portal.licenses import codes, services
from portal.models import License, LicenseEvent, User
from portal.models.user import Role

SPEC_KEYS = {"valid", "status", "code", "holder", "specialization", "level", "issued_at",
             "expires_at", "signature", "key_id"}


def tamper(app, statement) -> None:
    with app.app_context():
        db.session.execute(statement)
        db.session.commit()


def page(client, code: str, **query):
    response = client.get(f"/verify/{code}", query_string=query)
    return response, response.get_data(as_text=True)


# --- every state ---------------------------------------------------------------------------


def test_a_valid_license(app, client, signed_license):
    license = signed_license(holder_name="Rosa Díaz", level=2)

    response, html = page(client, license.code)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "Valid." in html and "Rosa Díaz" in html and "Player" in html
    assert f"Signature verified with key <code>{license.key_id}</code>" in html
    assert "History intact: 1 recorded change" in html
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body.keys() >= SPEC_KEYS
    assert body["valid"] is True and body["state"] == "valid" and body["status"] == "active"
    assert (body["code"], body["holder"], body["level"]) == (license.code, "Rosa Díaz", 2)
    assert (body["specialization"], body["specialization_name"]) == ("PLY", "Player")
    assert body["signature"] == license.signature and body["key_id"] == license.key_id
    assert body["signature_verified"] is True and body["history_intact"] is True
    assert body["expires_at"] is None and body["issued_at"].endswith("Z")


def test_the_page_and_json_reveal_no_private_data(app, client, make_user, signed_license):
    holder = make_user(Role.STUDENT, email="rosa.private@example.test", date_of_birth=date(1999, 7, 14))
    license = signed_license(holder=holder)

    _, html = page(client, license.code)
    raw = client.get(f"/verify/{license.code}.json").get_data(as_text=True)

    for secret in ("rosa.private@example.test", "1999-07-14", "14 Jul 1999"):
        assert secret not in html and secret not in raw
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert not {"id", "holder_id", "email", "date_of_birth", "license_id"} & body.keys()


def test_a_license_expiring_within_30_days(app, client, signed_license):
    license = signed_license(expires_at=utcnow() + timedelta(days=10, hours=1))

    response, html = page(client, license.code)

    assert response.status_code == 200
    assert "Valid, expiring soon." in html and "10 days left" in html
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is True and body["state"] == "expiring_soon" and body["status"] == "active"


def test_an_expired_license(app, client, signed_license):
    license = signed_license(status="expired", validity_months=12)

    response, html = page(client, license.code)

    assert response.status_code == 200
    assert "Not valid: expired" in html
    assert response.headers["Cache-Control"] == "no-cache"
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is False and body["status"] == "expired" and body["state"] == "expired"
    assert body["signature_verified"] is True


def test_an_active_license_past_its_expiry_date_is_not_valid(app, client, signed_license):
    """Before the nightly `licenses expire` run has marked it."""
    license = signed_license(expires_at=utcnow() - timedelta(hours=1))

    _, html = page(client, license.code)

    assert "Not valid: expired" in html
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is False and body["state"] == "expired" and body["status"] == "active"


def test_a_suspended_license(app, client, signed_license):
    license = signed_license(status="suspended")

    response, html = page(client, license.code)

    assert response.status_code == 200
    assert "Not valid: suspended" in html
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is False and body["status"] == "suspended" and body["state"] == "suspended"
    assert body["status_changed_at"].endswith("Z")
    assert client.get(f"/verify/{license.code}.json").headers["Cache-Control"] == "no-cache"


def test_a_revoked_license_shows_the_date_and_reason(app, client, make_user, signed_license):
    license = signed_license()
    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.revoke(db.session.get(License, license.id), db.session.get(User, admin.id),
                        "fraud", "Forged attendance sheets")
        db.session.commit()
        changed_at = db.session.get(License, license.id).status_changed_at

    response, html = page(client, license.code)

    assert response.status_code == 200
    assert "Not valid: revoked" in html and "Reason: Fraud" in html
    assert f"{changed_at.day} {changed_at:%b %Y}" in html  # a day without a leading zero
    assert "Forged attendance sheets" not in html  # the internal note stays internal
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is False and body["status"] == "revoked" and body["state"] == "revoked"
    assert body["reason"] == "fraud" and body["reason_label"] == "Fraud"
    assert body["status_changed_at"] == changed_at.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_an_unknown_code(app, client):
    code = codes.generate("PLY")

    response, html = page(client, code)

    assert response.status_code == 404
    assert "License not found" in html and code in html
    json_response = client.get(f"/verify/{code}.json")
    assert json_response.status_code == 404
    assert json_response.get_json() == {"valid": False, "status": "unknown"}


def test_a_code_with_a_wrong_check_character_never_reaches_the_database(app, client):
    good = codes.generate("PLY")
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    statements = []

    with app.app_context():
        engine = db.engine

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        response, html = page(client, bad)
        json_response = client.get(f"/verify/{bad}.json")
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert response.status_code == 404 and "typing mistake" in html
    assert json_response.status_code == 404
    assert json_response.get_json() == {"valid": False, "status": "unknown"}
    assert not [s for s in statements if "licenses" in s]


def test_case_spaces_and_dashes_do_not_matter(app, client, signed_license):
    license = signed_license()
    typed = license.code.replace("-", "").lower()

    body = client.get(f"/verify/{typed}.json").get_json()

    assert body["valid"] is True and body["code"] == license.code


# --- integrity ----------------------------------------------------------------------------


def test_a_changed_license_row_fails_the_signature_check(app, client, signed_license):
    license = signed_license(level=1)
    tamper(app, sa.update(License).where(License.id == license.id).values(level=5))

    response, html = page(client, license.code)

    assert response.status_code == 200
    assert "failed its integrity check" in html and "does <strong>not</strong> match" in html
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is False and body["state"] == "invalid" and body["signature_verified"] is False


def test_a_changed_history_row_fails_the_chain_check(app, client, signed_license):
    license = signed_license(status="suspended")
    tamper(app, sa.update(LicenseEvent)
           .where(LicenseEvent.license_id == license.id, LicenseEvent.seq == 2).values(note="nothing"))

    _, html = page(client, license.code)

    assert "history failed its check" in html
    body = client.get(f"/verify/{license.code}.json").get_json()
    assert body["valid"] is False and body["history_intact"] is False and body["state"] == "invalid"


def test_a_scanned_certificate_is_compared_with_the_current_state(app, client, make_user, signed_license):
    license = signed_license()
    printed = {"kid": license.key_id, "sig": license.signature}

    _, html = page(client, license.code, **printed)
    assert "shows this license's current state" in html

    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.suspend(db.session.get(License, license.id), db.session.get(User, admin.id), "Check")
        db.session.commit()

    _, html = page(client, license.code, **printed)
    assert "out of date or was altered" in html and "Not valid: suspended" in html
    body = client.get(f"/verify/{license.code}.json", query_string=printed).get_json()
    assert body["presented_signature_current"] is False


# --- the form ---------------------------------------------------------------------------


def test_the_form(client):
    response = client.get("/verify")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert '<label for="code">License code</label>' in html and 'name="code"' in html


def test_submitting_a_code_redirects_to_its_page(client):
    code = codes.generate("CCH")
    typed = " " + code.replace("-", " ").lower() + " "

    response = client.get("/verify", query_string={"code": typed})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/verify/{code}")


@pytest.mark.parametrize(("typed", "message"), [("", "Enter the license code"),
                                                 ("PLY-0000-0000", "not a valid license code")])
def test_a_bad_code_is_explained_next_to_the_field(client, typed, message):
    response = client.get("/verify", query_string={"code": typed})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in html and 'class="field-error"' in html and 'aria-invalid="true"' in html
    assert f'value="{typed}"' in html


def test_a_logged_in_visitor_gets_an_uncached_page(app, client, login_as, signed_license):
    license = signed_license()
    login_as(Role.STUDENT)
    response, _ = page(client, license.code)
    assert response.headers["Cache-Control"] == "no-store"


# --- rate limit -----------------------------------------------------------------------------


def test_verification_is_rate_limited_per_ip(app_factory, signed_license):
    limited = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_VERIFY="3 per minute")
    license = signed_license()
    client = limited.test_client()
    other = {"REMOTE_ADDR": "10.0.0.2"}

    statuses = [client.get(f"/verify/{license.code}").status_code,
                client.get(f"/verify/{license.code}.json").status_code,
                client.get(f"/verify/{license.code}").status_code,
                client.get(f"/verify/{license.code}.json").status_code]

    assert statuses == [200, 200, 200, 429]
    assert client.get(f"/verify/{license.code}.json").get_json()["status"] == 429
    assert client.get(f"/verify/{license.code}", environ_base=other).status_code == 200


# --- keys ---------------------------------------------------------------------------------


def test_the_keys_document(app, client, signed_license):
    license = signed_license()

    response = client.get("/.well-known/portal-keys.json")

    assert response.status_code == 200
    body = response.get_json()
    assert body["algorithm"] == "Ed25519"
    [key] = body["keys"]
    assert key["kid"] == license.key_id and key["current"] is True and key["public_key"]
    assert "sorted" in body["payload"] and body["signed_fields"][0] == "code"
    assert "private" not in response.get_data(as_text=True).lower()


def test_rotating_the_key_keeps_old_certificates_verifying(app, client, runner, signed_license, audit_events):
    old = signed_license()

    result = runner.invoke(args=["keys", "rotate"])

    assert result.exit_code == 0, result.output
    new = signed_license()
    assert new.key_id != old.key_id and new.key_id in result.output
    keys = {k["kid"]: k for k in client.get("/.well-known/portal-keys.json").get_json()["keys"]}
    assert keys[old.key_id]["current"] is False and keys[old.key_id]["retired_at"]
    assert keys[new.key_id]["current"] is True
    for license in (old, new):
        body = client.get(f"/verify/{license.code}.json").get_json()
        assert body["valid"] is True and body["signature_verified"] is True
    with app.app_context():
        [rotated] = audit_events("keys.rotated")
        assert rotated.details == {"previous_key": old.key_id, "key_id": new.key_id}
        assert rotated.actor_id is None


# --- licenses verify CODE -------------------------------------------------------------------


def test_cli_verify_an_intact_license(runner, signed_license):
    license = signed_license(status="suspended")

    result = runner.invoke(args=["licenses", "verify", license.code.lower()])

    assert result.exit_code == 0, result.output
    assert license.code in result.output and "history intact: 2 rows" in result.output
    assert f"signature verified with key {license.key_id}" in result.output


def test_cli_verify_names_a_changed_history_row(app, runner, signed_license):
    license = signed_license(status="suspended")
    tamper(app, sa.update(LicenseEvent)
           .where(LicenseEvent.license_id == license.id, LicenseEvent.seq == 1).values(level=4))

    result = runner.invoke(args=["licenses", "verify", license.code])

    assert result.exit_code == 1
    assert "history broken at row #1" in result.output


def test_cli_verify_names_a_signature_mismatch(app, runner, signed_license):
    license = signed_license()
    tamper(app, sa.update(License).where(License.id == license.id).values(level=3))

    result = runner.invoke(args=["licenses", "verify", license.code])

    assert result.exit_code == 1
    assert "signature" in result.output and "does not match" in result.output


def test_cli_verify_unknown_and_mistyped_codes(runner):
    code = codes.generate("PLY")
    assert "no license has this code" in runner.invoke(args=["licenses", "verify", code]).output
    mistyped = code[:-1] + ("0" if code[-1] != "0" else "1")
    result = runner.invoke(args=["licenses", "verify", mistyped])
    assert result.exit_code == 1 and "check character" in result.output
