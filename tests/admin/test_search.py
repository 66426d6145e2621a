"""Searching people by part of a name or address: answered from the trigram index
(pg_trgm on PostgreSQL, FTS5 on SQLite), in step with every change in the same
transaction, and with the same results as a plain substring match."""

from __future__ import annotations

import random

import sqlalchemy as sa

from portal.admin import queries
from portal.audit import queries as audit_queries
from portal.extensions import db
from portal.models.user import Role, User
from portal.privacy import erasure
from portal.search import TRIGRAM_INDEXES, narrowing


def _found(text: str) -> list[str]:
    """Names on the user list's pages for ``text`` (every status but archived)."""
    return [u.name for u in queries.users_page(q=text, limit=1000).rows]


def _actor_ids(text: str) -> set[int]:
    condition = audit_queries.actor_condition(text)
    if condition.left.key != "actor_id":
        return set()  # the label of a gone account
    right = condition.right  # a list (IN), or on PostgreSQL one array parameter (= ANY)
    value = getattr(right, "element", right).value
    return set(value) if isinstance(value, list | tuple) else {value}


def test_a_change_is_searchable_in_the_same_transaction(app, make_user):
    admin = make_user(Role.ADMIN, name="Ada Admin", email="ada@example.test")
    with app.app_context():
        user = User(email="grace.hopper@navy.test", name="Grace Hopper", role=Role.STUDENT)
        db.session.add(user)
        db.session.flush()
        assert _found("race hop") == ["Grace Hopper"]
        assert _found("hopper@navy") == ["Grace Hopper"]
        assert _actor_ids("GRACE.hop") == {user.id}

        user.name, user.email = "Grace Brewster", "grace.brewster@navy.test"
        db.session.flush()
        assert _found("hopper") == []
        assert _found("brewster") == ["Grace Brewster"]
        assert _actor_ids("brewster@navy") == {user.id}

        erasure.erase(user, db.session.get(User, admin.id), reason="asked")
        db.session.flush()
        for gone in ("brewster", "grace", "navy.test"):
            assert queries.users_page(q=gone, status="archived").rows == [], gone
            assert user.id not in _actor_ids(gone), gone
        assert [u.id for u in queries.users_page(q=user.name, status="archived").rows] == [user.id]
        db.session.commit()
        assert queries.users_page(q="brewster", status="archived").rows == []

        db.session.delete(db.session.get(User, user.id))
        db.session.flush()
        assert queries.users_page(q=user.name, status="archived").rows == []
        db.session.rollback()


def test_results_equal_a_plain_substring_match(app):
    rng = random.Random(25)
    letters = "abcdeo _.-%"
    with app.app_context():
        people = []
        for i in range(120):
            name = "".join(rng.choice(letters) for _ in range(rng.randint(3, 12))).strip() or "x"
            name = "".join(c.upper() if rng.random() < 0.3 else c for c in name)
            email = "".join(rng.choice("abcdeo.") for _ in range(rng.randint(2, 8))) + f"{i}@ex{i % 3}.test"
            people.append((name, email))
        db.session.execute(sa.insert(User), [
            {"name": n, "email": e, "role": Role.STUDENT, "status": "active"} for n, e in people
        ])
        db.session.flush()
        ids = dict(db.session.execute(sa.select(User.email, User.id)).all())
        queries_tried = ["a", "Ab", "%", "_", "o.", "de", "ex1", "@ex2", "1@", "abc", "ODE",
                         "b_c", "a%b", "e.t", '"a', "a.b"]
        queries_tried += ["".join(rng.choice(letters + "ABC@") for _ in range(rng.randint(1, 5)))
                          for _ in range(60)]
        for text in queries_tried:
            text = text.strip()
            if not text:
                continue
            needle = text.lower()
            if "@" in text:
                expected = sorted(n for n, e in people if needle in e)
            else:
                expected = sorted(n for n, e in people if needle in n.lower() or needle in e)
            assert sorted(_found(text)) == expected, text
            # The audit viewer's actor filter: the same people, whatever the text holds.
            assert _actor_ids(text) == {ids[e] for n, e in people if needle in n.lower() or needle in e}, text
        db.session.rollback()


def test_the_index_answers(app, make_user):
    make_user(name="Indexed Person", email="indexed@example.test")
    with app.app_context():
        stmt = sa.select(User.id).where(*queries._user_contains("dexed per"))
        if db.engine.dialect.name == "postgresql":
            compiled = stmt.compile(dialect=db.engine.dialect)
            connection = db.session.connection()
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = "\n".join(r[0] for r in connection.exec_driver_sql(f"EXPLAIN {compiled}", compiled.params))
            assert all(index in plan for index in TRIGRAM_INDEXES), plan
            assert narrowing("dexed per") is None  # the LIKE conditions use the indexes themselves
        else:
            compiled = stmt.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True})
            rows = db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}"))
            plan = " | ".join(row[-1] for row in rows)
            assert "VIRTUAL TABLE INDEX" in plan and "users_search" in plan, plan
            assert narrowing("de") is None  # too short for trigrams: the plain condition alone
        db.session.rollback()
