"""Command-line tools."""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models import AuditEvent, User


def test_users_create(app, runner):
    result = runner.invoke(
        args=["users", "create", "Boss@Example.test", "--role", "admin", "--name", "Boss",
              "--password", "a long enough passphrase"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        user = db.session.scalar(sa.select(User))
        assert (user.email, user.role, user.name) == ("boss@example.test", "admin", "Boss")
        assert user.password_hash.startswith("$argon2id$")
        assert db.session.scalar(sa.select(AuditEvent.action)) == "user.created"


def test_users_create_prompts_for_password(app, runner):
    result = runner.invoke(
        args=["users", "create", "p@example.test", "--role", "student", "--name", "P"],
        input="prompted passphrase\nprompted passphrase\n",
    )
    assert result.exit_code == 0, result.output


def test_users_create_refuses_weak_password_and_duplicates(app, runner):
    weak = runner.invoke(args=["users", "create", "w@example.test", "--role", "student",
                               "--name", "W", "--password", "password1"])
    assert weak.exit_code != 0 and "at least 10" in weak.output
    args = ["users", "create", "d@example.test", "--role", "student", "--name", "D",
            "--password", "a long enough passphrase"]
    assert runner.invoke(args=args).exit_code == 0
    again = runner.invoke(args=args)
    assert again.exit_code != 0 and "already exists" in again.output


def test_seed_demo_prints_logins_and_is_skipped_when_not_empty(app, runner):
    first = runner.invoke(args=["seed", "demo"])
    assert first.exit_code == 0, first.output
    assert "admin@demo.academy" in first.output and "password" in first.output
    second = runner.invoke(args=["seed", "demo", "--if-empty"])
    assert second.exit_code == 0 and "already has data" in second.output
    verify = runner.invoke(args=["audit", "verify"])
    assert verify.exit_code == 0


def test_seed_demo_accounts_are_confirmed_but_one_registration(app, runner):
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    with app.app_context():
        rows = db.session.execute(sa.select(User.email, User.status, User.email_confirmed_at)).all()
    unconfirmed = {email: status for email, status, confirmed in rows if confirmed is None}
    # The registration nobody confirmed, and the instructor an admin invited (set-password link).
    assert unconfirmed == {"lucas@demo.academy": "pending", "priya@demo.academy": "pending"}
    assert all(status != "pending" for email, status, confirmed in rows if confirmed is not None)
