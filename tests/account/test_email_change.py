"""POST /account/email: a link to the new address, a notice with a cancel link to the old one."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest

from portal import mail
from portal.account import services
from portal.audit import actions
from portal.auth import services as accounts
from portal.extensions import db
from portal.models.user import User
from tests.support.http import is_logged_in, login
from tests.support.mail import link_in, outbox, wait_for_mail


def _path(text: str, prefix: str) -> str:
    """The link's path: the test client keeps its cookies for its own host."""
    return urlsplit(link_in(text, prefix)).path


def _user(app, user_id) -> User:
    with app.app_context():
        user = db.session.get(User, user_id)
        db.session.expunge(user)
        return user


def _ask(client, user, new_email="new.address@example.org", password=None):
    return client.post("/account/email", data={"new_email": new_email,
                                               "current_password": password or user.password})


def test_the_address_changes_only_when_the_new_address_opens_its_link(app, client, login_as, audit_events):
    user = login_as()
    answer = _ask(client, user, "New.Address@Example.org")
    assert answer.status_code == 303
    assert _user(app, user.id).email == user.email  # not yet
    assert _user(app, user.id).pending_email == "new.address@example.org"
    [(subject, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "new.address@example.org")
    assert subject == "Confirm your new e-mail address"
    [(notice_subject, notice)] = wait_for_mail(app.config["MAIL_OUTBOX"], user.email)
    assert notice_subject == "Your e-mail address is about to change" and "new.address@example.org" in notice
    _path(notice, "/account/cancel-email/")
    link = _path(text, "/account/confirm-email/")
    opened = client.get(link)
    assert opened.status_code == 303 and opened.headers["Location"].endswith("/account")
    changed = _user(app, user.id)
    assert changed.email == "new.address@example.org" and changed.pending_email is None
    [event] = audit_events(actions.USER_EMAIL_CHANGED)
    assert event.details == {"before": user.email, "after": "new.address@example.org"}
    # Once: the same link again is a clear page with a way to ask again.
    again = client.get(link)
    html = again.get_data(as_text=True)
    assert again.status_code == 400 and "already used" in html and 'href="/account"' in html
    # The cancel link died with the change.
    assert client.get(_path(notice, "/account/cancel-email/")).status_code == 400


def test_this_was_not_me_cancels_and_ends_every_session(app, client, login_as, audit_events):
    user = login_as()
    other = app.test_client()
    login(other, user)
    _ask(client, user)
    [(_s, notice)] = wait_for_mail(app.config["MAIL_OUTBOX"], user.email)
    [(_s, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "new.address@example.org")
    cancel = _path(notice, "/account/cancel-email/")
    page = other.get(cancel)  # a page with a button: mail scanners open links too
    assert page.status_code == 200 and "new.address@example.org" in page.get_data(as_text=True)
    assert _user(app, user.id).pending_email == "new.address@example.org"
    done = other.post(cancel)
    assert done.status_code == 303 and "/auth/login" in done.headers["Location"]
    assert _user(app, user.id).pending_email is None and _user(app, user.id).email == user.email
    assert not is_logged_in(client) and not is_logged_in(other)
    [event] = audit_events(actions.USER_EMAIL_CHANGE_CANCELLED)
    assert event.details["sessions_ended"] == 2
    assert client.get(_path(text, "/account/confirm-email/")).status_code == 400
    assert _user(app, user.id).email == user.email


def test_an_address_in_use_gets_the_same_answer_and_no_change(app, client, login_as, make_user):
    owner = make_user(email="owner@example.org")
    user = login_as()
    taken = _ask(client, user, owner.email.upper())
    free = _ask(client, user, "free@example.org")
    assert taken.status_code == free.status_code == 303
    assert taken.headers["Location"] == free.headers["Location"]
    [(subject, _text)] = wait_for_mail(app.config["MAIL_OUTBOX"], owner.email)
    assert subject == "Someone tried to use your e-mail address"
    assert _user(app, user.id).pending_email == "free@example.org"
    assert _user(app, owner.id).email == owner.email


def test_wrong_password_and_bad_addresses_get_field_errors(app, client, login_as, audit_events):
    user = login_as(email="me@example.org")
    wrong = _ask(client, user, password="not the password")
    assert wrong.status_code == 422 and 'id="current_password-error"' in wrong.get_data(as_text=True)
    assert audit_events(actions.USER_EMAIL_CHANGE_REQUESTED)[0].outcome == "failure"
    bad = _ask(client, user, "not an address")
    assert bad.status_code == 422 and 'id="new_email-error"' in bad.get_data(as_text=True)
    same = _ask(client, user, user.email)
    assert same.status_code == 422 and "already your e-mail address" in same.get_data(as_text=True)
    assert outbox(app.config["MAIL_OUTBOX"]) == []
    assert _user(app, user.id).pending_email is None


def test_wrong_passwords_count_toward_the_lockout_and_the_owner_hears(app, client, login_as, audit_events):
    """The password asked for a new address is guessed no more cheaply than at login."""
    app.config.update(LOCKOUT_THRESHOLD=3)
    user = login_as(email="guarded@example.org")
    for _ in range(3):
        assert _ask(client, user, password="not the password").status_code == 422
    lock = wait_for_mail(app.config["MAIL_OUTBOX"], "guarded@example.org", 1)
    assert "locked" in lock[0][0]
    with app.app_context():
        assert accounts.is_locked(db.session.get(User, user.id))
    # Locked: the right password is not checked either, and nothing is asked for.
    refused = _ask(client, user)
    assert refused.status_code == 422
    assert "locked from this device or network" in refused.get_data(as_text=True)
    reasons = [e.details.get("reason") for e in audit_events(actions.USER_EMAIL_CHANGE_REQUESTED)]
    assert reasons.count("wrong_current_password") == 3 and "locked" in reasons
    assert _user(app, user.id).pending_email is None
    assert [to for to, _s, _t in outbox(app.config["MAIL_OUTBOX"])] == ["guarded@example.org"]


def test_mail_that_cannot_be_sent_changes_nothing_and_says_so(app, client, login_as, monkeypatch,
                                                              audit_events):
    user = login_as()
    monkeypatch.setattr(mail, "send", lambda *args, **kwargs: False)
    answer = _ask(client, user)
    assert answer.status_code == 503
    assert "could not be sent" in answer.get_data(as_text=True)
    assert _user(app, user.id).pending_email is None
    assert audit_events(actions.USER_EMAIL_CHANGE_REQUESTED) == []


def test_an_expired_or_replaced_link_says_so(app, client, login_as, monkeypatch):
    user = login_as()
    _ask(client, user, "first@example.org")
    [(_s, first)] = wait_for_mail(app.config["MAIL_OUTBOX"], "first@example.org")
    _ask(client, user, "second@example.org")
    [(_s, second)] = wait_for_mail(app.config["MAIL_OUTBOX"], "second@example.org")
    replaced = client.get(_path(first, "/account/confirm-email/"))
    assert replaced.status_code == 400 and "newer change" in replaced.get_data(as_text=True)
    monkeypatch.setattr(services, "EMAIL_CHANGE_MAX_AGE", timedelta(seconds=-1))
    expired = client.get(_path(second, "/account/confirm-email/"))
    html = expired.get_data(as_text=True)
    assert expired.status_code == 400 and "expired" in html and "Ask for a new link" in html
    assert client.get("/account/confirm-email/garbage").status_code == 400
    assert _user(app, user.id).email == user.email


@pytest.mark.parametrize(("locale", "subject"), [("es", "Confirma tu nueva dirección de correo"),
                                                 ("hu", "Erősítsd meg az új e-mail-címedet")])
def test_the_mail_speaks_the_recipients_language(app, client, login_as, locale, subject):
    user = login_as()
    client.post("/account/profile", data={"name": user.name, "timezone": "UTC", "locale": locale})
    _ask(client, user)
    [(got, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "new.address@example.org")
    assert got == subject
    _path(text, "/account/confirm-email/")
