"""Two-factor sign-in (SPEC §9): enrolment, the second login step, one use per code,
recovery codes, remembered devices, turning it off, and the CLI's code for the demo."""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from portal.audit import actions
from portal.auth import two_factor
from portal.db import clock
from portal.extensions import db
from portal.models.user import RecoveryCode, Role, TrustedDevice, User
from tests.support.http import is_logged_in, login
from tests.support.mail import outbox
from tests.support.two_factor import enrol


@pytest.fixture
def now():
    """The clock the app reads, held at the start of a time step (codes do not roll over)."""
    moment = datetime.now(UTC).replace(microsecond=0)
    moment -= timedelta(seconds=moment.second % two_factor.STEP_SECONDS)
    with clock(lambda: moment):
        yield moment


def secret_of(app, user) -> str:
    with app.app_context():
        return two_factor.unseal(db.session.get(User, user.id).totp_secret)


def code(secret: str, moment: datetime, steps: int = 0) -> str:
    return two_factor.code_at(secret, two_factor.step_at(moment) + steps)


def password_step(client, user, remember: bool = False):
    data = {"email": user.email, "password": user.password}
    if remember:
        data["remember"] = "y"
    return client.post("/auth/login", data=data)


def recovery_codes_in(html: str) -> list[str]:
    return re.findall(r'class="recovery-code">([^<]+)<', html)


def mails_to(app, email):
    return [(s, t) for to, s, t in outbox(app.config["MAIL_OUTBOX"]) if to == email]


# -- enrolment ---------------------------------------------------------------------------


def test_enrolment_shows_a_qr_code_and_the_secret_and_turns_on_after_a_right_code(
        app, client, login_as, audit_events, now):
    user = login_as(Role.STUDENT)
    page = client.get("/account/two-factor")
    assert page.status_code == 200 and "Two-factor sign-in is off" in page.get_data(as_text=True)
    started = client.post("/account/two-factor/totp").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', started).group(1)
    assert "<svg" in started and "otpauth" not in started.split("<svg")[0][-200:]
    with app.app_context():
        stored = db.session.get(User, user.id)
        assert stored.totp_secret != secret and secret not in stored.totp_secret  # sealed
        assert two_factor.unseal(stored.totp_secret) == secret
        assert stored.totp_enabled_at is None  # not on until a right code
    wrong = client.post("/account/two-factor/totp/confirm", data={"code": "000000"})
    assert wrong.status_code == 422 and "not correct" in wrong.get_data(as_text=True)
    assert audit_events(actions.SECOND_FACTOR_FAILED)[-1].details["purpose"] == "enrolment"
    done = client.post("/account/two-factor/totp/confirm", data={"code": code(secret, now)})
    html = done.get_data(as_text=True)
    codes = recovery_codes_in(html)
    assert done.status_code == 200 and len(codes) == 10 and len(set(codes)) == 10
    assert audit_events(actions.TWO_FACTOR_ENABLED)
    assert any("is on" in subject for subject, _t in mails_to(app, user.email))
    with app.app_context():
        assert two_factor.has_totp(db.session.get(User, user.id))
        stored = db.session.scalars(sa.select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id))
        assert not set(stored) & {c.replace("-", "") for c in codes}  # hashed
    # The codes are shown once: the page no longer has them, nor the secret.
    again = client.get("/account/two-factor").get_data(as_text=True)
    assert not recovery_codes_in(again) and secret not in again and "10 recovery codes left" in again
    download = client.post("/account/two-factor/recovery-codes/download", data={"codes": codes})
    assert download.status_code == 200 and download.mimetype == "text/plain"
    assert "attachment" in download.headers["Content-Disposition"]
    assert all(c in download.get_data(as_text=True) for c in codes)
    assert client.post("/account/two-factor/recovery-codes/download",
                       data={"codes": ["aaaaa-bbbbb"]}).status_code == 400


def test_the_enrolment_code_does_not_also_log_in(app, client, login_as, now):
    user = login_as(Role.STUDENT)
    client.post("/account/two-factor/totp")
    secret = secret_of(app, user)
    enrolment_code = code(secret, now)
    assert client.post("/account/two-factor/totp/confirm", data={"code": enrolment_code}).status_code == 200
    client.post("/auth/logout")
    password_step(client, user)
    refused = client.post("/auth/two-factor", data={"code": enrolment_code})
    assert refused.status_code == 422 and "already used" in refused.get_data(as_text=True)
    assert not is_logged_in(client)


# -- the second step -------------------------------------------------------------------------


@pytest.fixture
def enrolled(app, make_user):
    def make(role=Role.STUDENT, **kwargs):
        user = make_user(role, **kwargs)
        user.secret = enrol(app, user)
        return user
    return make


