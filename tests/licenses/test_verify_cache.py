"""Cached verification answers are never stale, and every public document answers a
repeated request with 304 Not Modified (``portal.licenses.answers``)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.licenses import answers, services, verification
from portal.models import License, LicenseEvent, User
from portal.models.user import Role
from portal.privacy import erasure
from tests.support.http import login
from tests.support.queries import statements

URLS = ("/verify/{code}", "/verify/{code}.json")


def both(client, code: str) -> tuple[str, dict]:
    return (client.get(f"/verify/{code}").get_data(as_text=True),
            client.get(f"/verify/{code}.json").get_json())


def cached(app) -> int:
    return len(app.extensions.get("portal_verify_answers") or [])


def test_a_repeated_check_is_served_from_the_cache_in_a_few_statements(app, client, signed_license):
    license = signed_license()
    for url in URLS:
        client.get(url.format(code=license.code))
        client.get(url.format(code=license.code))  # the checker is counted once, by now
        with statements(app) as seen:
            response = client.get(url.format(code=license.code))
        assert response.status_code == 200
        # The version lookup and the "counted before?" check; no history, no proof, no signing.
        assert len(seen) <= 3, "\n---\n".join(seen)
        assert not any("license_events" in s or "transparency_nodes" in s for s in seen)
    assert cached(app) >= 2  # a page and a JSON answer (and any made before a checkpoint)


def test_a_revocation_is_seen_at_once(app, client, make_user, signed_license):
    license = signed_license()
    html, body = both(client, license.code)
    assert "Valid." in html and body["state"] == "valid"
    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.revoke(db.session.get(License, license.id), db.session.get(User, admin.id), "fraud", "x")
        db.session.commit()

    html, body = both(client, license.code)

    assert "Not valid: revoked" in html and body["state"] == "revoked" and body["valid"] is False


def test_a_suspension_and_a_change_by_hand_are_seen_at_once(app, client, make_user, signed_license):
    license = signed_license(level=1)
    both(client, license.code)
    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.suspend(db.session.get(License, license.id), db.session.get(User, admin.id), "Check")
        db.session.commit()
    html, body = both(client, license.code)
    assert "Not valid: suspended" in html and body["state"] == "suspended"

    with app.app_context():  # the row changed behind the application's back: checked in full again
        db.session.execute(sa.update(License).where(License.id == license.id).values(level=5))
        db.session.commit()
    html, body = both(client, license.code)
    assert "failed its integrity check" in html and body["state"] == "invalid"


def test_a_history_row_changed_by_hand_is_caught_when_the_answer_is_due(app, client, signed_license,
                                                                         monkeypatch):
    license = signed_license(status="suspended")
    html, _ = both(client, license.code)
    assert "Not valid: suspended" in html
    with app.app_context():  # the license's row stays as it was: the key cannot see this
        db.session.execute(sa.update(LicenseEvent).where(LicenseEvent.license_id == license.id,
                                                         LicenseEvent.seq == 2).values(note="nothing"))
        db.session.commit()

    later = utcnow() + timedelta(seconds=app.config["VERIFY_CACHE_SECONDS"] + 1)
    monkeypatch.setattr(answers, "utcnow", lambda: later)
    html, body = both(client, license.code)

    assert "history failed its check" in html and body["state"] == "invalid"


def test_an_answer_cached_before_expiry_is_not_served_after_it(app, client, signed_license, monkeypatch):
    expires = utcnow() + timedelta(days=3)
    license = signed_license(expires_at=expires)
    html, body = both(client, license.code)
    assert "Valid, expiring soon." in html and body["state"] == "expiring_soon"

    later = expires + timedelta(minutes=1)  # no database change at all: only time passes
    monkeypatch.setattr(answers, "utcnow", lambda: later)
    monkeypatch.setattr(verification, "utcnow", lambda: later)
    html, body = both(client, license.code)

    assert "Not valid: expired" in html and body["state"] == "expired" and body["valid"] is False


def test_the_day_count_follows_the_clock(app, client, signed_license, monkeypatch):
    now = utcnow()
    license = signed_license(expires_at=now + timedelta(days=10, hours=12))
    assert "(10 days left)" in client.get(f"/verify/{license.code}").get_data(as_text=True)
    later = now + timedelta(days=2)
    monkeypatch.setattr(answers, "utcnow", lambda: later)
    monkeypatch.setattr(verification, "utcnow", lambda: later)
    assert "(8 days left)" in client.get(f"/verify/{license.code}").get_data(as_text=True)


def test_a_renamed_holder_is_shown_by_the_new_name(app, client, signed_license):
    license = signed_license(holder_name="Rosa Díaz")
    html, body = both(client, license.code)
    assert "Rosa Díaz" in html and body["holder"] == "Rosa Díaz"
    with app.app_context():
        holder = db.session.get(User, license.holder_id)
        holder.name = "Rosa Díaz Vega"
        services.rename_holder(holder, holder)
        db.session.commit()

    html, body = both(client, license.code)

    assert "Rosa Díaz Vega" in html and body["holder"] == "Rosa Díaz Vega"


def test_an_erased_holder_is_no_longer_named(app, client, make_user, signed_license):
    license = signed_license(holder_name="Rosa Díaz")
    both(client, license.code)
    admin = make_user(Role.ADMIN)
    with app.app_context():
        erasure.erase(db.session.get(User, license.holder_id), db.session.get(User, admin.id))
        db.session.commit()

    html, body = both(client, license.code)

    assert "Rosa Díaz" not in html and "Rosa Díaz" not in str(body)
    assert body["state"] == "revoked"


def test_the_proof_follows_the_licenses_newest_log_leaf(app, client, make_user, signed_license):
    license = signed_license()
    first = client.get(f"/verify/{license.code}.json").get_json()["transparency"]
    other = signed_license()  # the log grows by someone else's leaf: the cached proof stays true
    client.get(f"/verify/{other.code}.json")
    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.suspend(db.session.get(License, license.id), db.session.get(User, admin.id), "Check")
        db.session.commit()

    after = client.get(f"/verify/{license.code}.json").get_json()["transparency"]

    assert after["leaf_index"] > first["leaf_index"]
    assert after["tree_size"] > after["leaf_index"]


def test_a_signed_in_viewer_gets_a_page_of_their_own(app, client, make_user, signed_license):
    license = signed_license()
    client.get(f"/verify/{license.code}")  # cached for visitors
    viewer = make_user(Role.STUDENT, name="Otto Viewer")
    login(client, viewer)

    html = client.get(f"/verify/{license.code}").get_data(as_text=True)

    assert "Otto Viewer" in html  # the layout names who is signed in
    client.get("/auth/logout")


def test_a_visitors_waiting_message_is_theirs_alone(app, client, signed_license):
    license = signed_license()
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "A message for one visitor")]
    assert "A message for one visitor" in client.get(f"/verify/{license.code}").get_data(as_text=True)

    other = app.test_client().get(f"/verify/{license.code}").get_data(as_text=True)

    assert "A message for one visitor" not in other


# --- 304 Not Modified ----------------------------------------------------------------------


def revalidates(client, url: str) -> None:
    first = client.get(url)
    assert first.status_code == 200, url
    etag = first.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304, url
    assert again.headers["ETag"] == etag and not again.data


@pytest.mark.parametrize("url", URLS)
def test_verify_answers_revalidate(client, signed_license, url):
    license = signed_license()
    client.get(url.format(code=license.code))  # the first check signs the log's checkpoint
    revalidates(client, url.format(code=license.code))


def test_a_changed_license_does_not_revalidate(app, client, make_user, signed_license):
    license = signed_license()
    url = f"/verify/{license.code}.json"
    client.get(url)
    etag = client.get(url).headers["ETag"]
    admin = make_user(Role.ADMIN)
    with app.app_context():
        services.revoke(db.session.get(License, license.id), db.session.get(User, admin.id), "fraud", "x")
        db.session.commit()
    response = client.get(url, headers={"If-None-Match": etag})
    assert response.status_code == 200 and response.get_json()["state"] == "revoked"


def test_the_certificate_and_the_qr_code_revalidate(app, client, signed_license, audit_events):
    license = signed_license()
    with app.app_context():
        holder = db.session.get(User, license.holder_id)
        holder.password = "correct horse battery"
    login(client, holder)
    revalidates(client, f"/licenses/{license.id}/certificate.pdf")
    revalidates(client, f"/licenses/{license.id}/qr.svg")
    downloads = audit_events("license.certificate_downloaded")
    # A 304 is a download too (the holder's browser shows the file it kept): recorded.
    assert [e.details.get("not_modified") for e in downloads] == [False, True]


def test_status_lists_and_the_checkpoint_revalidate(client, signed_license):
    signed_license()
    revalidates(client, "/credentials/status/revocation")
    client.get("/transparency/checkpoint")
    revalidates(client, "/transparency/checkpoint")
