"""Passkeys (SPEC §9): adding one, logging in with it without a password, and every way a
ceremony's answer can be wrong, answered by a software authenticator that signs real
bytes (tests/support/authenticator.py)."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.auth import passkeys, services
from portal.db import clock, utcnow
from portal.extensions import db
from portal.models.passkey import Passkey, PasskeyChallenge
from portal.models.user import Role, User
from tests.support.authenticator import SoftAuthenticator
from tests.support.http import is_logged_in, session_cookie, set_session_cookie
from tests.support.live import together
from tests.support.mail import outbox


def register(client, authn, name="Work laptop", **bend):
    options = client.post("/auth/passkeys/register/options").get_json()
    return client.post("/auth/passkeys/register/verify",
                       json={"credential": authn.create(options, **bend), "name": name})


def passkey_login(client, authn, **bend):
    options = client.post("/auth/passkeys/login/options").get_json()
    return client.post("/auth/passkeys/login/verify", json={"credential": authn.get(options, **bend)})


def stored(app, user_id=None) -> list[Passkey]:
    with app.app_context():
        stmt = sa.select(Passkey).order_by(Passkey.id)
        if user_id is not None:
            stmt = stmt.where(Passkey.user_id == user_id)
        found = list(db.session.scalars(stmt))
        for p in found:
            db.session.expunge(p)
        return found


@pytest.fixture
def enrolled(app, client, login_as):
    """A student with one passkey (a device counting its uses), logged out again."""
    user = login_as(Role.STUDENT)
    authn = SoftAuthenticator()
    assert register(client, authn).status_code == 200
    client.post("/auth/logout")
    return user, authn


def test_register_then_log_in_without_a_password(app, client, login_as, audit_events):
    user = login_as(Role.STUDENT)
    options = client.post("/auth/passkeys/register/options").get_json()
    # Discoverable, with user verification, for this site; no attestation asked for.
    assert options["rp"]["id"] == "portal.test" and options["attestation"] == "none"
    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["user"]["name"] == user.email and options["excludeCredentials"] == []
    authn = SoftAuthenticator()
    response = client.post("/auth/passkeys/register/verify",
                           json={"credential": authn.create(options), "name": "  Work   laptop "})
    assert response.status_code == 200 and response.get_json() == {"redirect": "/account/passkeys"}
    [passkey] = stored(app, user.id)
    assert passkey.name == "Work laptop" and passkey.credential_id == authn.id
    assert passkey.sign_count == 0 and passkey.transports == ["internal"] and not passkey.backed_up
    [added] = audit_events("auth.passkey_added")
    assert added.actor_id == user.id and added.resource_type == "passkey"
    assert added.details["name"] == "Work laptop"
    [(to, subject, text)] = outbox(app.config["MAIL_OUTBOX"])
    assert to == user.email and subject == "A passkey was added to your Portal account"
    assert "“Work laptop”" in text and "http://portal.test/account/passkeys" in text
    page = client.get("/account/passkeys").get_data(as_text=True)
    assert "Work laptop" in page and "is added" in page
    # The next registration leaves this passkey out, under the same account handle.
    again = client.post("/auth/passkeys/register/options").get_json()
    assert [c["id"] for c in again["excludeCredentials"]] == [authn.id]
    assert again["user"]["id"] == options["user"]["id"]

    client.post("/auth/logout")
    assert not is_logged_in(client)
    response = passkey_login(client, authn)
    assert response.status_code == 200 and response.get_json() == {"redirect": "/dashboard"}
    assert is_logged_in(client)
    [login] = audit_events("auth.login")[-1:]
    assert login.actor_id == user.id and login.details["method"] == "passkey"
    assert login.details["passkey_id"] == passkey.id
    [used] = stored(app, user.id)
    assert used.sign_count == 1 and used.last_used_at is not None


def test_login_goes_on_to_next_and_keeps_the_device_logged_in(app, client, enrolled):
    _user, authn = enrolled
    options = client.post("/auth/passkeys/login/options").get_json()
    assert options["userVerification"] == "required" and options["allowCredentials"] == []
    response = client.post("/auth/passkeys/login/verify", json={
        "credential": authn.get(options), "remember": True, "next": "/auth/sessions"})
    assert response.get_json() == {"redirect": "/auth/sessions"}
    assert client.get_cookie(app.config["REMEMBER_COOKIE_NAME"]) is not None


def test_a_synced_passkey_whose_counter_stays_zero_logs_in_every_time(app, client, login_as):
    user = login_as()
    authn = SoftAuthenticator(synced=True)
    assert register(client, authn).status_code == 200
    client.post("/auth/logout")
    for _ in range(3):
        assert passkey_login(client, authn).status_code == 200
        client.post("/auth/logout")
    [passkey] = stored(app, user.id)
    assert passkey.sign_count == 0 and passkey.backed_up
    other = app.test_client()  # a passkey is now this account's second factor: log in with it
    assert passkey_login(other, authn).status_code == 200
    assert "Synced between your devices" in other.get("/account/passkeys").get_data(as_text=True)


def test_a_counter_that_goes_backwards_is_refused_and_audited(app, client, enrolled, audit_events):
    user, authn = enrolled
    assert passkey_login(client, authn).status_code == 200  # counter 1
    client.post("/auth/logout")
    assert passkey_login(client, authn).status_code == 200  # counter 2
    client.post("/auth/logout")
    response = passkey_login(client, authn, counter=1)  # a copy of the key, behind
    assert response.status_code == 400
    body = response.get_json()
    assert body["reason"] == "counter" and "counter went backwards" in body["error"]
    assert not is_logged_in(client)
    [failed] = audit_events("auth.login_failed")
    assert failed.actor_id == user.id and failed.outcome == "failure"
    assert failed.details["reason"] == "passkey_counter" and failed.details["stored"] == 2
    assert failed.details["received"] == 1
    [passkey] = stored(app, user.id)
    assert passkey.sign_count == 2
    # The same counter again is no better.
    assert passkey_login(client, authn, counter=2).get_json()["reason"] == "counter"


@pytest.mark.parametrize("bend, reason", [
    ({"origin": "http://evil.test"}, "origin"),
    ({"origin": "https://portal.test"}, "origin"),
    ({"rp_id": "evil.test"}, "rp_id"),
])
def test_a_passkey_made_for_another_site_is_not_added(app, client, login_as, audit_events, bend, reason):
    user = login_as()
    response = register(client, SoftAuthenticator(), **bend)
    assert response.status_code == 400 and response.get_json()["reason"] == reason
    assert "another website" in response.get_json()["error"]
    assert stored(app) == []
    [refused] = audit_events("auth.passkey_refused")
    assert refused.actor_id == user.id and refused.details["reason"] == f"passkey_{reason}"
    assert outbox(app.config["MAIL_OUTBOX"]) == []


@pytest.mark.parametrize("bend, reason", [
    ({"origin": "http://evil.test"}, "origin"),
    ({"rp_id": "evil.test"}, "rp_id"),
    ({"tamper": True}, "signature"),
])
def test_an_answer_for_another_site_or_tampered_does_not_log_in(app, client, enrolled, audit_events,
                                                                  bend, reason):
    user, authn = enrolled
    response = passkey_login(client, authn, **bend)
    assert response.status_code == 400 and response.get_json()["reason"] == reason
    assert not is_logged_in(client)
    [failed] = audit_events("auth.login_failed")
    assert failed.actor_id == user.id and failed.details["reason"] == f"passkey_{reason}"
    assert failed.details["method"] == "passkey"


def test_a_challenge_is_answered_once(app, client, enrolled, audit_events):
    _user, authn = enrolled
    options = client.post("/auth/passkeys/login/options").get_json()
    cookie_with_challenge = session_cookie(client)
    credential = authn.get(options)
    assert client.post("/auth/passkeys/login/verify", json={"credential": credential}).status_code == 200
    client.post("/auth/logout")
    # The same answer again, even with the cookie that still named the challenge.
    set_session_cookie(client, cookie_with_challenge)
    replay = client.post("/auth/passkeys/login/verify", json={"credential": credential})
    assert replay.status_code == 400 and replay.get_json()["reason"] == "challenge"
    assert not is_logged_in(client)
    assert audit_events("auth.login_failed")[-1].details["reason"] == "passkey_challenge"
    # Without asking for options first there is nothing to answer.
    fresh = app.test_client()
    unasked = fresh.post("/auth/passkeys/login/verify", json={"credential": authn.get(options)})
    assert unasked.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PasskeyChallenge)) == 0


def test_an_expired_challenge_is_refused(app, client, enrolled):
    _user, authn = enrolled
    options = client.post("/auth/passkeys/login/options").get_json()
    later = utcnow() + passkeys.CHALLENGE_LIFETIME + timedelta(seconds=1)
    with clock(lambda: later):
        response = client.post("/auth/passkeys/login/verify", json={"credential": authn.get(options)})
    assert response.status_code == 400 and response.get_json()["reason"] == "challenge"


def test_a_registration_challenge_does_not_serve_a_login(app, client, login_as):
    login_as()
    authn = SoftAuthenticator()
    assert register(client, authn).status_code == 200
    options = client.post("/auth/passkeys/register/options").get_json()
    client.post("/auth/logout")
    other = app.test_client()
    other.post("/auth/passkeys/login/options")
    forged = authn.get({"rpId": "portal.test", "challenge": options["challenge"]})
    response = other.post("/auth/passkeys/login/verify", json={"credential": forged})
    assert response.status_code == 400 and response.get_json()["reason"] == "challenge"


def test_another_users_credential(app, client, login_as, make_user, audit_events):
    owner = login_as()
    authn = SoftAuthenticator()
    assert register(client, authn).status_code == 200
    [passkey] = stored(app, owner.id)
    client.post("/auth/logout")
    # Another account cannot take the same credential...
    intruder = login_as()
    response = register(client, authn)
    assert response.status_code == 400 and response.get_json()["reason"] == "duplicate"
    assert audit_events("auth.passkey_refused")[-1].details["reason"] == "passkey_duplicate"
    # ... nor rename or remove it (as if it did not exist) ...
    assert client.post(f"/account/passkeys/{passkey.id}/rename", data={"name": "Mine"}).status_code == 404
    assert client.post(f"/account/passkeys/{passkey.id}/remove").status_code == 404
    assert [p.name for p in stored(app)] == [passkey.name]
    client.post("/auth/logout")
    # ... and an answer naming another account's handle is not the owner's login.
    intruder_handle = b"x" * 32
    response = passkey_login(client, authn, user_handle=intruder_handle)
    assert response.status_code == 400 and response.get_json()["reason"] == "user_handle"
    assert not is_logged_in(client)
    assert intruder.id != owner.id


def test_an_unknown_passkey_is_refused(app, client, audit_events):
    response = passkey_login(client, SoftAuthenticator(user_handle=b"h" * 32))
    assert response.status_code == 400 and response.get_json()["reason"] == "unknown"
    [failed] = audit_events("auth.login_failed")
    assert failed.actor_id is None and failed.details["reason"] == "passkey_unknown"


def test_user_verification_is_required(app, client, login_as, enrolled):
    _user, authn = enrolled
    authn.user_verified = False
    response = passkey_login(client, authn)
    assert response.status_code == 400 and response.get_json()["reason"] == "user_verification"
    login_as()
    response = register(client, SoftAuthenticator(user_verified=False))
    assert response.status_code == 400 and response.get_json()["reason"] == "user_verification"


def test_a_suspended_account_cannot_log_in_with_its_passkey(app, client, enrolled):
    user, authn = enrolled
    with app.app_context():
        services.set_status(db.session.get(User, user.id), "suspended", None, "left")
        db.session.commit()
    response = passkey_login(client, authn)
    assert response.status_code == 400 and response.get_json()["reason"] == "account"
    assert not is_logged_in(client)


@pytest.mark.parametrize("body", [None, "not json", {"credential": "x"}, {"credential": {"id": 5}},
                                  {"credential": {"id": "abc", "rawId": "abc", "type": "public-key",
                                                  "response": {"clientDataJSON": "%%%"}}}])
def test_malformed_answers_get_a_json_error(app, client, login_as, body):
    login_as()
    client.post("/auth/passkeys/register/options")
    kwargs = {"json": body} if not isinstance(body, str) else {"data": body,
                                                                 "content_type": "application/json"}
    response = client.post("/auth/passkeys/register/verify", **kwargs)
    assert response.status_code == 400 and response.is_json and response.get_json()["error"]
    client.post("/auth/logout")
    client.post("/auth/passkeys/login/options")
    response = client.post("/auth/passkeys/login/verify", **kwargs)
    assert response.status_code == 400 and response.is_json and response.get_json()["error"]


def test_rename_and_remove(app, client, login_as, audit_events):
    user = login_as()
    assert register(client, SoftAuthenticator(), name="").status_code == 200
    [passkey] = stored(app, user.id)
    assert passkey.name == "Passkey 1"
    response = client.post(f"/account/passkeys/{passkey.id}/rename", data={"name": " \u202ePhone\u200b "})
    assert response.status_code == 303
    [renamed] = audit_events("auth.passkey_renamed")
    assert renamed.details["before"] == "Passkey 1" and renamed.details["after"] == "Phone"
    too_long = client.post(f"/account/passkeys/{passkey.id}/rename", data={"name": "x" * 65})
    assert too_long.status_code == 422 and "at most 64 characters" in too_long.get_data(as_text=True)
    assert client.post(f"/account/passkeys/{passkey.id}/rename", data={"name": ""}).status_code == 422
    assert stored(app, user.id)[0].name == "Phone"

    response = client.post(f"/account/passkeys/{passkey.id}/remove")
    assert response.status_code == 303
    assert stored(app) == []
    [removed] = audit_events("auth.passkey_removed")
    assert removed.details["name"] == "Phone" and removed.actor_id == user.id
    mails = outbox(app.config["MAIL_OUTBOX"])
    assert [s for _to, s, _t in mails] == ["A passkey was added to your Portal account",
                                           "A passkey was removed from your Portal account"]
    assert "“Phone” was removed" in mails[-1][2]
    page = client.get("/account/passkeys").get_data(as_text=True)
    assert "You have no passkeys yet" in page and "is removed" in page


def test_ceremonies_need_a_login_to_add_and_a_csrf_token(app_factory, make_user):
    app = app_factory(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    assert client.post("/auth/passkeys/register/options").status_code in (302, 400)
    assert client.post("/auth/passkeys/login/options").status_code == 400  # no token
    page = client.get("/auth/login").get_data(as_text=True)
    assert "Log in with a passkey" in page
    token = page.split('data-csrf-token="', 1)[1].split('"', 1)[0]
    response = client.post("/auth/passkeys/login/options", headers={"X-CSRFToken": token})
    assert response.status_code == 200 and response.get_json()["rpId"] == "portal.test"


@pytest.mark.parametrize("base, settings, expected", [
    ("http://127.0.0.1:5000", {}, ("localhost", "http://localhost:5000")),
    ("https://portal.academy.example", {}, ("portal.academy.example", "https://portal.academy.example")),
    ("https://www.academy.example", {"PASSKEY_RP_ID": "academy.example"},
     ("academy.example", "https://www.academy.example")),
    ("http://127.0.0.1:5000", {"PASSKEY_ORIGIN": "https://id.academy.example"},
     ("id.academy.example", "https://id.academy.example")),
])
def test_the_relying_party_follows_the_settings(app_factory, base, settings, expected):
    app = app_factory(PORTAL_BASE_URL=base, **settings)
    with app.app_context():
        rp = passkeys.relying_party()
    assert (rp.id, rp.origin) == expected


def test_one_answer_sent_many_times_at_once_logs_in_once(app, client, enrolled, audit_events):
    """The same signed answer, with the cookie that names its challenge, from eight
    clients at the same moment: the challenge's conditional DELETE lets exactly one in."""
    user, authn = enrolled
    options = client.post("/auth/passkeys/login/options").get_json()
    cookie = session_cookie(client)
    credential = authn.get(options)
    clients = []
    for _ in range(8):
        other = app.test_client()
        set_session_cookie(other, cookie)
        clients.append(other)
    replies = together([
        lambda c=c: c.post("/auth/passkeys/login/verify", json={"credential": credential}).get_json()
        for c in clients])
    assert sorted(r.get("reason") or "ok" for r in replies) == ["challenge"] * 7 + ["ok"]
    logins = [e for e in audit_events("auth.login") if e.details.get("method") == "passkey"]
    assert len(logins) == 1 and logins[0].actor_id == user.id
