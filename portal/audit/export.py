"""The viewer's current filter as CSV, streamed in constant memory."""
from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import sqlalchemy as sa

from portal.audit import actions
from portal.audit.queries import NEWEST_FIRST, AuditFilter, after_cursor
from portal.audit.services import record
from portal.extensions import db
from portal.models.audit import AuditEvent

# The header row names the columns as the event's fields (like the JSON keys), in English
# in every language: the file is a data contract that scripts and spreadsheets read by
# name, and an export must not change shape with the exporter's language. The values are
# the stored ones (action names, outcomes) for the same reason.
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


_E = AuditEvent
# Selected in CSV column order; details as its stored JSON text (no decode and re-encode).
_SELECT = [_E.seq, _E.id, _E.at, _E.actor_id, _E.actor_label, _E.action, _E.resource_type,
           _E.resource_id, _E.outcome, _E.status, _E.ip, _E.method, _E.path, _E.user_agent,
           sa.cast(_E.details, sa.Text).label("details"), _E.hash]
_TEXT = [i for i, name in enumerate(COLUMNS)
         if name in ("actor", "action", "resource_type", "resource_id", "ip", "path", "user_agent",
                     "details")]


def _row(r) -> list:
    row = list(r)
    row[2] = row[2].isoformat()
    for i in _TEXT:
        value = row[i]
        if value and value[0] in _FORMULA_START:
            row[i] = "'" + value
    return row


def rows(where: list, batch: int = BATCH) -> Iterator[str]:
    """CSV text, a batch of rows at a time, newest first, walking keyset batches."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    cursor = None
    while True:
        stmt = sa.select(*_SELECT).where(*where)
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
