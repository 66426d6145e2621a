"""Archived accounts: people who left cannot log in, stay for the records, are listed apart."""
from __future__ import annotations

from portal.audit import actions
from portal.audit.describe import describe
from portal.extensions import db
from portal.models.user import Role, User, UserStatus
from tests.support.http import is_logged_in, login


def test_archive_and_restore(app, client, logged_admin, make_user, second_client, audit_events):
    user, their_client = second_client(name="Leaving Person")
    answer = client.post(f"/admin/users/{user.id}/archive", data={"reason": "Left the academy"})
    assert answer.status_code == 303
    with app.app_context():
        assert db.session.get(User, user.id).status == UserStatus.ARCHIVED
    assert not is_logged_in(their_client)
    refused = app.test_client().post("/auth/login", data={"email": user.email, "password": user.password})
    assert refused.status_code == 422 and not is_logged_in(their_client)
    [event] = audit_events(actions.USER_ARCHIVED)
    assert event.details["reason"] == "Left the academy" and event.details["sessions_ended"] == 1
    # Listed apart: not among everyone, but with a way to see them.
    client.get(f"/admin/users/{user.id}")  # (shows the flash message, which names them)
    listing = client.get("/admin/users").get_data(as_text=True)
    assert "Leaving Person" not in listing and "1 archived account is not listed." in listing
    assert "Leaving Person" in client.get("/admin/users?status=archived").get_data(as_text=True)
    page = client.get(f"/admin/users/{user.id}").get_data(as_text=True)
    assert f'action="/admin/users/{user.id}/restore"' in page
    assert client.post(f"/admin/users/{user.id}/restore", data={"reason": "Came back"}).status_code == 303
    with app.app_context():
        assert db.session.get(User, user.id).status == UserStatus.ACTIVE
    [restored] = audit_events(actions.USER_RESTORED)
    with app.app_context():
        assert describe(restored, None) == (
            f"{logged_admin.email} restored the account of Leaving Person from the archive")
    login(app.test_client(), user)


def test_archiving_needs_a_reason_and_not_oneself(app, client, logged_admin, make_user):
    user = make_user()
    # Refused without JS: back on the user page, with the reason beside the form (422).
    refused = client.post(f"/admin/users/{user.id}/archive", data={"reason": ""}, follow_redirects=True)
    assert refused.status_code == 422 and refused.request.path == f"/admin/users/{user.id}"
    own = client.post(f"/admin/users/{logged_admin.id}/archive", data={"reason": "bye"},
                      follow_redirects=True)
    assert own.status_code == 422 and "your own account" in own.get_data(as_text=True)
    not_archived = client.post(f"/admin/users/{user.id}/restore", data={"reason": "x"}, follow_redirects=True)
    assert not_archived.status_code == 422


def test_only_admins_archive(client, login_as, make_user):
    target = make_user()
    login_as(Role.INSTRUCTOR)
    assert client.post(f"/admin/users/{target.id}/archive", data={"reason": "x"}).status_code == 403
