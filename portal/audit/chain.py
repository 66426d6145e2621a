"""The audit hash chain: canonical content, hashing, appending and verification.

Each event stores ``hash = SHA-256(prev_hash || canonical JSON of its content)``,
where the content includes its sequence number. Verification walks the events
in sequence order in constant memory and names the first one that does not fit.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache, partial

import sqlalchemy as sa

from portal.audit import privacy
from portal.hashchain import GENESIS, ChainResult, canonical_json, link_hash
from portal.models.audit import AuditEvent

_result = partial(ChainResult, subject="audit chain", unit="event")
# Any fixed 64-bit number: the PostgreSQL advisory lock that serialises appends.
_PG_LOCK_KEY = 0x504F5254414C  # "PORTAL"


def _iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):  # str: already in this form (fast path)
        return value
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# What the hash covers. The personal fields (actor_label, details, ip, user_agent) are
# covered through their digests under key_id (portal.audit.privacy), so that erasure and
# retention can empty them without breaking the chain.
_FIELDS = ("seq", "at", "actor_id", "action", "resource_type", "resource_id", "method", "path",
           "status", "outcome", "key_id", "identity_digest", "network_digest", "prev_hash")


def _content(content: dict) -> dict:
    content["at"] = _iso(content["at"])
    return content


def canonical(event) -> bytes:
    """The hashed content of an event, or of any object with the same attributes."""
    return canonical_json(_content({name: getattr(event, name) for name in _FIELDS}))


def compute_hash(event) -> str:
    """The event's hash; the previous hash is hashed twice, in front and in the content."""
    return link_hash(_content({name: getattr(event, name) for name in _FIELDS}), event.prev_hash)


def _hash_values(values: tuple) -> str:
    """The hash of an event given as values in ``_FIELDS`` order (the verification fast path)."""
    content = dict(zip(_FIELDS, values, strict=True))
    return link_hash(_content(content), content["prev_hash"])


def _sqlite_at(raw) -> str:
    """A stored SQLite timestamp (naive UTC, "2026-11-23 14:45:53.123456") in ``_iso`` form."""
    if isinstance(raw, str) and len(raw) == 26 and raw[10] == " " and raw[19] == ".":
        return raw[:10] + "T" + raw[11:] + "Z"
    value = raw if isinstance(raw, datetime) else datetime.fromisoformat(raw)
    return _iso(value if value.tzinfo else value.replace(tzinfo=UTC))


def _raw_sqlite_rows(session, batch: int):
    """Rows straight from sqlite3, skipping SQLAlchemy's per-value conversions (the slow part)."""
    names = ", ".join(_COLUMNS)
    result = session.connection().execution_options(yield_per=batch).exec_driver_sql(
        f"SELECT {names} FROM audit_events ORDER BY seq"
    )
    at, details = _COLUMNS.index("at"), _COLUMNS.index("details")
    loads = json.loads

    def rows():
        for part in result.partitions(batch):
            for row in part:
                row = list(row)
                row[at] = _sqlite_at(row[at])
                row[details] = loads(row[details]) if isinstance(row[details], str) else row[details]
                yield row

    return result, rows()


