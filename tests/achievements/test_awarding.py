"""Each trigger awards in the transaction of the event that earns it, once; the rebuild
agrees with what was awarded live; undoing and repeating earns nothing twice."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from portal.achievements import rules, services
from portal.achievements.awarding import XP_LEVELS, xp_level
from portal.auth import services as auth
from portal.classes import services as classes
from portal.db import clock
from portal.extensions import db
from portal.licenses import services as licenses
from portal.models import Achievement, Award, Level, License, Requirement, User
from tests.support.http import login
from tests.support.mail import link_in, wait_for_mail
from tests.support.queries import statements


def consistent(app) -> None:
    """The rebuild from history finds exactly the stored awards."""
    with app.app_context():
        assert services.rebuild() == []
        db.session.rollback()


def award_count(app, user) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Award.id)).where(Award.user_id == user.id))


def test_first_login_once(app, client, make_user, make_achievement, awards_of):
    make_achievement("First login", rules.LOGIN, 1, xp=10, icon="key")
    make_achievement("Ten logins", rules.LOGIN, 10)
    student = make_user()
    assert awards_of(student) == set()
    login(client, student)
    assert awards_of(student) == {"First login"}
    client.post("/auth/logout", data={})
    login(client, student)
    assert award_count(app, student) == 1
    consistent(app)


def test_first_license_level_and_renewal(
    app, make_user, make_specialization, make_license, make_achievement, awards_of
):
    player, coach = make_specialization(max_level=4), make_specialization(max_level=4)
    make_achievement("First license", rules.LICENSE, 1, xp=50)
    make_achievement("Two licenses", rules.LICENSE, 2)
    make_achievement("Level 2 anywhere", rules.LEVEL, 2)
    make_achievement("Coach level 2", rules.LEVEL, 2, specialization=coach)
    make_achievement("Renewed", rules.RENEWAL, 1)
    student = make_user()
    make_license(student, player, 1)
    assert awards_of(student) == {"First license"}
    make_license(student, make_specialization(), 2)
    assert awards_of(student) == {"First license", "Two licenses", "Level 2 anywhere"}
    lic = make_license(student, coach, 2)
    assert "Coach level 2" in awards_of(student)
    with app.app_context():
        licenses.renew(db.session.get(License, lic.id), None)
        db.session.commit()
    assert "Renewed" in awards_of(student)
    consistent(app)


def test_suspending_does_not_take_a_level_back(
    app, make_user, make_specialization, make_license, make_achievement, awards_of
):
    make_achievement("Level 2 anywhere", rules.LEVEL, 2)
    student = make_user()
    admin = make_user("admin")
    make_license(student, make_specialization(), 2, actor=admin, status="suspended")
    assert awards_of(student) == {"Level 2 anywhere"}
    consistent(app)


def _level_requirements(app, spec, number):
    with app.app_context():
        level = db.session.scalar(
            sa.select(Level).where(Level.specialization_id == spec.id, Level.number == number)
        )
        return [r.id for r in level.requirements]


def _tick(app, student, teacher, req_ids, checked):
    with app.app_context():
        reqs = [db.session.get(Requirement, r) for r in req_ids]
        classes.set_requirements(
            db.session.get(User, student.id), reqs, set(checked), actor=db.session.get(User, teacher.id)
        )
        db.session.commit()


def test_ticking_and_unticking_100_times_earns_once(
    app, make_user, make_specialization, make_class, join, make_achievement, awards_of
):
    spec = make_specialization(requirements_per_level=2)
    make_achievement("Every box ticked", rules.REQUIREMENTS, 1, xp=40)
    make_achievement("Two levels complete", rules.REQUIREMENTS, 2, xp=40)
    teacher, student = make_user("instructor"), make_user()
    join(student, make_class(teacher, spec))
    req_ids = _level_requirements(app, spec, 1)
    _tick(app, student, teacher, req_ids, req_ids[:1])
    assert awards_of(student) == set()  # one of two: the level is not complete
    for _ in range(100):
        _tick(app, student, teacher, req_ids, req_ids)
        _tick(app, student, teacher, req_ids, [])
    assert awards_of(student) == {"Every box ticked"}
    assert award_count(app, student) == 1
    with app.app_context():
        overview = services.overview(db.session.get(User, student.id))
        assert overview.xp == 40
        assert [p.value for p in overview.open] == [1]  # one level complete of the two
    consistent(app)


def test_first_class_joined(
    app, make_user, make_specialization, make_class, join, make_achievement, awards_of
):
    make_achievement("Team player", rules.CLASS, 1)
    make_achievement("Two classes", rules.CLASS, 2)
    teacher, student = make_user("instructor"), make_user()
    spec = make_specialization()
    klass = make_class(teacher, spec)
    join(student, klass)
    with app.app_context():
        classes.leave_class(
            db.session.get(User, student.id),
            db.session.get(type(klass), klass.id),
            actor=db.session.get(User, student.id),
        )
        db.session.commit()
    join(student, klass)  # the same class again is not a second class
    assert awards_of(student) == {"Team player"}
    join(student, make_class(teacher, spec))
    assert awards_of(student) == {"Team player", "Two classes"}
    consistent(app)


def test_certificate_checked_by_others(
    app, client, make_user, make_specialization, make_license, make_achievement, awards_of
):
    make_achievement("Trusted", rules.VERIFIED, 2)
    student = make_user()
    lic = make_license(student, make_specialization())
    login(client, student)  # the holder, signed in, and from the holder's address: not counted
    assert client.get(f"/verify/{lic.code}").status_code == 200
    client.post("/auth/logout", data={})
    assert client.get(f"/verify/{lic.code}").status_code == 200
    for ip in ("10.0.0.1", "10.0.0.1", "10.0.0.2"):
        assert awards_of(student) == set()
        assert client.get(f"/verify/{lic.code}", environ_base={"REMOTE_ADDR": ip}).status_code == 200
    assert awards_of(student) == {"Trusted"}
    # A checker found already counted (10.0.0.1, on its second check) costs no further
    # query: only the license's lookup runs.
    with statements(app) as seen:
        assert client.get(f"/verify/{lic.code}", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
    assert not [s for s in seen if "certificate_verifications" in s], seen
    assert client.get(f"/verify/{lic.code}.json", environ_base={"REMOTE_ADDR": "10.0.0.3"}).status_code == 200
    with app.app_context():
        assert rules.measure(rules.VERIFIED, [student.id]) == {student.id: 3}
    consistent(app)


def _login_on(app, user, *moments):
    for moment in moments:
        with app.test_request_context("/auth/login", method="POST"), clock(lambda m=moment: m):
            auth.login(user.email, user.password, remember=False, ip="10.0.0.9", user_agent="test")
            db.session.commit()


def test_days_with_a_login_in_one_month(app, make_user, make_achievement, awards_of):
    make_achievement("Regular", rules.ACTIVE_DAYS, 3)
    student = make_user()
    # Two days at the end of March and two at the start of April: no month has three.
    _login_on(
        app,
        student,
        *(datetime(2026, 3, d, 10, tzinfo=UTC) for d in (30, 31)),
        *(datetime(2026, 4, d, 10, tzinfo=UTC) for d in (1, 1, 2)),
    )
    assert awards_of(student) == set()
    _login_on(app, student, datetime(2026, 4, 20, 18, tzinfo=UTC))
    assert awards_of(student) == {"Regular"}
    consistent(app)


def test_a_new_achievement_counts_what_happened_before(app, client, make_user, make_achievement, awards_of):
    student = make_user()
    login(client, student)
    make_achievement("First login", rules.LOGIN, 1)
    assert awards_of(student) == {"First login"}
    consistent(app)


def test_archived_awards_no_more_and_keeps_what_was_earned(
    app, make_user, make_specialization, make_license, make_achievement, awards_of
):
    pioneer = make_achievement("Pioneer", rules.LICENSE, 1)
    spec = make_specialization()
    first, later = make_user(), make_user()
    make_license(first, spec)
    with app.app_context():
        services.archive_achievement(db.session.get(Achievement, pioneer.id), None)
        db.session.commit()
    make_license(later, spec)
    assert awards_of(first) == {"Pioneer"} and awards_of(later) == set()
    consistent(app)


def test_rebuild_reports_and_fixes_a_missing_award(app, runner, client, make_user, make_achievement):
    make_achievement("First login", rules.LOGIN, 1)
    student = make_user()
    login(client, student)
    with app.app_context():
        db.session.execute(sa.delete(Award))
        db.session.commit()
    result = runner.invoke(args=["achievements", "rebuild"])
    assert (
        result.exit_code == 1 and "1 missing" in result.output and f"user ids {student.id}" in result.output
    )
    assert award_count(app, student) == 0  # a report changes nothing
    result = runner.invoke(args=["achievements", "rebuild", "--fix"])
    assert result.exit_code == 0 and "1 given now" in result.output
    result = runner.invoke(args=["achievements", "rebuild"])
    assert result.exit_code == 0 and "Every award matches the history." in result.output


def test_unexplained_award_is_reported_and_kept(app, runner, make_user, make_achievement):
    badge = make_achievement("First login", rules.LOGIN, 1)
    student = make_user()
    with app.app_context():
        db.session.add(Award(user_id=student.id, achievement_id=badge.id))
        db.session.commit()
    result = runner.invoke(args=["achievements", "rebuild", "--fix"])
    assert result.exit_code == 1 and "not explained by history, kept" in result.output
    assert award_count(app, student) == 1


def test_xp_level_table():
    assert xp_level(0) == (1, 50)
    assert xp_level(49) == (1, 50)
    assert xp_level(50) == (2, 150)
    assert xp_level(XP_LEVELS[-1] + 5000) == (len(XP_LEVELS), None)


@pytest.mark.parametrize("trigger", list(rules.TRIGGERS))
def test_every_trigger_measures_on_an_empty_history(app, trigger):
    with app.app_context():
        assert rules.measure(trigger) == {}


def test_the_confirmation_link_is_a_first_login(app, client, make_achievement, awards_of):
    make_achievement("First login", rules.LOGIN, 1)
    client.post("/auth/register", data={
        "name": "Ada Lovelace", "email": "ada@example.org", "password": "a very plain passphrase",
        "confirm_password": "a very plain passphrase", "date_of_birth": "2000-12-10"})
    [(_subject, body)] = wait_for_mail(app.config["MAIL_OUTBOX"], "ada@example.org")
    assert client.get(urlsplit(link_in(body, "/auth/verify-email/")).path).status_code == 303
    with app.app_context():
        ada = db.session.scalar(sa.select(User).where(User.email == "ada@example.org"))
    assert awards_of(ada) == {"First login"}
    consistent(app)
