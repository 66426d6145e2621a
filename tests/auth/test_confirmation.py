"""Confirming the address of a registration: the link, a used or expired one, the login of
an unconfirmed account, new links and their limits, what an unconfirmed account may not
do, and the removal of accounts never confirmed."""

from __future__ import annotations

import threading
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from portal.admin import services as admin_services
from portal.auth import services, tokens
from portal.classes import services as class_services
from portal.db import utcnow
from portal.exceptions import NotAllowed
from portal.extensions import db
from portal.licenses import services as license_services
from portal.licenses.services import LicenseError
from portal.models.catalogue import Specialization
from portal.models.user import User, UserSession
from tests.support.http import is_logged_in, login
from tests.support.live import assert_chain_intact
from tests.support.mail import link_in, outbox, wait_for_mail

PASSWORD = "a very plain passphrase"
CONFIRM_SUBJECT = "Confirm your e-mail address for Portal"


def register(client, email="ada@example.org", name="Ada Lovelace"):
    response = client.post("/auth/register", data={
        "name": name, "email": email, "password": PASSWORD, "confirm_password": PASSWORD,
        "date_of_birth": "2000-12-10"})
    assert response.status_code == 200
    return response


def link_path(app, email="ada@example.org", count=1) -> str:
    mails = wait_for_mail(app.config["MAIL_OUTBOX"], email, count=count, subject=CONFIRM_SUBJECT)
    return urlsplit(link_in(mails[-1][1], "/auth/verify-email/")).path


def account(app, email="ada@example.org") -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


class Person:
    def __init__(self, email, password=PASSWORD):
        self.email, self.password = email, password


# -- the link -----------------------------------------------------------------------------


def test_link_confirms_activates_and_logs_in_once(app, client, audit_events):
    register(client)
    path = link_path(app)
    response = client.get(path)
    assert response.status_code == 303 and response.headers["Location"].endswith("/dashboard")
    assert is_logged_in(client)
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Welcome, Ada Lovelace" in page and "unconfirmed-notice" not in page
    user = account(app)
    assert user.status == "active" and user.email_confirmed_at is not None
    [confirmed] = audit_events("user.email_confirmed")
    assert confirmed.actor_id == user.id and confirmed.details == {"via": "confirmation_link"}
    [activated] = audit_events("user.status_changed")
    assert (activated.details["before"], activated.details["after"]) == ("pending", "active")
    [logged_in] = audit_events("auth.login")
    assert logged_in.actor_id == user.id and logged_in.details["via"] == "email_confirmation"
    # The same link again, from anywhere: a clear page with a way on, and nothing happens.
    other = app.test_client()
    again = other.get(path)
    assert again.status_code == 400
    html = again.get_data(as_text=True)
    assert "already used" in html and "/auth/verify-email" in html and "/auth/login" in html
    assert not is_logged_in(other)
    assert len(audit_events("user.email_confirmed")) == 1


def _token(app, user_id, hours_ago: float = 0, purpose="verify"):
    """A link made ``hours_ago``: signed with a clock that far back, no sleeping."""
    with app.app_context():
        user = db.session.get(User, user_id)
        payload = {"u": user.id, "f": tokens._fingerprint(user, purpose), "p": purpose}
        then = int((utcnow() - timedelta(hours=hours_ago)).timestamp())

        class PastSigner(TimestampSigner):
            def get_timestamp(self):
                return then

        return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=tokens._TOKEN_SALT,
                                      signer=PastSigner).dumps(payload)


def test_expired_link_offers_a_new_one(app, client):
    register(client)
    user = account(app)
    old = client.get(f"/auth/verify-email/{_token(app, user.id, hours_ago=24.1)}")
    assert old.status_code == 400
    html = old.get_data(as_text=True)
    assert "expired" in html and 'href="/auth/verify-email"' in html
    assert account(app).status == "pending" and not is_logged_in(client)
    # Just inside the 24 hours it still works.
    assert client.get(f"/auth/verify-email/{_token(app, user.id, hours_ago=23.9)}").status_code == 303
    assert account(app).status == "active"


