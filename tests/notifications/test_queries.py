"""The unread count is one indexed query on every page, and the list reads by index:
the statements are counted, and each database's own plan for them is checked."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from portal.extensions import db
from portal.models import User
from portal.models.notification import Category, MailMode, Notification, NotificationPreference
from portal.notifications import services
from portal.notifications.services import notify, set_preferences


@contextmanager
def notification_queries(app):
    """Every statement on the notifications table, with its parameters."""
    with app.app_context():
        engine = db.engine
    seen: list[tuple[str, object]] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if "FROM notifications" in statement:
            seen.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def _make(app, user, count):
    with app.app_context():
        for n in range(count):
            notify(db.session.get(User, user.id), Category.CLASSES, "student_joined", class_id=None,
                   class_name=f"Class {n}", student=f"Pupil {n:02d}")
        db.session.commit()


def _counts(seen):
    return [s for s, _ in seen if "count(" in s.lower()]


def test_the_header_count_is_one_query_on_every_page(app, client, login_as):
    user = login_as("instructor")
    _make(app, user, 30)
    for url in ("/dashboard", "/notifications", "/notifications/count", "/account/notifications"):
        client.get(url)  # warm up
        with notification_queries(app) as seen:
            assert client.get(url).status_code == 200
        assert len(_counts(seen)) == 1, (url, _counts(seen))
    # The list page: the count and one page of rows, however many there are.
    _make(app, user, 30)
    with notification_queries(app) as seen:
        client.get("/notifications")
    assert len(seen) == 2, seen


def _plan(statement: str, parameters) -> str:
    conn = db.session.connection()
    if conn.dialect.name == "sqlite":
        rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
        return "\n".join(str(r[-1]) for r in rows)
    # The test tables are tiny: a sequential scan would be cheapest; forbid it (for this
    # transaction) to see which index PostgreSQL can use.
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
    rows = conn.exec_driver_sql("EXPLAIN " + statement, parameters).all()
    return "\n".join(r[0] for r in rows)


def test_the_count_and_the_pages_read_by_index(app, make_user):
    user = make_user("instructor")
    _make(app, user, 25)
    with app.app_context():
        with notification_queries(app) as seen:
            services.unread_count(user.id)
            first = services.page(user.id)
            services.page(user.id, before=first.next["before"])
        count, first_page, later_page = seen
        plan = _plan(*count)
        assert "ix_notifications_unread_user_id" in plan, plan
        if db.engine.dialect.name == "sqlite":
            assert "COVERING INDEX" in plan, plan  # the count never reads the rows
        for statement in (first_page, later_page):
            plan = _plan(*statement)
            assert "ix_notifications_user_id_id" in plan, plan
            # Newest first straight from the index: no sort of the person's rows.
            assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 25


def test_preferences_are_read_once_per_transaction_and_a_change_is_seen(app, make_user):
    user = make_user("instructor")
    with app.app_context():
        engine = db.engine
        seen = []

        def before(conn, cursor, statement, parameters, context, executemany):
            if "FROM notification_preferences" in statement:
                seen.append(statement)

        sa.event.listen(engine, "before_cursor_execute", before)
        try:
            person = db.session.get(User, user.id)
            for n in range(3):
                notify(person, Category.CLASSES, "student_joined", class_id=None, class_name="A",
                       student=f"Pupil {n}")
            assert len(seen) == 1
            set_preferences(person, {Category.CLASSES: MailMode.OFF}, person)
            notify(person, Category.CLASSES, "student_joined", class_id=None, class_name="A", student="Late")
            db.session.commit()
        finally:
            sa.event.remove(engine, "before_cursor_execute", before)
        modes = db.session.scalars(sa.select(Notification.mail).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)).all()
        assert modes == [MailMode.DAILY] * 3 + [MailMode.OFF]
        assert db.session.get(NotificationPreference, (user.id, Category.CLASSES)).mode == MailMode.OFF
