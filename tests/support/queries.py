"""Counting the SQL statements a request sends (query-count tests: no lazy load, no
per-row query creeps in)."""
from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa

from portal.extensions import db


@contextmanager
def statements(app, *, leave_out: tuple[str, ...] = ()):
    """Every statement sent to the database inside the block, as a growing list; those
    containing any of ``leave_out`` (e.g. ``"user_sessions"``) are not counted."""
    with app.app_context():
        engine = db.engine
    seen: list[str] = []

    def before(conn, cursor, statement, parameters, context, executemany):
        if not any(part in statement for part in leave_out):
            seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", before)


def of_request(app, client, url: str, **kwargs) -> list[str]:
    """The statements of one GET of ``url`` (after one warm-up GET: anything loaded once
    per process is not counted); the page must answer 200."""
    assert client.get(url).status_code == 200
    with statements(app, **kwargs) as seen:
        response = client.get(url)
        assert response.status_code == 200
    return list(seen)