def test_after_the_password_the_visitor_is_not_logged_in_until_the_second_step(
        app, client, enrolled, audit_events, now):
    user = enrolled()
    # The enrolment took this step's code; the next step's is good (drift).
    first = password_step(client, user)
    assert first.status_code in (302, 303) and first.headers["Location"].endswith("/auth/two-factor")
    assert not is_logged_in(client)
    assert client.get("/dashboard").status_code == 302
    assert not audit_events(actions.LOGIN)
    page = client.get("/auth/two-factor")
    assert page.status_code == 200 and 'name="code"' in page.get_data(as_text=True)
    done = client.post("/auth/two-factor", data={"code": code(user.secret, now, +1)})
    assert done.status_code in (302, 303) and done.headers["Location"].endswith("/dashboard")
    assert is_logged_in(client)
    assert audit_events(actions.LOGIN)[-1].details["second_factor"] == "totp"


def test_the_second_step_needs_the_password_first(client):
    response = client.get("/auth/two-factor")
    assert response.status_code in (302, 303) and "/auth/login" in response.headers["Location"]


def test_a_code_is_accepted_once_and_an_older_one_never_after_it(app, enrolled, audit_events, now):
    user = enrolled()
    first, second = app.test_client(), app.test_client()
    password_step(first, user)
    password_step(second, user)
    good = code(user.secret, now, +1)
    assert first.post("/auth/two-factor", data={"code": good}).status_code == 303
    replayed = second.post("/auth/two-factor", data={"code": good})
    assert replayed.status_code == 422 and "already used" in replayed.get_data(as_text=True)
    older = second.post("/auth/two-factor", data={"code": code(user.secret, now, -1)})
    assert older.status_code == 422
    assert not is_logged_in(second)
    reasons = [e.details["reason"] for e in audit_events(actions.SECOND_FACTOR_FAILED)]
    assert reasons == ["replayed_code", "replayed_code"]


@pytest.mark.parametrize("steps, accepted", [(-2, False), (-1, True), (0, True), (1, True), (2, False)])
def test_one_step_of_clock_drift_either_way(app, client, make_user, steps, accepted, now):
    user = make_user(Role.STUDENT)
    # Enrolled a minute ago: every step around now is unused.
    with clock(lambda: now - timedelta(minutes=2)):
        user.secret = enrol(app, user)
    password_step(client, user)
    response = client.post("/auth/two-factor", data={"code": code(user.secret, now, steps)})
    assert (response.status_code == 303) is accepted
    assert is_logged_in(client) is accepted


def test_a_code_with_spaces_is_read_without_them(app, client, enrolled, now):
    user = enrolled()
    password_step(client, user)
    typed = code(user.secret, now, +1)
    assert client.post("/auth/two-factor", data={"code": f" {typed[:3]} {typed[3:]} "}).status_code == 303


def test_wrong_codes_count_toward_the_lockout_of_the_password(app, client, enrolled, audit_events, now):
    app.config.update(LOCKOUT_THRESHOLD=3)
    user = enrolled()
    password_step(client, user)
    for _ in range(2):
        assert client.post("/auth/two-factor", data={"code": "123456"}).status_code == 422
    locked = client.post("/auth/two-factor", data={"code": "654321"})
    assert locked.status_code == 422 and "locked" in locked.get_data(as_text=True)
    assert audit_events(actions.LOCKOUT)
    # Locked: even the right code is not checked now.
    still = client.post("/auth/two-factor", data={"code": code(user.secret, now, +1)})
    assert still.status_code == 422 and not is_logged_in(client)


def test_a_right_password_does_not_reset_the_count_of_wrong_codes(app, enrolled, now):
    app.config.update(LOCKOUT_THRESHOLD=3)
    user = enrolled()
    for _ in range(3):
        visitor = app.test_client()
        password_step(visitor, user)
        last = visitor.post("/auth/two-factor", data={"code": "111111"})
    assert "locked" in last.get_data(as_text=True)


# -- recovery codes --------------------------------------------------------------------------


def test_a_recovery_code_works_once_typed_any_way_and_is_mailed_with_the_number_left(
        app, client, make_user, audit_events, now):
    user = make_user(Role.STUDENT)
    login(client, user)
    client.post("/account/two-factor/totp")
    secret = secret_of(app, user)
    codes = recovery_codes_in(client.post("/account/two-factor/totp/confirm",
                                          data={"code": code(secret, now)}).get_data(as_text=True))
    client.post("/auth/logout")
    password_step(client, user)
    typed = " " + codes[0].upper().replace("-", " - ") + " "
    done = client.post("/auth/two-factor", data={"code": typed})
    assert done.status_code == 303 and is_logged_in(client)
    event = audit_events(actions.RECOVERY_CODE_USED)[-1]
    assert event.details["codes_left"] == 9
    assert audit_events(actions.LOGIN)[-1].details["second_factor"] == "recovery_code"
    used_mail = [t for s, t in mails_to(app, user.email) if "recovery code was used" in s]
    assert used_mail and "9 recovery codes left" in used_mail[-1]
    client.post("/auth/logout")
    password_step(client, user)
    again = client.post("/auth/two-factor", data={"code": codes[0]})
    assert again.status_code == 422 and not is_logged_in(client)
    assert client.post("/auth/two-factor", data={"code": codes[1]}).status_code == 303


