"""Inviting students by e-mail: the list or CSV file, the preview, the mails, the link for
an existing student, a new address and a wrong account, resend and withdraw, refusals."""
from __future__ import annotations

import html
import io
import json
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from portal.audit import actions
from portal.classes import invitations
from portal.classes.invitations import InvitationError, read_csv
from portal.db import clock, utcnow
from portal.extensions import db
from portal.models import ClassInvitation, ClassMembership, Job, Klass, User
from tests.support.http import login
from tests.support.mail import link_in, outbox, wait_for_mail

SUBJECT = "You are invited to a class"


@pytest.fixture
def klass(make_class, teacher, spec):
    return make_class(teacher, spec, "Player autumn")


def csv_upload(data: bytes, name: str = "list.csv") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name, content_type="text/csv")


def invitation_rows(app) -> list[ClassInvitation]:
    with app.test_request_context(method="GET"):
        rows = list(db.session.scalars(sa.select(ClassInvitation).order_by(ClassInvitation.id)))
        for row in rows:
            db.session.expunge(row)
        return rows


def member_ids(app, klass) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(sa.select(ClassMembership.user_id)
                                      .where(ClassMembership.class_id == klass.id)))


# -- reading the list ---------------------------------------------------------------------


@pytest.mark.parametrize("data", [
    b"email,name\r\nana@example.org,Ana\r\nben@example.org,\"Ben, Jr.\"\r\n",
    b"\xef\xbb\xbfemail;name\nana@example.org;Ana\nben@example.org;\"Ben, Jr.\"\n",  # BOM, semicolons
    b"Name;E-mail;EMAIL\nAna;x;ana@example.org\n",  # the column found by name, case ignored
])
def test_csv_as_spreadsheets_save_it(app, data):
    with app.test_request_context():
        rows = read_csv(data)
    assert rows[0][0] == "ana@example.org"
    if b"Ben" in data:
        assert rows[1] == ("ben@example.org", "Ben, Jr.")


