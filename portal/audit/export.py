"""The viewer's current filter as CSV, streamed in constant memory."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import sqlalchemy as sa

from portal.audit import actions
from portal.audit.queries import NEWEST_FIRST, AuditFilter, after_cursor
from portal.audit.services import record
from portal.extensions import db
from portal.models.audit import AuditEvent

COLUMNS = ["seq", "id", "at", "actor_id", "actor", "action", "resource_type", "resource_id",
           "outcome", "status", "ip", "method", "path", "user_agent", "details", "hash"]
BATCH = 2000
# A spreadsheet treats cells starting with these as formulas.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value):
    """Make a text cell inert in spreadsheets (OWASP "CSV injection")."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def record_export(actor, flt: AuditFilter) -> None:
    """Record that ``actor`` exported the trail with this filter; the caller commits."""
    record(actor, actions.AUDIT_EXPORTED, None, filter=flt.describe(), format="csv")


def _row(r) -> list:
    return [
        r.seq, r.id, r.at.isoformat(), r.actor_id, neutralise(r.actor_label), neutralise(r.action),
        neutralise(r.resource_type), neutralise(r.resource_id), r.outcome, r.status,
        neutralise(r.ip), r.method, neutralise(r.path), neutralise(r.user_agent),
        neutralise(json.dumps(r.details or {}, sort_keys=True, ensure_ascii=False)), r.hash,
    ]


def rows(where: list, batch: int = BATCH) -> Iterator[str]:
    """CSV text, a batch of rows at a time, newest first, walking keyset batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    cols = [getattr(AuditEvent, c.key) for c in AuditEvent.__table__.columns]
    cursor = None
    while True:
        stmt = sa.select(*cols).where(*where)
        if cursor is not None:
            stmt = stmt.where(after_cursor(cursor))
        chunk = db.session.execute(stmt.order_by(*NEWEST_FIRST).limit(batch)).all()
        if not chunk:
            return
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(_row(r) for r in chunk)
        yield buffer.getvalue()
        last = chunk[-1]
        cursor = (last.at, last.id)
        if len(chunk) < batch:
            return
