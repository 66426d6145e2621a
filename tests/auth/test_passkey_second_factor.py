"""A passkey as the second step of a password login and for a step-up (SPEC §9): it counts
as a second factor (admins with only a passkey are enrolled), refusals count toward the
lockout, and an admin's reset of two-factor sign-in removes the lost passkeys too."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.auth import second_factor
from portal.db import clock
from portal.extensions import db
from portal.models.passkey import Passkey
from portal.models.user import LoginThrottle, Role, User, UserStatus
from tests.support.authenticator import SoftAuthenticator
from tests.support.http import is_logged_in


@pytest.fixture
def required(app):
    app.config["PORTAL_ADMIN_2FA_REQUIRED"] = True
    return app


def _register(client, authn):
    options = client.post("/auth/passkeys/register/options").get_json()
    answer = client.post("/auth/passkeys/register/verify",
                         json={"credential": authn.create(options), "name": "Phone"})
    assert answer.status_code == 200, answer.get_json()


def _password_step(client, user):
    answer = client.post("/auth/login", data={"email": user.email, "password": user.password})
    assert answer.status_code in (302, 303) and answer.headers["Location"].endswith("/auth/two-factor")


def _passkey_step(client, authn, **body):
    options = client.post("/auth/passkeys/second-factor/options").get_json()
    return options, client.post("/auth/passkeys/second-factor/verify",
                                json={"credential": authn.get(options), **body})


@pytest.fixture
def with_passkey(app, client, make_user):
    """A student whose only second factor is a passkey, logged out again."""
    user = make_user(Role.STUDENT)
    client.post("/auth/login", data={"email": user.email, "password": user.password})
    authn = SoftAuthenticator()
    _register(client, authn)
    client.post("/auth/logout")
    return user, authn


def test_a_passkey_is_the_second_step_after_the_password(app, client, with_passkey, audit_events):
    user, authn = with_passkey
    _password_step(client, user)
    assert not is_logged_in(client)
    page = client.get("/auth/two-factor").get_data(as_text=True)
    assert 'id="passkey-second-factor"' in page and 'name="code"' not in page  # no app to ask a code of
    options, answer = _passkey_step(client, authn)
    assert [c["id"] for c in options["allowCredentials"]] == [authn.id]
    assert answer.status_code == 200 and answer.get_json() == {"redirect": "/dashboard"}
    assert is_logged_in(client)
    login = audit_events(actions.LOGIN)[-1]
    assert login.actor_id == user.id and login.details["second_factor"] == "passkey"


def test_another_persons_passkey_does_not_pass_the_second_step_and_counts_toward_the_lockout(
        app, client, with_passkey, make_user, audit_events):
    user, _authn = with_passkey
    stranger = SoftAuthenticator()  # a passkey this account never registered
    _password_step(client, user)
    _options, answer = _passkey_step(client, stranger)
    assert answer.status_code == 400 and "not registered" in answer.get_json()["error"]
    assert not is_logged_in(client)
    refused = audit_events(actions.LOGIN_FAILED)[-1]
    assert refused.details["reason"] == "passkey_unknown" and refused.details["step"] == "second_factor"
    with app.app_context():
        counted = set(db.session.scalars(sa.select(LoginThrottle.failures)
                                         .where(LoginThrottle.user_id == user.id)))
    assert counted == {1}  # one failure, in each counter a wrong password would go to


def test_without_a_pending_login_the_second_step_refuses(client):
    answer = client.post("/auth/passkeys/second-factor/options")
    assert answer.status_code == 400 and answer.get_json()["reason"] == "no_login"


def test_an_admin_with_only_a_passkey_is_enrolled_and_steps_up_with_it(
        required, client, make_user, audit_events):
    app = required
    admin = make_user(Role.ADMIN)
    client.post("/auth/login", data={"email": admin.email, "password": admin.password})
    # Without a second factor the admin is sent to enrolment, and may add a passkey there.
    assert "/account/two-factor" in client.get("/admin/users").headers["Location"]
    assert client.get("/account/passkeys").status_code == 200
    authn = SoftAuthenticator()
    _register(client, authn)
    assert client.get("/admin/users").status_code == 200  # the passkey is a second factor

    student = make_user(Role.STUDENT)
    later = datetime.now(UTC) + timedelta(minutes=20)
    with clock(lambda: later):
        asked = client.post(f"/admin/users/{student.id}/status",
                            data={"status": UserStatus.SUSPENDED, "reason": "test"},
                            headers={"Referer": f"http://localhost/admin/users/{student.id}"})
        assert "/auth/step-up" in asked.headers["Location"]
        page = client.get(asked.headers["Location"]).get_data(as_text=True)
        assert 'id="passkey-second-factor"' in page, page[page.find("<main"):][:3000]
        assert f'data-next="/admin/users/{student.id}"' in page, page[page.find("data-next"):][:200]
        _options, answer = _passkey_step(client, authn, next=f"/admin/users/{student.id}")
        assert answer.get_json() == {"redirect": f"/admin/users/{student.id}"}
        assert audit_events(actions.STEP_UP)[-1].details["method"] == "passkey"
        done = client.post(f"/admin/users/{student.id}/status",
                           data={"status": UserStatus.SUSPENDED, "reason": "test"})
        assert "/auth/step-up" not in done.headers["Location"]
    with app.app_context():
        assert db.session.get(User, student.id).status == UserStatus.SUSPENDED


def test_a_passwordless_passkey_login_is_fresh_for_step_up(app, client, with_passkey):
    user, authn = with_passkey
    options = client.post("/auth/passkeys/login/options").get_json()
    client.post("/auth/passkeys/login/verify", json={"credential": authn.get(options)})
    with client.session_transaction() as session:
        assert session.get(second_factor.FRESH_KEY + "_method") == "passkey"


def test_an_admin_reset_removes_lost_passkeys_so_the_password_logs_in_again(
        app, client, app_factory, with_passkey, make_user, audit_events):
    user, _authn = with_passkey
    admin = make_user(Role.ADMIN)
    desk = app.test_client()
    desk.post("/auth/login", data={"email": admin.email, "password": admin.password})
    answer = desk.post(f"/admin/users/{user.id}/reset-two-factor", data={"reason": "lost phone"})
    assert answer.status_code in (302, 303)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Passkey)
                                 .where(Passkey.user_id == user.id)) == 0
    reset = audit_events(actions.TWO_FACTOR_RESET)[-1]
    assert reset.details["passkeys_removed"] == 1
    answer = client.post("/auth/login", data={"email": user.email, "password": user.password})
    assert not answer.headers["Location"].endswith("/auth/two-factor") and is_logged_in(client)