@pytest.mark.parametrize(("data", "message"), [
    ("email\nana@example.org\n".encode("utf-16"), "not in UTF-8"),
    ("email,name\nana@example.org,Jos\xe9\n".encode("latin-1"), "not in UTF-8"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", "not in UTF-8"),
    (b"name\nAna\n", "column named"),
    (b"", "column named"),
    (b"email\n" + b"a@example.org\n" * 501, "at most 500"),
    (b"email\n" + b"x" * 1_000_001, "larger than 1 MB"),
])
def test_csv_refusals(app, data, message):
    with app.test_request_context(), pytest.raises(InvitationError) as raised:
        read_csv(data)
    assert message in raised.value.message


def test_preview_sorts_the_list(app, client, teacher, klass, make_user, join, audit_events):
    member = make_user("student", email="in@example.org")
    join(member, klass)
    make_user("instructor", email="teacher2@example.org")
    login(client, teacher)
    assert client.get(f"/dashboard/classes/{klass.id}/invite").status_code == 200
    text = "\n".join(["new@example.org", "NEW@example.org", "in@example.org", "not an address",
                      "teacher2@example.org", "", "=HYPERLINK(1)@x", "<b>x</b>"])
    page = client.post(f"/dashboard/classes/{klass.id}/invite", data={"emails": text})
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    section = body.split('id="invite-preview"')[1]
    assert "new@example.org" in section.split('id="preview-invite"')[1].split("</ul>")[0]
    assert "in@example.org" in section.split('id="preview-members"')[1].split("</ul>")[0]
    assert "teacher2@example.org" in section.split('id="preview-staff"')[1].split("</ul>")[0]
    assert "&lt;b&gt;x&lt;/b&gt;" in section.split('id="preview-not_addresses"')[1].split("</ul>")[0]
    assert "new@example.org" in section.split('id="preview-duplicates"')[1].split("</ul>")[0]
    # With a staff address on the list there is nothing to confirm, and nothing was made.
    assert 'name="confirm"' not in body
    assert invitation_rows(app) == [] and audit_events(actions.CLASS_INVITED) == []


def test_a_confirmed_list_mails_everyone(app, client, teacher, klass, audit_events):
    login(client, teacher)
    data = {"file": csv_upload("email;name\nana@example.org;Ana\nben@example.org;=cmd|' /C calc'!A0\n"
                               .encode("utf-8-sig"))}
    preview = client.post(f"/dashboard/classes/{klass.id}/invite", data=data,
                          content_type="multipart/form-data")
    body = preview.get_data(as_text=True)
    assert preview.status_code == 200 and 'name="confirm"' in body and "Send 2 invitations" in body
    assert invitation_rows(app) == []  # a preview makes nothing
    entries = re.search(r'name="entries" value="([^"]*)"', body).group(1)
    response = client.post(f"/dashboard/classes/{klass.id}/invite",
                           data={"confirm": "1", "entries": html.unescape(entries)})
    assert response.status_code == 303
    rows = invitation_rows(app)
    assert [r.email for r in rows] == ["ana@example.org", "ben@example.org"]
    [event] = audit_events(actions.CLASS_INVITED)
    assert event.details["count"] == 2
    [(_, text)] = wait_for_mail(app.config["MAIL_OUTBOX"], "ana@example.org", subject=SUBJECT)
    assert "Carla Rivera" in text and "Player autumn" in text and "14 days" in text
    assert "/dashboard/join/" in link_in(text, "/dashboard/join/")
    wait_for_mail(app.config["MAIL_OUTBOX"], "ben@example.org", subject=SUBJECT)
    roster = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    listed = roster.split('id="invitation-list"')[1]
    assert "ana@example.org" in listed and "badge-sent" in listed
    # The file leaves the name as written; the roster file would neutralise it.
    assert rows[1].name == "=cmd|' /C calc'!A0"


def test_all_or_nothing(app, client, teacher, klass, make_user):
    """A staff address slipped into a confirmation: no invitation, no job, no mail."""
    make_user("admin", email="boss@example.org")
    login(client, teacher)
    emails = [f"s{i}@example.org" for i in range(499)] + ["boss@example.org"]
    response = client.post(f"/dashboard/classes/{klass.id}/invite",
                           data={"confirm": "1", "entries": json.dumps([[e, ""] for e in emails])})
    assert response.status_code == 422
    assert "cannot be invited" in response.get_data(as_text=True)
    assert invitation_rows(app) == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0
    assert outbox(app.config["MAIL_OUTBOX"]) == []


def test_too_many_lines(client, teacher, klass):
    login(client, teacher)
    text = "\n".join(f"s{i}@example.org" for i in range(501))
    response = client.post(f"/dashboard/classes/{klass.id}/invite", data={"emails": text})
    assert response.status_code == 422 and "at most 500" in response.get_data(as_text=True)


def _invite(client, klass, email: str, name: str = ""):
    response = client.post(f"/dashboard/classes/{klass.id}/invite",
                           data={"confirm": "1", "entries": json.dumps([[email, name]])})
    assert response.status_code == 303


def _link(app, email: str, count: int = 1) -> str:
    mails = wait_for_mail(app.config["MAIL_OUTBOX"], email, count=count, subject=SUBJECT)
    path = link_in(mails[-1][1], "/dashboard/join/")
    return path.split("http://portal.test", 1)[1]


# -- the link -----------------------------------------------------------------------------


def test_existing_student_joins(app, client, teacher, klass, make_user, audit_events):
    student = make_user("student", email="ana@example.org")
    login(client, teacher)
    _invite(client, klass, "ana@example.org")
    link = _link(app, "ana@example.org")
    visitor = app.test_client()
    # Not logged in: log in first, then back to the link.
    answer = visitor.get(link)
    assert answer.status_code == 303 and "/auth/login" in answer.headers["Location"]
    login(visitor, student)
    assert visitor.get(link).status_code == 303
    assert student.id in member_ids(app, klass)
    [event] = [e for e in audit_events(actions.CLASS_JOINED) if e.details.get("via") == "invitation"]
    assert event.details["student_id"] == student.id
    # Used: a second click says so, and changes nothing.
    again = visitor.get(link)
    assert again.status_code == 410 and "already used" in again.get_data(as_text=True)
    roster = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert "badge-joined" in roster.split('id="invitation-list"')[1]


def test_new_address_registers_and_joins(app, client, teacher, klass, audit_events):
    login(client, teacher)
    _invite(client, klass, "new@example.org", "Nia Newcomer")
    link = _link(app, "new@example.org")
    visitor = app.test_client()
    page = visitor.get(link)
    assert page.status_code == 200 and 'value="Nia Newcomer"' in page.get_data(as_text=True)
    weak = visitor.post(link, data={"name": "Nia Newcomer", "password": "short", "confirm_password": "short",
                                    "date_of_birth": "2000-01-02"})
    assert weak.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "new@example.org")) is None
    password = "a long enough passphrase 42"
    done = visitor.post(link, data={"name": "Nia Newcomer", "password": password,
                                    "confirm_password": password, "date_of_birth": "2000-01-02"})
    assert done.status_code == 303
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "new@example.org"))
        assert user.email_confirmed and user.role == "student"
    assert user.id in member_ids(app, klass)
    assert visitor.get("/dashboard").status_code == 200  # logged in
    assert "Player autumn" in visitor.get("/dashboard/classes").get_data(as_text=True)


