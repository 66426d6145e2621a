"""``notifications run``: expiry reminders and daily digests at 09:00 in the person's time
zone, idempotent, catching up a missed day; the clock is shifted, never waited for."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from portal.db import clock
from portal.extensions import db
from portal.models import License, User
from portal.models.notification import Category
from portal.notifications import schedule
from portal.notifications.services import notify
from tests.notifications.helpers import deliveries_of, notifications_of
from tests.support.mail import SMTPInbox
from tests.support.worker import ROOT, flask_command, worker_env


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def run_at(app, moment: datetime) -> schedule.Summary:
    with app.app_context(), clock(lambda: moment):
        return schedule.run(moment)


@pytest.fixture
def expiring(app, make_user, make_specialization, make_license):
    """A license of a New York student that expires on 2027-03-10 at 10:00 there."""
    student = make_user("student")
    license = make_license(student, make_specialization(), actor=make_user("admin"))
    with app.app_context():
        db.session.get(User, student.id).timezone = "America/New_York"
        db.session.get(License, license.id).expires_at = at("2027-03-10T15:00:00")
        db.session.commit()
    return student, license


def reminders(app, student):
    return [(n.kind, n.data["days"]) for n in notifications_of(app, student) if n.category == Category.EXPIRY]


def test_reminders_at_30_7_and_0_days_at_nine_local_time_once_each(app, expiring):
    student, _ = expiring
    # 08:59 in New York on the 30-day mark: not yet.
    assert run_at(app, at("2027-02-08T13:59:00")).reminders == 0
    assert run_at(app, at("2027-02-08T14:00:00")).reminders == 1
    assert run_at(app, at("2027-02-08T14:00:30")).reminders == 0  # twice in a minute: nothing twice
    assert run_at(app, at("2027-02-20T14:00:00")).reminders == 0  # nothing due in between
    assert run_at(app, at("2027-03-03T14:00:00")).reminders == 1
    assert run_at(app, at("2027-03-10T14:30:00")).reminders == 1
    assert run_at(app, at("2027-03-10T14:45:00")).reminders == 0
    assert reminders(app, student) == [("license_expiring", 30), ("license_expiring", 7),
                                       ("license_expires_today", 0)]


def test_a_missed_day_is_caught_up_without_duplicates(app, expiring):
    student, _ = expiring
    # The cron did not run for weeks: the reminder due now (7 days) is made, once; the
    # 30-day one, long past, is not sent late.
    assert run_at(app, at("2027-03-05T20:00:00")).reminders == 1
    assert run_at(app, at("2027-03-06T20:00:00")).reminders == 0
    assert reminders(app, student) == [("license_expiring", 7)]


@pytest.mark.slow
def test_cli_runs_the_same_and_is_idempotent(app, expiring, database, db_url):
    import subprocess  # noqa: PLC0415  (only this test starts a process)
    student, _ = expiring
    env = worker_env(app, db_url)
    env.pop("REDIS_URL")
    for expected in ("1 expiry reminder(s)", "0 expiry reminder(s)"):
        done = subprocess.run(flask_command("notifications", "run", "--now", "2027-02-08T14:00:00"),
                              env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert expected in done.stdout
    assert reminders(app, student) == [("license_expiring", 30)]


def test_daily_digest_at_nine_in_the_readers_zone(app_factory, smtp_server, make_user):
    host, port, inbox = smtp_server
    app = app_factory(MAIL_SERVER=host, MAIL_PORT=port, MAIL_USE_TLS=False)
    instructor = make_user("instructor")  # classes: a daily summary by default
    with app.app_context():
        db.session.get(User, instructor.id).timezone = "Europe/Budapest"
        db.session.commit()

    def joined(moment, name):
        with app.app_context(), clock(lambda: moment):
            notify(db.session.get(User, instructor.id), Category.CLASSES, "student_joined", class_id=1,
                   class_name="Saturday squad", student=name)
            db.session.commit()

    joined(at("2026-12-01T06:00:00"), "Ann")
    joined(at("2026-12-01T06:30:00"), "Bob")
    assert not inbox.messages  # nothing at once
    assert run_at(app, at("2026-12-01T07:59:00")).digests == 0  # 08:59 in Budapest
    assert run_at(app, at("2026-12-01T08:00:00")).digests == 1
    assert run_at(app, at("2026-12-01T08:01:00")).digests == 0
    [(_, message)] = inbox.wait_for(1)
    assert message["Subject"] == "Your Portal summary: 2 new notifications"
    text = SMTPInbox.text(message)
    assert "Ann joined your class Saturday squad." in text and "Bob joined" in text
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # Later that day: waits for tomorrow's summary, which has only the new one.
    joined(at("2026-12-01T12:00:00"), "Cleo")
    assert run_at(app, at("2026-12-01T20:00:00")).digests == 0
    assert run_at(app, at("2026-12-02T08:00:00")).digests == 1
    assert len(inbox.wait_for(2)) == 2
    second = SMTPInbox.text(inbox.messages[1][1])
    assert "Cleo" in second and "Ann" not in second
    assert [d.digest for d in deliveries_of(app, instructor)] == [True, True]
    assert {n.mail_state for n in notifications_of(app, instructor)} == {"sent"}