def test_other_links_do_not_confirm(app, client, make_user):
    register(client)
    user = account(app)
    reset = _token(app, user.id, purpose="reset")
    tampered = _token(app, user.id)[:-2] + "xx"
    for token in (reset, tampered, "not-a-token"):
        response = client.get(f"/auth/verify-email/{token}")
        assert response.status_code == 400 and "not valid" in response.get_data(as_text=True)
    # Nor does a confirmation link open the password pages.
    client.get(f"/auth/reset-password/{_token(app, user.id)}")
    assert client.get("/auth/reset-password").status_code == 400
    assert account(app).status == "pending"


def test_two_clicks_at_once_confirm_once(app, audit_events):
    """The link opened in several tabs at the same moment: one confirmation, one login."""
    register(app.test_client())
    path = link_path(app)
    clients = [app.test_client() for _ in range(4)]
    barrier = threading.Barrier(len(clients))
    codes = []

    def click(c):
        barrier.wait()
        codes.append(c.get(path).status_code)

    threads = [threading.Thread(target=click, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(codes) == [303, 400, 400, 400]
    assert len(audit_events("user.email_confirmed")) == 1
    assert len(audit_events("auth.login")) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(UserSession.id))) == 1


# -- logging in before confirming -----------------------------------------------------------


def test_unconfirmed_login_is_told_to_confirm_and_can_ask_for_a_link(app, client, audit_events):
    register(client)
    first_link = link_path(app)
    wrong = client.post("/auth/login", data={"email": "ada@example.org", "password": "not the password"})
    assert wrong.status_code == 422 and str(services.GENERIC_LOGIN_ERROR) in wrong.get_data(as_text=True)
    right = client.post("/auth/login", data={"email": "ada@example.org", "password": PASSWORD})
    assert right.status_code == 303 and right.headers["Location"].endswith("/auth/verify-email")
    assert not is_logged_in(client)
    page = client.get("/auth/verify-email").get_data(as_text=True)
    assert "not confirmed yet" in page and 'value="ada@example.org"' in page
    [refused] = [e for e in audit_events("auth.login_failed") if e.details["reason"] == "email_unconfirmed"]
    assert refused.actor_id is None and refused.resource_id == str(account(app).id)

    sent = client.post("/auth/verify-email", data={"email": "ada@example.org"})
    unknown = client.post("/auth/verify-email", data={"email": "nobody@example.org"})
    assert sent.status_code == unknown.status_code == 303
    assert sent.headers["Location"] == unknown.headers["Location"]
    assert "If an account for that address" in client.get(sent.headers["Location"]).get_data(as_text=True)
    new_link = link_path(app, count=2)  # a second message (the same link within one second)
    assert first_link.startswith("/auth/verify-email/")
    assert [e.outcome for e in audit_events("user.confirmation_requested")] == ["success", "failure"]
    assert client.get(new_link).status_code == 303 and is_logged_in(client)


def test_no_link_for_confirmed_or_invited_accounts(app, client, make_user, audit_events):
    confirmed = make_user(email="done@example.org")
    with app.app_context():
        invited = services.create_user("invited@example.org", "Invited", "instructor", status="pending")
        db.session.commit()
    for email in (confirmed.email, "invited@example.org"):
        assert client.post("/auth/verify-email", data={"email": email}).status_code == 303
    assert [e.details["reason"] for e in audit_events("user.confirmation_requested")] == [
        "already_confirmed", "status_pending"]
    assert invited is not None and outbox(app.config["MAIL_OUTBOX"]) == []


def test_pending_account_an_admin_deactivated_is_refused_as_before(app, client, make_user, audit_events):
    user = make_user(email="paused@example.org")
    with app.app_context():
        services.set_status(db.session.get(User, user.id), "pending", None, "paused")
        db.session.commit()
    response = client.post("/auth/login", data={"email": user.email, "password": user.password})
    assert response.status_code == 422
    assert str(services.GENERIC_LOGIN_ERROR) in response.get_data(as_text=True)
    assert audit_events("auth.login_failed")[-1].details["reason"] == "status_pending"