def test_wrong_account_is_told_whose_invitation(app, client, teacher, klass, make_user):
    login(client, teacher)
    _invite(client, klass, "ana@example.org")
    link = _link(app, "ana@example.org")
    other = make_user("student", email="bob@example.org")
    visitor = app.test_client()
    login(visitor, other)
    answer = visitor.get(link)
    body = answer.get_data(as_text=True)
    assert answer.status_code == 403 and "ana@example.org" in body and "bob@example.org" in body
    assert other.id not in member_ids(app, klass)
    # The teacher opening it is refused the same way.
    assert client.get(link).status_code == 403


def test_unknown_expired_withdrawn_and_resent_links(app, client, teacher, klass, make_user, audit_events):
    make_user("student", email="ana@example.org")
    visitor = app.test_client()
    assert visitor.get("/dashboard/join/not-a-token").status_code == 404
    login(client, teacher)
    _invite(client, klass, "ana@example.org")
    first = _link(app, "ana@example.org")
    [row] = invitation_rows(app)
    # Fifteen days on, the link has expired.
    later = utcnow() + timedelta(days=15)
    with clock(lambda: later):
        expired = visitor.get(first)
        assert expired.status_code == 410 and "expired" in expired.get_data(as_text=True)
    # The teacher's list says so once the fourteen days are over (moved back, not waited for).
    with app.app_context():
        db.session.execute(sa.update(ClassInvitation).values(expires_at=utcnow() - timedelta(minutes=1)))
        db.session.commit()
    roster = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert "badge-expired" in roster.split('id="invitation-list"')[1]
    # Sent again: a new link; the first one no longer works.
    assert client.post(f"/dashboard/classes/{klass.id}/invitations/{row.id}/resend").status_code == 303
    second = _link(app, "ana@example.org", count=2)
    assert second != first
    assert visitor.get(first).status_code == 404
    assert audit_events(actions.CLASS_INVITATION_RESENT)
    # Withdrawn: the link says so.
    assert client.post(f"/dashboard/classes/{klass.id}/invitations/{row.id}/withdraw").status_code == 303
    withdrawn = visitor.get(second)
    assert withdrawn.status_code == 410 and "withdrawn" in withdrawn.get_data(as_text=True)
    roster = client.get(f"/dashboard/classes/{klass.id}").get_data(as_text=True)
    assert "badge-withdrawn" in roster.split('id="invitation-list"')[1]
    # Withdrawing again is a conflict, flashed.
    again = client.post(f"/dashboard/classes/{klass.id}/invitations/{row.id}/withdraw", follow_redirects=True)
    assert "withdrawn by the instructor" in again.get_data(as_text=True)
    [event] = audit_events(actions.CLASS_INVITATION_WITHDRAWN)
    assert event.details["email"] == "ana@example.org"


def test_another_classes_invitation_is_not_yours(app, client, teacher, klass, make_user, assign, spec,
                                                 make_class):
    login(client, teacher)
    _invite(client, klass, "ana@example.org")
    [row] = invitation_rows(app)
    other = make_user("instructor")
    own = make_class(other, spec)
    stranger = app.test_client()
    login(stranger, other)
    assert stranger.post(f"/dashboard/classes/{own.id}/invitations/{row.id}/withdraw").status_code == 404
    assert stranger.post(f"/dashboard/classes/{klass.id}/invitations/{row.id}/withdraw").status_code == 404
    assert invitation_rows(app)[0].withdrawn_at is None


def test_daily_limit_per_instructor(app_factory, teacher, klass):
    limited = app_factory(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://",
                          RATELIMIT_INVITE_PER_USER="2 per day")
    client = limited.test_client()
    login(client, teacher)
    # A preview is not counted; confirmed batches are.
    preview = client.post(f"/dashboard/classes/{klass.id}/invite", data={"emails": "a@example.org"})
    assert preview.status_code == 200
    for i in range(2):
        _invite(client, klass, f"s{i}@example.org")
    response = client.post(f"/dashboard/classes/{klass.id}/invite",
                           data={"confirm": "1", "entries": json.dumps([["s9@example.org", ""]])})
    assert response.status_code == 429
    assert len(invitation_rows(limited)) == 2


def test_invitation_service_refuses_an_archived_class(app, teacher, klass):
    with app.test_request_context():
        k = db.session.get(Klass, klass.id)
        k.archived_at = utcnow()
        with pytest.raises(InvitationError):
            invitations.invite(k, [invitations.Entry("a@example.org")],
                               actor=db.session.get(User, teacher.id))
        db.session.rollback()
