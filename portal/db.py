"""Declarative base, shared column types, and the SQLite connection settings.

SQLite is opened in WAL mode with a busy timeout and foreign keys on. Write
transactions start with ``BEGIN IMMEDIATE`` so that concurrent writers queue on
the busy timeout instead of failing with "database is locked" when a read lock
would have to be upgraded. Read-only requests (GET, HEAD, OPTIONS) start a
deferred transaction so readers never wait for each other; a GET that must write
calls :func:`begin_write` first, or, when it always writes, is marked :func:`writes`.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import current_app, g, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, registry

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

_READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


# The demo seeder replays months of academy life through the real services; while it does,
# "now" is the moment being replayed (see ``portal.seed.timeline``). Unset everywhere else.
_clock: ContextVar[Callable[[], datetime] | None] = ContextVar("portal_clock", default=None)


def apply_changes(obj, values: dict) -> tuple[dict, dict]:
    """Set each attribute of ``obj`` named in ``values`` that differs; the changed ones
    as ``(before, after)``, for the audit event (both empty when nothing changed)."""
    before, after = {}, {}
    for key, value in values.items():
        if getattr(obj, key) != value:
            before[key], after[key] = getattr(obj, key), value
            setattr(obj, key, value)
    return before, after


def utcnow() -> datetime:
    clock = _clock.get()
    return clock() if clock is not None else datetime.now(UTC)


@contextmanager
def clock(now: Callable[[], datetime]) -> Iterator[None]:
    """Within the block, ``utcnow()`` is ``now()`` (in this thread or task only)."""
    token = _clock.set(now)
    try:
        yield
    finally:
        _clock.reset(token)


class UTCDateTime(sa.types.TypeDecorator):
    """A timezone-aware UTC timestamp on every backend.

    PostgreSQL stores ``timestamptz``; SQLite stores the naive UTC value and we
    attach UTC again when reading, so Python code only ever sees aware times.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={datetime: UTCDateTime()},
    )


def write_intended() -> bool:
    if not has_request_context():
        return True
    if g.get("portal_write_intent"):
        return True
    if request.method not in _READ_METHODS:
        return True
    return getattr(current_app.view_functions.get(request.endpoint), "portal_writes", False)


def writes(view):
    """Mark a GET view that always writes (e.g. it records an audit event): on SQLite its
    request is one write transaction from the first statement on, the user's load included.

    A write inside a read transaction must upgrade it, and SQLite refuses that at once
    ("database is locked", whatever the busy timeout) when another connection has committed
    since the read began (a mail job, another worker). A writer from the start also saves
    :func:`begin_write`'s commit in the middle, and the reloading of every object it expires.
    """
    view.portal_writes = True
    return view


def begin_write(session) -> None:
    """End the current (read) transaction so the next one starts as a writer.

    Only needed on GET requests that write, e.g. recording an audit event.
    Anything pending in the session is committed first.
    """
    if has_request_context():
        g.portal_write_intent = True
    session.commit()


@event.listens_for(Engine, "connect")
def _on_connect(dbapi_connection, connection_record):
    if isinstance(dbapi_connection, sqlite3.Connection):
        # Let SQLAlchemy's "begin" event issue BEGIN itself (see below).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


@event.listens_for(Engine, "begin")
def _on_begin(conn):
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_intended() else "BEGIN")
