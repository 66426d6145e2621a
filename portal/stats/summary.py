"""The admin overview's numbers, kept in ``dashboard_counts`` by the transaction that
changes them, so that the overview reads a few dozen small rows instead of counting
100,000 accounts and 150,000 licenses on every visit.

What is kept (``kind``, ``key_a``, ``key_b``):

- ``users``, role, status: accounts by role and status;
- ``licenses``, specialization id, level: active licenses;
- ``pending``: upgrade requests waiting for a decision;
- ``registered``, Monday (ISO date, UTC): students by the week their account was made;
- ``issued``, Monday: licenses by the week they were issued.

The one rule for each figure is ``_contribution`` (what one row adds) and its twin in
``recount_rows`` (the same as SQL over the whole table). Every change through the ORM is
counted by one pair of flush hooks (``_count_before``, ``_count_after``): a row added adds
its contribution, a row removed takes it away, a changed row swaps the old contribution
for the new one, in the same transaction as the change. The few changes made with a Core UPDATE or DELETE (a
decided request, a confirmed address, a removed unconfirmed account) call ``adjust``
themselves. Bulk inserts (the scale seed) finish with ``recount(fix=True)``.
``flask --app wsgi stats recount`` compares the kept figures with a full recount.
"""
from __future__ import annotations

from collections import Counter
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.audit import actions, chain
from portal.audit.services import record
from portal.db import utcnow
from portal.models.license import License, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.summary import DashboardCount
from portal.models.user import Role, User

USERS, LICENSES, PENDING, REGISTERED, ISSUED = "users", "licenses", "pending", "registered", "issued"

Key = tuple[str, str, str]
_PENDING_KEY = "dashboard_count_deltas"
_table = DashboardCount.__table__
# The attributes each kept figure depends on: a change to any other leaves the counts alone.
_WATCHED = {
    User: ("role", "status", "created_at"),
    License: ("specialization_id", "level", "status", "issued_at"),
    UpgradeRequest: ("status",),
}


def monday(moment: datetime | date) -> str:
    """The Monday (UTC) of the week ``moment`` falls in, as an ISO date."""
    if isinstance(moment, datetime):
        if moment.tzinfo is not None:
            moment = moment.astimezone(utcnow().tzinfo)
        moment = moment.date()
    return (moment - timedelta(days=moment.weekday())).isoformat()


def _contribution(kind: type, values: dict) -> Counter:
    """What one row with these values adds to the kept figures."""
    found: Counter = Counter()
    if kind is User:
        found[(USERS, values["role"], values["status"])] += 1
        if values["role"] == Role.STUDENT and values["created_at"] is not None:
            found[(REGISTERED, monday(values["created_at"]), "")] += 1
    elif kind is License:
        if values["status"] == LicenseStatus.ACTIVE:
            found[(LICENSES, str(values["specialization_id"]), str(values["level"]))] += 1
        if values["issued_at"] is not None:
            found[(ISSUED, monday(values["issued_at"]), "")] += 1
    elif kind is UpgradeRequest and values["status"] == RequestStatus.PENDING:
        found[(PENDING, "", "")] += 1
    return found


def user_contribution(role: str, status: str, created_at: datetime | None) -> Counter:
    return _contribution(User, {"role": role, "status": status, "created_at": created_at})


def pending_contribution() -> Counter:
    return _contribution(UpgradeRequest, {"status": RequestStatus.PENDING})


def minus(counts: Counter) -> Counter:
    """The change that takes ``counts`` away (Counter's own ``-`` drops negative cells)."""
    found: Counter = Counter()
    found.subtract(counts)
    return found


def moved(before: Counter, after: Counter) -> Counter:
    """The change from a row counted as ``before`` to the same row counted as ``after``."""
    found = Counter(after)
    found.subtract(before)
    return found


# -- keeping them --------------------------------------------------------------------------


def adjust(connection, deltas: Counter) -> None:
    """Add ``deltas`` to the kept figures (a missing row starts at 0): one statement per
    changed cell, an insert that adds to the row when it exists, safe against a
    concurrent first insert of the same cell. On PostgreSQL each changed cell's row stays
    locked until the transaction ends, so two changes of the same figure take turns; the
    cells of one call are taken in a fixed order."""
    changed = [(key, n) for key, n in deltas.items() if n]
    if not changed:
        return
    # The audit chain's lock before any cell: every change that moves a figure is also
    # audited, so with this one order two transactions never each hold what the other
    # waits for (a cell locked, then the chain; the chain held, then that cell).
    chain.lock_chain(connection)
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    for (kind, key_a, key_b), n in sorted(changed):
        insert = dialect.insert(_table).values(kind=kind, key_a=key_a, key_b=key_b, n=n)
        connection.execute(insert.on_conflict_do_update(
            index_elements=[_table.c.kind, _table.c.key_a, _table.c.key_b],
            set_={"n": _table.c.n + insert.excluded.n},
        ))


def _values(obj, names, *, old: bool) -> dict:
    """The row's values now, or as the database holds them (``old``). The watched columns
    are mapped with ``active_history``: setting one loads the old value first, so it is
    known even when the object had been expired by a commit."""
    state = sa.inspect(obj)
    found = {}
    for name in names:
        history = state.attrs[name].history
        found[name] = history.deleted[0] if old and history.deleted else getattr(obj, name)
    return found


