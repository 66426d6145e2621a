"""/notifications, the header's count, the dashboard, the admin's read-only view and the
settings page."""
from __future__ import annotations

import re

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, User
from portal.models.notification import Category
from portal.notifications.services import notify, preferences
from tests.notifications.helpers import notifications_of
from tests.support.http import login


def _make(app, user, count):
    with app.app_context():
        for n in range(count):
            notify(db.session.get(User, user.id), Category.CLASSES, "student_joined", class_id=None,
                   class_name=f"Class {n}", student=f"Pupil {n:02d}")
        db.session.commit()


def _badge(html: str) -> str | None:
    found = re.search(r'id="notification-count".*?</a>', html, re.S)
    assert found, "no notifications link in the header"
    number = re.search(r'class="badge[^"]*"[^>]*>([\d,. ]+)<', found.group(0))
    return number.group(1).strip() if number else None


def test_list_newest_first_with_keyset_pages_and_marking_read(app, client, login_as):
    user = login_as("instructor")
    _make(app, user, 25)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index("Pupil 24 joined") < page.index("Pupil 23 joined")
    assert "Pupil 04 joined" not in page  # 20 a page
    assert _badge(page) == "25"
    older = re.search(r'href="(/notifications\?before=\d+)"', page).group(1)
    second = client.get(older).get_data(as_text=True)
    assert "Pupil 04 joined" in second and "Pupil 00 joined" in second and "Pupil 05 joined" not in second
    newest = notifications_of(app, user)[-1]
    assert client.post(f"/notifications/{newest.id}/read").status_code in (302, 303)
    assert notifications_of(app, user)[-1].read_at is not None
    assert _badge(client.get("/dashboard").get_data(as_text=True)) == "24"
    response = client.post("/notifications/read-all", headers={"HX-Request": "true"})
    assert response.status_code == 200 and "<html" not in response.get_data(as_text=True)
    assert response.headers["HX-Trigger"] == "notifications-changed"
    assert _badge(client.get("/notifications").get_data(as_text=True)) is None
    assert all(n.read_at for n in notifications_of(app, user))


def test_count_fragment_for_htmx(app, client, login_as):
    user = login_as("instructor")
    _make(app, user, 2)
    response = client.get("/notifications/count", headers={"HX-Request": "true"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in body and _badge(body) == "2"
    assert 'hx-trigger="every 60s' in body


def test_someone_elses_notification_cannot_be_marked(app, client, login_as, make_user):
    login_as("student")
    other = make_user("instructor")
    _make(app, other, 1)
    theirs = notifications_of(app, other)[0]
    assert client.post(f"/notifications/{theirs.id}/read").status_code == 404
    assert notifications_of(app, other)[0].read_at is None


def test_pages_need_a_login_but_the_unsubscribe_link_does_not(client):
    assert client.get("/notifications").status_code in (302, 303)
    assert client.get("/account/notifications").status_code in (302, 303)
    assert client.get("/notifications/unsubscribe/x").status_code == 400


def test_dashboard_shows_the_newest_three(app, client, login_as):
    user = login_as("instructor")
    _make(app, user, 5)
    page = client.get("/dashboard").get_data(as_text=True)
    section = page[page.index('id="latest-notifications-heading"'):]
    assert "Pupil 04 joined" in section and "Pupil 02 joined" in section and "Pupil 01 joined" not in section


def test_each_notification_links_to_its_subject(app, client, login_as, make_specialization, make_license,
                                                make_user):
    student = login_as("student")
    license = make_license(student, make_specialization(), actor=make_user("admin"))
    page = client.get("/notifications").get_data(as_text=True)
    assert f'href="/licenses/{license.id}"' in page


def test_admin_sees_a_users_notifications_read_only(app, client, login_as, make_user):
    login_as("admin")
    someone = make_user("instructor")
    _make(app, someone, 2)
    page = client.get(f"/admin/users/{someone.id}").get_data(as_text=True)
    section = page[page.index('id="user-notifications"'):]
    assert "Pupil 01 joined" in section
    assert "/notifications/" not in section.split("</section>")[0]  # no mark-read form


def test_settings_default_change_and_audit(app, client, login_as):
    user = login_as("instructor")
    page = client.get("/account/notifications").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*name="classes"[^>]*value="daily"', page)  # the default
    assert re.search(r'<input checked[^>]*name="decisions"[^>]*value="instant"', page)
    with app.app_context():
        assert preferences(user.id)[Category.CLASSES] == "daily"
        assert preferences(user.id)[Category.DECISIONS] == "instant"
    response = client.post("/account/notifications", data={
        "decisions": "daily", "license_status": "instant", "expiry": "off", "classes": "instant",
        "achievements": "off"})
    assert response.status_code in (302, 303)
    with app.app_context():
        modes = preferences(user.id)
        events = db.session.scalars(sa.select(AuditEvent).where(
            AuditEvent.action == "notification.preference_changed").order_by(AuditEvent.seq)).all()
        changes = sorted((e.details["category"], e.details["before"], e.details["after"]) for e in events)
    assert (modes["decisions"], modes["expiry"], modes["classes"], modes["security"]) == (
        "daily", "off", "instant", "instant")
    assert changes == [("classes", "daily", "instant"), ("decisions", "instant", "daily"),
                       ("expiry", "instant", "off")]
    bad = client.post("/account/notifications", data={"decisions": "hourly", "license_status": "instant",
                                                      "expiry": "off", "classes": "instant",
                                                      "achievements": "off"})
    assert bad.status_code == 422 and "field-error" in bad.get_data(as_text=True)


def test_account_page_links_to_the_settings(client, login_as):
    login_as("student")
    page = client.get("/account").get_data(as_text=True)
    assert 'href="/account/notifications"' in page


def test_header_count_without_javascript_is_in_every_page(app, client, make_user):
    user = make_user("instructor")
    _make(app, user, 3)
    login(client, user)
    assert _badge(client.get("/account").get_data(as_text=True)) == "3"