def test_new_recovery_codes_replace_the_old_ones(app, client, enrolled, audit_events, now):
    user = enrolled()
    password_step(client, user)
    client.post("/auth/two-factor", data={"code": code(user.secret, now, +1)})
    first = recovery_codes_in(client.post("/account/two-factor/recovery-codes").get_data(as_text=True))
    second = recovery_codes_in(client.post("/account/two-factor/recovery-codes").get_data(as_text=True))
    assert len(first) == len(second) == 10 and not set(first) & set(second)
    assert len(audit_events(actions.RECOVERY_CODES_REGENERATED)) == 2
    assert any("new recovery codes" in s for s, _t in mails_to(app, user.email))
    client.post("/auth/logout")
    password_step(client, user)
    assert client.post("/auth/two-factor", data={"code": first[0]}).status_code == 422
    assert client.post("/auth/two-factor", data={"code": second[0]}).status_code == 303


# -- remembering a device ------------------------------------------------------------------


def test_a_remembered_device_skips_the_second_step_until_it_is_forgotten(app, client, enrolled, now):
    user = enrolled()
    password_step(client, user)
    client.post("/auth/two-factor", data={"code": code(user.secret, now, +1), "remember_device": "y"})
    assert client.get_cookie("portal_device") is not None
    client.post("/auth/logout")
    skipped = password_step(client, user)
    assert skipped.headers["Location"].endswith("/dashboard") and is_logged_in(client)
    with app.app_context():
        device = db.session.scalar(sa.select(TrustedDevice).where(TrustedDevice.user_id == user.id))
        device_id = device.id
    sessions_page = client.get("/auth/sessions").get_data(as_text=True)
    assert f'id="trusted-device-{device_id}"' in sessions_page
    assert client.post(f"/auth/trusted-devices/{device_id}/revoke").status_code in (302, 303)
    client.post("/auth/logout")
    asked = password_step(client, user)
    assert asked.headers["Location"].endswith("/auth/two-factor")
    # Another user's device is not theirs to forget.
    other_client = app.test_client()
    login(other_client, enrolled())
    assert other_client.post(f"/auth/trusted-devices/{device_id}/revoke").status_code == 404


def test_a_remembered_device_expires_after_30_days(app, client, enrolled, now):
    user = enrolled()
    password_step(client, user)
    client.post("/auth/two-factor", data={"code": code(user.secret, now, +1), "remember_device": "y"})
    client.post("/auth/logout")
    with clock(lambda: now + timedelta(days=30, minutes=1)):
        assert password_step(client, user).headers["Location"].endswith("/auth/two-factor")


# -- turning it off ------------------------------------------------------------------------


def test_turning_it_off_needs_the_password_and_a_code(app, client, enrolled, audit_events, now):
    user = enrolled()
    password_step(client, user)
    client.post("/auth/two-factor", data={"code": code(user.secret, now, +1)})
    wrong = client.post("/account/two-factor/disable", data={"current_password": "nope nope nope",
                                                             "code": code(user.secret, now, +1)})
    assert wrong.status_code == 422 and "password is not correct" in wrong.get_data(as_text=True)
    with clock(lambda: now + timedelta(seconds=60)):
        off = client.post("/account/two-factor/disable", data={"current_password": user.password,
                                                               "code": code(user.secret, now, +2)})
    assert off.status_code in (302, 303)
    assert audit_events(actions.TWO_FACTOR_DISABLED)[-1].outcome == "success"
    assert any("is off" in s for s, _t in mails_to(app, user.email))
    client.post("/auth/logout")
    assert password_step(client, user).headers["Location"].endswith("/dashboard")


def test_an_admin_cannot_turn_it_off_when_admins_must_use_it(app, client, enrolled, now):
    app.config["PORTAL_ADMIN_2FA_REQUIRED"] = True
    admin = enrolled(Role.ADMIN)
    password_step(client, admin)
    client.post("/auth/two-factor", data={"code": code(admin.secret, now, +1)})
    page = client.get("/account/two-factor").get_data(as_text=True)
    assert "cannot be turned off" in page and 'name="current_password"' not in page
    refused = client.post("/account/two-factor/disable", data={"current_password": admin.password,
                                                               "code": code(admin.secret, now, -1)})
    assert refused.status_code in (403, 422)
    with app.app_context():
        assert two_factor.has_totp(db.session.get(User, admin.id))


# -- the demo's command ------------------------------------------------------------------------


def test_the_cli_prints_a_code_that_logs_in_once_and_refuses_in_production(app, enrolled):
    user = enrolled()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "totp", user.email])
    assert result.exit_code == 0, result.output
    printed = result.output.split()[0]
    client = app.test_client()
    password_step(client, user)
    assert client.post("/auth/two-factor", data={"code": printed}).status_code == 303
    app.config["PORTAL_ENV"] = "production"
    refused = runner.invoke(args=["users", "totp", user.email])
    assert refused.exit_code != 0 and "production" in refused.output
