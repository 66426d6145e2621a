"""Notification e-mail through a real SMTP server: headers, language, unsubscribe,
never re-subscribing, and a server that is down and comes back."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from portal.admin import services as admin_services
from portal.db import clock, utcnow
from portal.extensions import db
from portal.models import AuditEvent, User
from portal.models.notification import Category, DeliveryStatus
from portal.notifications import delivery, schedule
from portal.notifications.services import notify, preferences, set_preferences
from tests.notifications.helpers import deliveries_of, notifications_of
from tests.support.live import free_port
from tests.support.mail import SMTPInbox


def _notify(app, user, category, kind, **data):
    with app.app_context():
        notify(db.session.get(User, user.id), category, kind, **data)
        db.session.commit()


def _revoked(**extra):
    return dict(license_id=1, code="PLY-AAAA-BBBB-CC", specialization="Player", level=2,
                note="Issued in error", **extra)


def test_an_instant_notification_is_mailed_once_with_one_click_unsubscribe(mail_app, make_user):
    app, inbox = mail_app
    user = make_user("student")
    _notify(app, user, Category.LICENSE_STATUS, "license_revoked", **_revoked())
    rcpts, message = inbox.wait_for(1)[0]
    assert rcpts == [user.email]
    assert message["Subject"] == "Your Player license PLY-AAAA-BBBB-CC was revoked."
    assert "http://portal.test/licenses/1" in SMTPInbox.text(message)  # what it is about
    assert "Issued in error" not in SMTPInbox.text(message)  # the staff's note stays inside
    assert message.get_body(preferencelist=("html",)) is not None
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://portal.test/notifications/unsubscribe/")
    assert unsubscribe.endswith(">")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    [sent] = deliveries_of(app, user)
    assert sent.status == DeliveryStatus.SENT and sent.attempts == 1
    assert message["Message-ID"] == f"<{sent.key}@portal.localhost>"
    assert notifications_of(app, user)[0].mail_state == "sent"
    # Offered again (a second worker, a re-run): nothing more goes out.
    with app.app_context():
        assert delivery.send(sent.id) == "skipped"
        assert delivery.deliver_due(utcnow() + timedelta(days=1))["sent"] == 0
    assert len(inbox.messages) == 1


def test_security_mail_has_no_unsubscribe_and_cannot_be_turned_off(mail_app, make_user):
    app, inbox = mail_app
    user = make_user("student")
    with app.app_context():
        with pytest.raises(Exception, match="always sent"):
            set_preferences(db.session.get(User, user.id), {Category.SECURITY: "off"}, None)
        db.session.rollback()
    _notify(app, user, Category.SECURITY, "new_device_login", device="Firefox 128 on Linux")
    _, message = inbox.wait_for(1)[0]
    assert message["List-Unsubscribe"] is None and message["List-Unsubscribe-Post"] is None


def test_mail_is_written_in_the_readers_language(mail_app, make_user):
    app, inbox = mail_app
    user = make_user("student")
    with app.app_context():
        db.session.get(User, user.id).locale = "es"
        db.session.commit()
    _notify(app, user, Category.LICENSE_STATUS, "license_revoked", **_revoked())
    _, message = inbox.wait_for(1)[0]
    text = SMTPInbox.text(message)
    assert "Hola" in text and "revocada" in str(message["Subject"]).lower()


def _unsubscribe_link(message) -> str:
    return message["List-Unsubscribe"].strip("<>").replace("http://portal.test", "")


def test_one_click_post_stops_the_category_and_nothing_turns_it_back_on(
        mail_app, make_user, make_specialization, make_class, join, make_license):
    app, inbox = mail_app
    student, admin, instructor = make_user("student"), make_user("admin"), make_user("instructor")
    _notify(app, student, Category.LICENSE_STATUS, "license_revoked", **_revoked())
    link = _unsubscribe_link(inbox.wait_for(1)[0][1])
    client = app.test_client()  # nobody logged in
    page = client.get(link)
    assert page.status_code == 200 and "Changes to your licenses" in page.get_data(as_text=True)
    with app.app_context():
        assert preferences(student.id)[Category.LICENSE_STATUS] == "instant"  # a GET changes nothing
    done = client.post(link, data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    with app.app_context():
        assert preferences(student.id)[Category.LICENSE_STATUS] == "off"
        actions = list(db.session.scalars(sa.select(AuditEvent.action).where(
            AuditEvent.action.like("notification.%")).order_by(AuditEvent.seq)))
    assert actions == ["notification.preference_changed", "notification.unsubscribed"]
    # Later events of every sort: a class joined, a new license, a role change.
    spec = make_specialization()
    join(student, make_class(instructor, spec))
    make_license(student, spec, actor=admin)
    with app.app_context():
        admin_services.change_role(db.session.get(User, student.id), "instructor",
                                   db.session.get(User, admin.id), "Now teaches")
        db.session.commit()
        assert preferences(student.id)[Category.LICENSE_STATUS] == "off"
    assert notifications_of(app, student)[-1].kind == "license_issued"
    assert notifications_of(app, student)[-1].mail == "off"
    assert len(inbox.messages) == 1
    # The link again: says it is already off, and a second POST changes nothing.
    assert "already turned off" in client.get(link).get_data(as_text=True)
    assert client.post(link).status_code == 200


def test_a_bad_or_orphaned_unsubscribe_link_gets_a_clear_page(app, client, make_user):
    user = make_user("student")
    with app.test_request_context():
        token = delivery.unsubscribe_token(db.session.get(User, user.id), [Category.DECISIONS])
    tampered = client.get(f"/notifications/unsubscribe/{token[:-2]}xx")
    assert tampered.status_code == 400 and "not valid" in tampered.get_data(as_text=True)
    assert client.post("/notifications/unsubscribe/nonsense").status_code == 400
    with app.test_request_context():  # an account that was deleted since (its id is not taken)
        gone_token = delivery.unsubscribe_token(SimpleNamespace(id=user.id + 1000), [Category.DECISIONS])
    gone = client.get(f"/notifications/unsubscribe/{gone_token}")
    assert gone.status_code == 404 and "no longer exists" in gone.get_data(as_text=True)


def test_smtp_down_keeps_it_pending_and_sends_it_once_when_back(app_factory, make_user):
    inbox = SMTPInbox()
    port = free_port()  # nothing listens there yet: the server is down
    app = app_factory(MAIL_SERVER="127.0.0.1", MAIL_PORT=port, MAIL_USE_TLS=False)
    user = make_user("student")
    _notify(app, user, Category.LICENSE_STATUS, "license_revoked", **_revoked())
    [pending] = deliveries_of(app, user)
    assert pending.status == DeliveryStatus.PENDING and pending.attempts == 1 and pending.last_error
    assert pending.next_attempt_at > pending.created_at
    assert notifications_of(app, user)[0].mail_state == "pending"
    # Still down a minute later: the next attempt waits longer (backoff).
    later = pending.next_attempt_at + timedelta(seconds=1)
    with app.app_context(), clock(lambda: later):
        assert schedule.run(later).failed == 1
    [again] = deliveries_of(app, user)
    assert again.attempts == 2 and again.next_attempt_at - later == delivery.backoff(2)
    # Back up on the same port: the next run sends it, exactly once.
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        back = again.next_attempt_at + timedelta(seconds=1)
        with app.app_context(), clock(lambda: back):
            assert schedule.run(back).sent == 1
            assert schedule.run(back).sent == 0
        assert len(inbox.wait_for(1)) == 1
        assert deliveries_of(app, user)[0].status == DeliveryStatus.SENT
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_turning_a_category_off_drops_mail_not_sent_yet(app_factory, make_user):
    app = app_factory(JOBS_INLINE=False, REDIS_URL=None)  # nothing sends until we say
    user = make_user("student")
    with app.app_context():
        subject = db.session.get(User, user.id)
        notify(subject, Category.LICENSE_STATUS, "license_revoked", **_revoked())
        set_preferences(subject, {Category.LICENSE_STATUS: "off"}, subject)
        db.session.info.pop("portal_mail_due", None)
        db.session.commit()
        [waiting] = deliveries_of(app, user)
        assert delivery.send(waiting.id) == "dropped"