def _changed(session: Session):
    """(kind, object) of each watched row the flush updates or deletes."""
    for obj in session.deleted:
        if type(obj) in _WATCHED:
            yield type(obj), obj
    for obj in session.dirty:
        kind = type(obj)
        if kind in _WATCHED and obj not in session.deleted:
            state = sa.inspect(obj)
            if any(state.attrs[name].history.has_changes() for name in _WATCHED[kind]):
                yield kind, obj


@event.listens_for(Session, "before_flush")
def _count_before(session, flush_context, instances) -> None:
    # Rows updated or deleted: their old and new values are known now (a deleted row can
    # still be read); rows added get their defaults (creation time, status) in the flush.
    deltas: Counter = Counter()
    for kind, obj in _changed(session):
        deltas.subtract(_contribution(kind, _values(obj, _WATCHED[kind], old=True)))
        if obj not in session.deleted:
            deltas.update(_contribution(kind, _values(obj, _WATCHED[kind], old=False)))
    session.info[_PENDING_KEY] = deltas


@event.listens_for(Session, "after_flush")
def _count_after(session, flush_context) -> None:
    deltas: Counter = session.info.pop(_PENDING_KEY, None) or Counter()
    for obj in session.new:
        kind = type(obj)
        if kind in _WATCHED:
            deltas.update(_contribution(kind, _values(obj, _WATCHED[kind], old=False)))
    if any(deltas.values()):
        adjust(session.connection(), deltas)


# -- reading and checking them -------------------------------------------------------------


def kept(session, *, since: str | None = None) -> dict[Key, int]:
    """The kept figures; the weekly ones only from the week ``since`` (an ISO Monday) on."""
    query = sa.select(_table.c.kind, _table.c.key_a, _table.c.key_b, _table.c.n)
    if since is not None:
        query = query.where(sa.or_(_table.c.kind.not_in([REGISTERED, ISSUED]), _table.c.key_a >= since))
    return {(kind, a, b): n for kind, a, b, n in session.execute(query)}


def _day(connection, column):
    """The UTC calendar day of a timestamp column, as the database computes it."""
    if connection.dialect.name == "postgresql":
        return sa.cast(sa.func.timezone("UTC", column), sa.Date)
    return sa.func.date(column)


def recount_rows(connection) -> list[dict]:
    """Every figure counted afresh from the tables (the same rules as ``_contribution``),
    as rows of ``dashboard_counts``."""
    found: Counter = Counter()
    users, licenses, requests = User.__table__.c, License.__table__.c, UpgradeRequest.__table__.c
    for role, status, n in connection.execute(
        sa.select(users.role, users.status, sa.func.count()).group_by(users.role, users.status)
    ):
        found[(USERS, role, status)] += n
    for spec_id, level, n in connection.execute(
        sa.select(licenses.specialization_id, licenses.level, sa.func.count())
        .where(licenses.status == LicenseStatus.ACTIVE)
        .group_by(licenses.specialization_id, licenses.level)
    ):
        found[(LICENSES, str(spec_id), str(level))] += n
    found[(PENDING, "", "")] += connection.execute(
        sa.select(sa.func.count()).where(requests.status == RequestStatus.PENDING)
    ).scalar_one()
    for kind, column, condition in (
        (REGISTERED, users.created_at, users.role == Role.STUDENT),
        (ISSUED, licenses.issued_at, sa.true()),
    ):
        day = _day(connection, column).label("day")
        for value, n in connection.execute(
            sa.select(day, sa.func.count()).where(condition).group_by(day)
        ):
            if value is not None:  # SQLite gives the day as text
                day_of = value if isinstance(value, date) else date.fromisoformat(value)
                found[(kind, monday(day_of), "")] += n
    return [{"kind": k, "key_a": a, "key_b": b, "n": n} for (k, a, b), n in sorted(found.items()) if n]


def recount(session, *, fix: bool = False, actor=None, audit: bool = True) -> dict[Key, tuple[int, int]]:
    """Compare the kept figures with a full recount: {cell: (kept, counted)} for each cell
    that differs. With ``fix`` the kept figures are replaced by the recount (in the
    caller's transaction) and, when any had drifted, the correction is audited (not for
    a bulk load that fills the figures the first time: ``audit=False``)."""
    counted = {(r["kind"], r["key_a"], r["key_b"]): r["n"] for r in recount_rows(session.connection())}
    stored = kept(session)
    drift = {key: (stored.get(key, 0), counted.get(key, 0))
             for key in stored.keys() | counted.keys() if stored.get(key, 0) != counted.get(key, 0)}
    if fix and drift:
        session.execute(sa.delete(_table))
        rows = [{"kind": k, "key_a": a, "key_b": b, "n": n} for (k, a, b), n in counted.items() if n]
        if rows:
            session.execute(sa.insert(_table), rows)
        if audit:
            record(actor, actions.STATS_RECOUNTED, None, cells=len(drift))
    return drift