# PostgreSQL writes ``at`` in ``_iso`` form itself: cheaper than a datetime per row, then strftime.
_PG_AT = """to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""


class _PostgresRows:
    """Rows straight from a psycopg server-side cursor, ``batch`` at a time, as plain tuples.

    SQLAlchemy's Row objects and result processing (a timezone conversion per timestamp)
    cost more than the hashing; the values are the ones the ORM would give, ``at`` as text.
    """

    def __init__(self, session, batch: int):
        names = ", ".join(_PG_AT if name == "at" else name for name in _COLUMNS)
        # The scan's own transaction (read_only_scan): a named cursor lives inside it.
        self.cursor = session.connection().connection.driver_connection.cursor(name="audit_chain_verify")
        self.cursor.itersize = batch
        self.cursor.execute(f"SELECT {names} FROM audit_events ORDER BY seq")
        self.batch = batch

    def __iter__(self):
        fetch, batch = self.cursor.fetchmany, self.batch
        while part := fetch(batch):
            yield from part

    def close(self) -> None:
        self.cursor.close()


_LOCK = sa.select(sa.func.pg_advisory_xact_lock(_PG_LOCK_KEY))


def lock_chain(session) -> None:
    """Serialise appends until the end of the transaction (``session``: a Session or a
    Connection in one).

    PostgreSQL: a transaction-level advisory lock. SQLite: write transactions begin
    with BEGIN IMMEDIATE (see ``portal.db``), so the writer already holds the lock.
    """
    bind = session if isinstance(session, sa.engine.Connection) else session.get_bind()
    if bind.dialect.name == "postgresql":
        session.execute(_LOCK)


_events = AuditEvent.__table__
_HEAD = sa.select(_events.c.seq, _events.c.hash).order_by(_events.c.seq.desc()).limit(1)


def head(session) -> tuple[int, str]:
    row = session.execute(_HEAD).first()
    return (row.seq, row.hash) if row else (0, GENESIS)


@cache
def _head_and_key(key_stmt: sa.Select) -> sa.Select:
    """The chain's head and a key (``privacy.key_lookup``) in one statement: one row, its
    columns None where there is none. Two statements only, so built once each."""
    key_id, secret = key_stmt.selected_columns
    return sa.select(
        _HEAD.with_only_columns(_events.c.seq).scalar_subquery().label("seq"),
        _HEAD.with_only_columns(_events.c.hash).scalar_subquery().label("hash"),
        key_stmt.with_only_columns(key_id).scalar_subquery().label("key_id"),
        key_stmt.with_only_columns(secret).scalar_subquery().label("secret"),
    )


def seal(session, event: AuditEvent) -> None:
    """Give the event its place in the chain (sequence, predecessor, digests, own hash).

    The head is read after the lock is taken (on PostgreSQL each statement sees what was
    committed before it began, so not in the lock's statement), and with the event's key in
    one statement: an event recorded alone costs the lock, that read and its insert."""
    lock_chain(session)
    keys = privacy.KeyCache(session)
    with session.no_autoflush:
        pending = [
            obj for obj in session.new if isinstance(obj, AuditEvent) and obj is not event
        ]
    if pending:
        last = max(pending, key=lambda e: e.seq)
        seq, prev = last.seq, last.hash
        privacy.seal_personal(keys, event)
    else:
        key_stmt, params = privacy.key_lookup(privacy.owner_of(event), event.at)
        row = session.connection().execute(_head_and_key(key_stmt), params).one()
        seq, prev = (row.seq, row.hash) if row.seq is not None else (0, GENESIS)
        privacy.seal_personal(keys, event, found=(row.key_id, row.secret))
    event.seq = seq + 1
    event.prev_hash = prev
    event.hash = compute_hash(event)


# Read by the walk, by position: the hashed fields, then id and hash, then the personal fields.
_COLUMNS = (*_FIELDS, "id", "hash", "actor_label", "details", "ip", "user_agent")
_KEY_AT = _FIELDS.index("key_id")
_IDENTITY_AT, _NETWORK_AT = _FIELDS.index("identity_digest"), _FIELDS.index("network_digest")


def verify(session, checkpoint: dict | None = None, batch: int = 5000, progress=None) -> ChainResult:
    """Walk the whole chain. ``checkpoint`` ({"seq", "hash"}) also proves no tail was cut."""
    keys = privacy.live_keys(session)
    if session.get_bind().dialect.name == "sqlite":
        result, rows = _raw_sqlite_rows(session, batch)
    else:
        result = rows = _PostgresRows(session, batch)
    try:
        return _walk(rows, checkpoint, batch, progress, keys)
    finally:
        result.close()


def _walk(rows, checkpoint, batch, progress, keys) -> ChainResult:
    expected_seq, prev = 1, GENESIS
    count = 0
    width = len(_FIELDS)
    personal_problem = privacy.personal_problem
    for row in rows:
        # The values by position (see _COLUMNS): no object or dict per row beyond the hashed content.
        seq, prev_hash = row[0], row[width - 1]
        event_id, event_hash, label, details, ip, agent = row[width:]
        if seq != expected_seq:
            problem = (
                f"expected sequence {expected_seq} but found {seq}: "
                + ("events are missing (deleted)" if seq > expected_seq else "duplicate or reordered")
            )
            return _result(False, count, prev, seq, event_id, problem)
        if prev_hash != prev:
            return _result(
                False, count, prev, seq, event_id,
                "does not link to the previous event (inserted, deleted or reordered)",
            )
        if _hash_values(row[:width]) != event_hash:
            return _result(
                False, count, prev, seq, event_id,
                "content does not match its hash (changed)",
            )
        problem = personal_problem(keys.get(row[_KEY_AT]), label, details, ip, agent,
                                   row[_IDENTITY_AT], row[_NETWORK_AT])
        if problem:
            return _result(False, count, prev, seq, event_id, problem)
        if checkpoint and seq == checkpoint["seq"] and event_hash != checkpoint["hash"]:
            return _result(
                False, count, prev, seq, event_id,
                "differs from the signed checkpoint",
            )
        prev = event_hash
        expected_seq += 1
        count += 1
        if progress and count % batch == 0:
            progress(count)
    head_seq = expected_seq - 1
    if checkpoint and head_seq < checkpoint["seq"]:
        return _result(
            False, count, prev, head_seq + 1, None,
            f"the chain ends at #{head_seq} but the checkpoint saw #{checkpoint['seq']}: "
            "events were cut off the end",
        )
    return _result(True, count, prev)
