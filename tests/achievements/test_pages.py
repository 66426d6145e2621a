"""/achievements for the student, the dashboard's summary, the hide switch, the admin's
definitions at /admin/achievements and a class's summary (counts only, when an admin allows)."""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal.achievements import rules
from portal.audit import actions
from portal.extensions import db
from portal.models import Achievement, Award, User
from tests.support.http import login

NEW = {
    "title": "First class",
    "description": "You joined a class.",
    "icon": "people",
    "xp": "20",
    "trigger": "class",
    "count": "1",
    "specialization_id": "",
}


def text(response) -> str:
    return response.get_data(as_text=True)


def test_student_sees_earned_open_xp_and_level(
    app, client, make_user, make_specialization, make_license, make_achievement
):
    make_achievement("First login", rules.LOGIN, 1, xp=10, icon="key", titles={"es": "Primer inicio"})
    make_achievement("First license", rules.LICENSE, 1, xp=50, icon="shield")
    make_achievement("Five logins", rules.LOGIN, 5, xp=30, icon="calendar")
    student = make_user()
    make_license(student, make_specialization())
    login(client, student)
    page = text(client.get("/achievements"))
    assert "XP level 2" in page and "60 XP" in page
    earned, still_open = page.split('id="open-heading"')
    assert "First login" in earned and "First license" in earned and "Earned on" in earned
    assert "Five logins" in still_open and "1 of 5 logins" in still_open and "Not earned yet" in still_open
    # Every badge's icon is named; the state is written out, not only coloured.
    assert len(re.findall(r'<svg [^>]*role="img" aria-label="[^"]+"', page)) == 3
    assert "There is no ranking" in page
    dashboard = text(client.get("/dashboard"))
    assert "XP level 2" in dashboard and "Newest: First l" in dashboard
    spanish = text(client.get("/achievements", headers={"Accept-Language": "es"}))
    assert "Primer inicio" in spanish


def test_hiding_hides_everything_and_is_audited(
    app, client, make_user, make_specialization, make_license, make_achievement, audit_events, awards_of
):
    make_achievement("First login", rules.LOGIN, 1, xp=10)
    make_achievement("First license", rules.LICENSE, 1, xp=50)
    student = make_user()
    login(client, student)
    response = client.post("/achievements/visibility", data={})
    assert response.status_code in (302, 303)
    [event] = audit_events(actions.USER_ACHIEVEMENTS_SHOWN)
    assert event.actor_id == student.id and event.details["shown"] is False
    page = text(client.get("/achievements"))
    assert "are hidden" in page and "XP level" not in page and "First login" not in page
    assert "XP level" not in text(client.get("/dashboard"))
    make_license(student, make_specialization())  # still earned while hidden
    assert awards_of(student) == {"First login", "First license"}
    client.post("/achievements/visibility", data={"show": "y"})
    assert "XP level 2" in text(client.get("/achievements"))
    assert [e.details["shown"] for e in audit_events(actions.USER_ACHIEVEMENTS_SHOWN)] == [False, True]