def test_reset_link_also_confirms(app, client, audit_events):
    register(client)
    client.post("/auth/forgot-password", data={"email": "ada@example.org"})
    [(_, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "ada@example.org",
                                subject="Reset your Portal password")
    client.get(urlsplit(link_in(text, "/auth/reset-password/")).path)
    new = "my own new passphrase"
    done = client.post("/auth/reset-password", data={"password": new, "confirm_password": new})
    assert done.status_code == 303
    user = account(app)
    assert user.status == "active" and user.email_confirmed
    assert audit_events("user.email_confirmed")[0].details == {"via": "reset_link"}
    login(client, Person("ada@example.org", new))
    assert is_logged_in(client)
    # The confirmation link from before died with the old password.
    assert app.test_client().get(link_path(app)).status_code == 400


def test_admin_invitation_is_confirmed_by_its_set_password_link(app, client, make_user, audit_events):
    admin = make_user("admin")
    with app.app_context():
        invited = services.create_user("new@example.org", "New Instructor", "instructor",
                                       actor=db.session.get(User, admin.id), status="pending")
        db.session.flush()
        assert not invited.email_confirmed
        token = tokens.make_token(invited, "set")
        db.session.commit()
    client.get(f"/auth/reset-password/{token}")
    client.post("/auth/reset-password", data={"password": PASSWORD, "confirm_password": PASSWORD})
    user = account(app, "new@example.org")
    assert user.status == "active" and user.email_confirmed
    assert audit_events("user.email_confirmed")[0].details == {"via": "set_link"}


def test_cli_and_admin_made_active_accounts_count_as_confirmed(app, runner):
    result = runner.invoke(args=["users", "create", "boss@example.org", "--role", "admin", "--name", "Boss",
                                 "--password", "a long admin passphrase"])
    assert result.exit_code == 0, result.output
    assert account(app, "boss@example.org").email_confirmed


# -- what an unconfirmed account may not do ---------------------------------------------------


@pytest.fixture
def unconfirmed_active(app, make_user):
    """An account an admin activated before its owner confirmed the address."""
    user = make_user(email="early@example.org")
    with app.app_context():
        db.session.get(User, user.id).email_confirmed_at = None
        db.session.commit()
    return user


def test_services_refuse_specializations_and_classes(app, unconfirmed_active, make_user,
                                                     make_specialization, make_class):
    spec = make_specialization("PLY", "Player")
    klass = make_class(make_user("instructor"), spec)
    admin_id = make_user("admin").id
    with app.app_context():
        student = db.session.get(User, unconfirmed_active.id)
        player = db.session.get(Specialization, spec.id)
        with pytest.raises(LicenseError, match="Confirm your e-mail address"):
            license_services.select_specialization(student, player, student)
        with pytest.raises(NotAllowed, match="Confirm your e-mail address"):
            class_services.join_class(student, klass.join_code, actor=student)
        # Nor can an admin issue a license to an address nobody has confirmed.
        with pytest.raises(admin_services.AdminError, match="not confirmed"):
            admin_services.issue_to(student.email, player, 1, db.session.get(User, admin_id))


def test_routes_refuse_too_and_the_page_says_how_to_confirm(app, client, unconfirmed_active,
                                                           make_user, make_specialization, make_class):
    spec = make_specialization("PLY", "Player")
    klass = make_class(make_user("instructor"), spec)
    login(client, unconfirmed_active)
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert 'id="unconfirmed-notice"' in dashboard
    chosen = client.post("/licenses/select-specialization", data={"specialization": spec.id})
    assert chosen.status_code == 422
    assert "Confirm your e-mail address" in chosen.get_data(as_text=True)
    joined = client.post("/dashboard/join", data={"join_code": klass.join_code})
    assert joined.status_code == 403 and "Confirm your e-mail address" in joined.get_data(as_text=True)
    # A link from the notice's page confirms it.
    client.post("/auth/verify-email", data={"email": unconfirmed_active.email})
    [(_, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], unconfirmed_active.email)
    assert client.get(urlsplit(link_in(text, "/auth/verify-email/")).path).status_code == 303
    assert client.post("/dashboard/join", data={"join_code": klass.join_code}).status_code == 303


# -- limits ---------------------------------------------------------------------------------


def _from(app, ip):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def test_new_links_are_limited_per_address_and_per_ip(app_factory, fresh_limiter, audit_events):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    register(_from(app, "198.51.100.1"))  # the first link (1 of 3 an hour to the address)
    # From other IPs each time: only the per-address limit can stop them.
    answers = [_from(app, f"198.51.100.{n}").post("/auth/verify-email", data={"email": "ada@example.org"})
               for n in range(2, 6)]
    assert {a.status_code for a in answers} == {303}
    assert len({a.headers["Location"] for a in answers}) == 1
    assert len(wait_for_mail(app.config["MAIL_OUTBOX"], "ada@example.org", count=3)) == 3
    assert [e.details.get("reason") for e in audit_events("user.confirmation_requested")] == [
        None, None, "address_limit", "address_limit"]
    assert len(outbox(app.config["MAIL_OUTBOX"])) == 3
    # One IP asks at most three times an hour, whatever the addresses.
    same = _from(app, "203.0.113.9")
    codes = [same.post("/auth/verify-email", data={"email": f"x{n}@example.org"}).status_code
             for n in range(4)]
    assert codes == [303, 303, 303, 429]


def test_registrations_are_limited_per_ip(app_factory, fresh_limiter):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    client = _from(app, "198.51.100.20")
    # Form errors cost nothing.
    for _ in range(5):
        bad = client.post("/auth/register", data={"name": "X", "email": "nope", "password": "",
                                                  "confirm_password": "", "date_of_birth": ""})
        assert bad.status_code == 422
    codes = [register(client, f"r{n}@example.org").status_code for n in range(3)]
    blocked = client.post("/auth/register", data={
        "name": "Four", "email": "r4@example.org", "password": PASSWORD, "confirm_password": PASSWORD,
        "date_of_birth": "2000-12-10"})
    assert codes == [200, 200, 200] and blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    # Reading the form is not limited; another IP has its own budget.
    assert client.get("/auth/register").status_code == 200
    register(_from(app, "198.51.100.21"), "other@example.org")


def test_reset_mails_are_limited_per_address_quietly_and_per_ip(app_factory, fresh_limiter, make_user,
                                                                audit_events):
    app = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
    user = make_user(email="reset.me@example.org")
    answers = [_from(app, f"198.51.100.{n}").post("/auth/forgot-password", data={"email": user.email})
               for n in range(30, 35)]
    # The same answer each time; the mail stops after three.
    assert {a.status_code for a in answers} == {303} and len({a.headers["Location"] for a in answers}) == 1
    wait_for_mail(app.config["MAIL_OUTBOX"], user.email, count=3)
    events = audit_events("auth.password_reset_requested")
    assert [e.details.get("reason") for e in events] == [None, None, None, "address_limit", "address_limit"]
    assert len(outbox(app.config["MAIL_OUTBOX"])) == 3
    same = _from(app, "203.0.113.10")
    codes = [same.post("/auth/forgot-password", data={"email": f"y{n}@example.org"}).status_code
             for n in range(4)]
    assert codes == [303, 303, 303, 429]


# -- removing accounts never confirmed ------------------------------------------------------


def _age(app, email, days):
    with app.app_context():
        db.session.execute(sa.update(User).where(User.email == email)
                           .values(created_at=utcnow() - timedelta(days=days)))
        db.session.commit()


def test_purge_removes_only_old_unconfirmed_registrations(app, client, runner, make_user, audit_events):
    register(client, "old@example.org")
    register(client, "recent@example.org")
    register(client, "confirmed@example.org")
    client.get(link_path(app, "confirmed@example.org"))
    with app.app_context():
        services.create_user("invited@example.org", "Invited", "instructor", status="pending")
        db.session.commit()
    for email, days in [("old@example.org", 8), ("recent@example.org", 6), ("confirmed@example.org", 30),
                        ("invited@example.org", 30)]:
        _age(app, email, days)
    # A failed login names the account, but not as an actor: it can still go.
    app.test_client().post("/auth/login", data={"email": "old@example.org", "password": "wrong guess here"})

    result = runner.invoke(args=["users", "purge-unconfirmed"])
    assert result.exit_code == 0, result.output
    assert "Removed 1 unconfirmed account older than 7 days." in result.output
    with app.app_context():
        left = set(db.session.scalars(sa.select(User.email)))
    assert left == {"recent@example.org", "confirmed@example.org", "invited@example.org"}
    [removed] = audit_events("user.unconfirmed_removed")
    assert removed.details["email"] == "old@example.org" and removed.actor_id is None
    assert_chain_intact(app)
    # Safe to run again (cron): nothing more to do.
    again = runner.invoke(args=["users", "purge-unconfirmed"])
    assert "Removed 0 unconfirmed accounts" in again.output
    assert len(audit_events("user.unconfirmed_removed")) == 1
    # The address is free for its owner.
    register(app.test_client(), "old@example.org", name="The Real Owner")
    assert account(app, "old@example.org").name == "The Real Owner"