def test_admin_defines_edits_archives_and_deletes(app, client, logged_admin, make_user, audit_events):
    page = client.get("/admin/achievements/new")
    assert page.status_code == 200 and 'name="icon"' in text(page) and 'name="title_es"' in text(page)
    response = client.post("/admin/achievements/new", data={**NEW, "title_es": "Primera clase"})
    assert response.status_code in (302, 303), text(response)[:500]
    with app.app_context():
        achievement = db.session.scalar(sa.select(Achievement))
        assert achievement.titles == {"es": "Primera clase"} and achievement.xp == 20
        badge_id = achievement.id
    [created] = audit_events(actions.ACHIEVEMENT_CREATED)
    assert created.details["after"]["trigger"] == "class"
    listing = text(client.get("/admin/achievements"))
    assert "First class" in listing and "Classes joined" in listing
    # Nobody earned it yet: what earns it can still change.
    response = client.post(f"/admin/achievements/{badge_id}", data={**NEW, "count": "2", "xp": "25"})
    assert response.status_code in (302, 303)
    student = make_user()
    with app.app_context():
        db.session.add(Award(user_id=student.id, achievement_id=badge_id))
        db.session.commit()
    refused = client.post(f"/admin/achievements/{badge_id}", data={**NEW, "count": "3"})
    assert refused.status_code == 422 and "cannot change" in text(refused)
    assert (
        client.post(f"/admin/achievements/{badge_id}", data={**NEW, "count": "2", "xp": "30"}).status_code
        == 303
    )
    client.post(f"/admin/achievements/{badge_id}/delete")
    with app.app_context():
        assert db.session.get(Achievement, badge_id) is not None  # earned: archive, not delete
    client.post(f"/admin/achievements/{badge_id}/archive")
    with app.app_context():
        assert db.session.get(Achievement, badge_id).archived_at is not None
    client.post(f"/admin/achievements/{badge_id}/restore")
    with app.app_context():
        assert db.session.get(Achievement, badge_id).archived_at is None
        db.session.execute(sa.delete(Award))
        db.session.commit()
    client.post(f"/admin/achievements/{badge_id}/delete")
    with app.app_context():
        assert db.session.get(Achievement, badge_id) is None
    assert [e.action for e in audit_events() if e.action.startswith("achievement.")] == [
        actions.ACHIEVEMENT_CREATED,
        actions.ACHIEVEMENT_UPDATED,
        actions.ACHIEVEMENT_UPDATED,
        actions.ACHIEVEMENT_ARCHIVED,
        actions.ACHIEVEMENT_RESTORED,
        actions.ACHIEVEMENT_DELETED,
    ]


def test_bad_definitions_are_refused_beside_the_field(app, client, logged_admin, make_specialization):
    spec = make_specialization(max_level=3)
    for data, field in (
        ({**NEW, "trigger": "leaderboard"}, "trigger"),
        ({**NEW, "icon": "https://evil.example/x.svg"}, "icon"),
        ({**NEW, "specialization_id": str(spec.id)}, "specialization_id"),
        ({**NEW, "trigger": "level", "count": "9", "specialization_id": str(spec.id)}, "count"),
        ({**NEW, "xp": "-5"}, "xp"),
    ):
        response = client.post("/admin/achievements/new", data=data)
        assert response.status_code == 422, (data, response.status_code)
        assert f'id="{field}-error"' in text(response) or 'id="icon-error"' in text(response), field
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Achievement.id))) == 0


def test_class_summary_counts_only_when_an_admin_allows(
    app,
    client,
    second_client,
    make_user,
    make_specialization,
    make_class,
    join,
    make_achievement,
    audit_events,
):
    make_achievement("Team player", rules.CLASS, 1)
    spec = make_specialization()
    teacher = make_user("instructor")
    klass = make_class(teacher, spec)
    pupils = [make_user(name=f"Pupil Number{i}") for i in range(3)]
    for pupil in pupils:
        join(pupil, klass)
    with app.app_context():
        db.session.get(User, pupils[2].id).show_achievements = False
        db.session.commit()
    login(client, teacher)
    assert "Achievements in this class" not in text(client.get(f"/dashboard/classes/{klass.id}"))
    _admin, admin_client = second_client("admin")
    admin_page = text(admin_client.get(f"/dashboard/classes/{klass.id}"))
    assert f'action="/admin/classes/{klass.id}/achievement-summary"' in admin_page
    admin_client.post(f"/admin/classes/{klass.id}/achievement-summary", data={"on": "y"})
    [event] = audit_events(actions.CLASS_ACHIEVEMENT_SUMMARY)
    assert event.details["on"] is True
    page = text(client.get(f"/dashboard/classes/{klass.id}"))
    section = page.split('id="achievement-summary-heading"')[1].split("</section>")[0]
    assert "Team player" in section and '<td data-label="Students who earned it">2</td>' in section
    assert "Pupil" not in section
    assert "<form" not in section  # the switch is the admin's


def test_no_one_else_sees_a_students_achievements(app, client, make_user, make_achievement):
    make_achievement("First login", rules.LOGIN, 1)
    for role in ("instructor", "admin"):
        staff = make_user(role)
        login(client, staff)
        assert client.get("/achievements").status_code == 403
        assert "XP level" not in text(client.get("/dashboard"))
        client.post("/auth/logout", data={})
