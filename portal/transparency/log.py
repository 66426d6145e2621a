"""The log in the database: appending a leaf, the tree's size and head, proofs.

Every license history row becomes one leaf, in the transaction that writes the row
(``append``). A leaf is the RFC 8785 canonical JSON of the row's public content: what
the public verification page may show, with the holder's name only as a salted
commitment. Appends are serialised with the audit chain's lock (an advisory lock on
PostgreSQL; SQLite's writer lock, taken by BEGIN IMMEDIATE), so leaf indexes have no
gaps and no duplicates; one lock for both logs means two transactions can never wait
for each other's.
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import os
import unicodedata
from datetime import UTC, datetime
from functools import lru_cache

import rfc8785
import sqlalchemy as sa

from portal.audit.chain import lock_chain
from portal.extensions import db
from portal.models.catalogue import Specialization
from portal.models.license import License, LicenseEvent
from portal.models.transparency import TransparencyLeaf, TransparencyNode
from portal.models.user import User
from portal.transparency import merkle

FORMAT = "portal/license-event/v1"
_leaves = TransparencyLeaf.__table__
_nodes = TransparencyNode.__table__


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unb64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def holder_commitment(salt: bytes, name: str) -> str:
    """base64 SHA-256(salt ‖ UTF-8 of the NFC name): binds the leaf to a name without showing it."""
    return b64(hashlib.sha256(salt + unicodedata.normalize("NFC", name).encode()).digest())


def leaf_content(*, code: str, specialization: str, seq: int, kind: str, level: int, status: str,
                 reason: str | None, expires_at: datetime | None, at: datetime, prev_hash: str,
                 hash: str, holder: str) -> dict:
    """The public content of one history row. ``hash`` is the row's link in the license's
    own chain, so the license's signed ``chain_head`` names its newest leaf."""
    return {
        "format": FORMAT, "license": code, "specialization": specialization, "seq": seq,
        "kind": kind, "level": level, "status": status, "reason": reason,
        "expires_at": _iso(expires_at), "at": _iso(at), "prev_hash": prev_hash, "hash": hash,
        "holder": holder,
    }


_SAFE_INT = 2**53  # RFC 8785 numbers are IEEE doubles: integers below this are exact


def encode(content: dict) -> bytes:
    """The RFC 8785 canonical JSON of ``content``.

    A flat object with ASCII keys whose values are strings, null and integers below 2^53
    (every leaf) comes out of Python's ``json`` byte for byte as RFC 8785 writes it (keys
    in code-point order, which for ASCII is RFC 8785's UTF-16 order; the same short
    escapes and lowercase ``\\u00xx`` for other control characters; everything else as
    UTF-8), at a tenth of the cost; tests hold the two against each other. Anything else
    goes through ``rfc8785``.
    """
    for key, value in content.items():
        kind = type(value)
        if not (key.isascii() and (kind is str or value is None
                                   or (kind is int and -_SAFE_INT < value < _SAFE_INT))):
            return rfc8785.dumps(content)
    try:
        return json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    except UnicodeEncodeError:  # a lone surrogate: let rfc8785 refuse it in its own words
        return rfc8785.dumps(content)


def size(session=None) -> int:
    session = session or db.session
    with session.no_autoflush:
        last = session.execute(sa.select(sa.func.max(_leaves.c.idx))).scalar()
    return 0 if last is None else last + 1


@lru_cache(maxsize=256)
def _lookup(count: int) -> sa.TextClause:
    """One statement per number of keys: point lookups on the primary key, OR-ed. Plain
    text, because building the equivalent expression costs more than the query itself."""
    terms = " OR ".join(f"(level = :l{i} AND idx = :i{i})" for i in range(count))
    return sa.text(f"SELECT level, idx, hash FROM transparency_nodes WHERE {terms}")


def fetch(keys: list[merkle.Key], session=None) -> dict[merkle.Key, bytes]:
    """The stored nodes named by ``keys``, in one query."""
    session = session or db.session
    wanted = sorted(set(keys))
    if not wanted:
        return {}
    params = {}
    for i, (level, index) in enumerate(wanted):
        params[f"l{i}"], params[f"i{i}"] = level, index
    with session.no_autoflush:
        rows = session.execute(_lookup(len(wanted)), params)
        found = {(level, idx): bytes(digest) for level, idx, digest in rows}
    if len(found) != len(wanted):
        missing = sorted(set(wanted) - found.keys())
        raise LookupError(f"the log's stored nodes {missing[:3]} are missing")
    return found


def append_leaf(session, leaf: bytes, *, license_id: int, event_seq: int, salt: bytes | None) -> int:
    """Add one leaf and its new nodes; returns its index. The caller holds the lock."""
    index = size(session)
    nodes = fetch(merkle.append_keys(index), session)
    with session.no_autoflush:
        session.execute(sa.insert(_leaves).values(
            idx=index, license_id=license_id, event_seq=event_seq, leaf=leaf, holder_salt=salt,
            created_at=datetime.now(UTC)))
        session.execute(sa.insert(_nodes), [
            {"level": level, "idx": idx, "hash": digest}
            for level, idx, digest in merkle.append_nodes(index, leaf, nodes)
        ])
    return index


def append(license, event) -> int:
    """Put the license history row ``event`` into the log, in the caller's transaction.

    Called by ``portal.licenses.chain.append`` after the row's hash is set; returns the
    leaf's index.
    """
    session = db.session
    lock_chain(session)
    salt = os.urandom(32)
    leaf = encode(leaf_content(
        code=license.code, specialization=license.specialization.code, seq=event.seq,
        kind=event.kind, level=event.level, status=event.status, reason=event.reason,
        expires_at=event.expires_at, at=event.at, prev_hash=event.prev_hash, hash=event.hash,
        holder=holder_commitment(salt, license.holder.name)))
    return append_leaf(session, leaf, license_id=license.id, event_seq=event.seq, salt=salt)


def forget_holder(license_ids: list[int]) -> None:
    """Drop the salts of these licenses' leaves: their commitments can no longer be opened
    (for erasure); the leaves, and so the log, stay exactly as they were."""
    if license_ids:
        db.session.execute(
            sa.update(TransparencyLeaf).where(TransparencyLeaf.license_id.in_(license_ids)).values(holder_salt=None)
        )


def root(tree_size: int) -> bytes:
    return merkle.root(tree_size, fetch(merkle.root_keys(tree_size)))


def inclusion_proof(index: int, tree_size: int) -> list[bytes]:
    ranges = merkle.inclusion_ranges(index, tree_size)
    return merkle.hashes_for(ranges, fetch(merkle.keys_for(ranges)))


def consistency_proof(first: int, second: int) -> list[bytes]:
    ranges = merkle.consistency_ranges(first, second)
    return merkle.hashes_for(ranges, fetch(merkle.keys_for(ranges)))


def leaves(start: int, end: int) -> list[bytes]:
    rows = db.session.execute(
        sa.select(_leaves.c.leaf).where(_leaves.c.idx >= start, _leaves.c.idx < end).order_by(_leaves.c.idx)
    )
    return [bytes(row.leaf) for row in rows]


def newest_leaf_of(license_id: int) -> TransparencyLeaf | None:
    return db.session.scalar(
        sa.select(TransparencyLeaf).where(TransparencyLeaf.license_id == license_id)
        .order_by(TransparencyLeaf.idx.desc()).limit(1)
    )


def backfill(session, batch: int = 5000, echo=None) -> int:
    """Append every history row that has no leaf yet, oldest first, in bulk; returns how
    many. For the migration that starts the log and for the bulk (scale) seeder, which
    write history rows without the services. The caller holds the database to itself.

    The result is exactly what appending the rows one by one would give (tests compare);
    only the way there differs: the leaves are written in batches as they are encoded,
    then each level of new nodes is computed from the one below (joined to the old tree's
    left edge) and written in batches, through the driver (COPY on PostgreSQL).
    """
    lock_chain(session)
    e, lic, spec, user = (LicenseEvent.__table__, License.__table__, Specialization.__table__,
                          User.__table__)
    rows = session.execute(
        sa.select(e.c.license_id, e.c.seq, e.c.kind, e.c.level, e.c.status, e.c.reason, e.c.expires_at,
                  e.c.at, e.c.prev_hash, e.c.hash, lic.c.code, spec.c.code.label("spec"), user.c.name)
        .join(lic, lic.c.id == e.c.license_id)
        .join(spec, spec.c.id == lic.c.specialization_id)
        .join(user, user.c.id == lic.c.holder_id)
        .outerjoin(_leaves, sa.and_(_leaves.c.license_id == e.c.license_id, _leaves.c.event_seq == e.c.seq))
        .where(_leaves.c.idx.is_(None))
        .order_by(e.c.at, e.c.id)
    ).all()
    if not rows:
        return 0
    first = size(session)
    edge = fetch(merkle.root_keys(first), session)  # the old tree's left edge, which new nodes join
    writer = _BulkWriter(session)
    created_at = writer.bound(_leaves.c.created_at, datetime.now(UTC))
    sha256, level0, leaf_rows = hashlib.sha256, [], []
    for index, row in enumerate(rows, start=first):
        salt = os.urandom(32)
        leaf = encode(leaf_content(
            code=row.code, specialization=row.spec, seq=row.seq, kind=row.kind, level=row.level,
            status=row.status, reason=row.reason, expires_at=row.expires_at, at=row.at,
            prev_hash=row.prev_hash, hash=row.hash, holder=holder_commitment(salt, row.name)))
        leaf_rows.append((index, row.license_id, row.seq, leaf, salt, created_at))
        level0.append(sha256(b"\x00" + leaf).digest())
        if len(leaf_rows) >= batch:
            writer.write(_leaves, ("idx", "license_id", "event_seq", "leaf", "holder_salt", "created_at"),
                         leaf_rows)
            leaf_rows = []
            if echo:
                echo(f"  transparency log: {index + 1:,} leaves")
    writer.write(_leaves, ("idx", "license_id", "event_seq", "leaf", "holder_salt", "created_at"), leaf_rows)
    count, end = len(rows), first + len(rows)
    del rows
    level, below, below_start = 0, level0, first
    while below:
        writer.write(_nodes, ("level", "idx", "hash"),
                     ((level, i, digest) for i, digest in enumerate(below, start=below_start)), batch)
        # Level L+1's new nodes are [first >> (L+1), end >> (L+1)); the first one may take its
        # left half from the old tree's edge.
        if below_start & 1:
            below, below_start = [edge[(level, below_start - 1)], *below], below_start - 1
        above_start, above_end = first >> (level + 1), end >> (level + 1)
        joined = b"".join(below[: 2 * (above_end - above_start)])
        below = [sha256(b"\x01" + joined[j:j + 64]).digest() for j in range(0, len(joined), 64)]
        below_start, level = above_start, level + 1
    return count


class _BulkWriter:
    """Rows straight to the driver: executemany on SQLite, COPY on PostgreSQL. Values must
    already be what the driver takes (``bound`` applies a column's type once)."""

    def __init__(self, session):
        self.connection = session.connection()
        self.dialect = self.connection.dialect
        self.raw = self.connection.connection.driver_connection

    def bound(self, column, value):
        process = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
        return process(value) if process else value

    def write(self, table, columns, rows, batch: int = 50_000) -> None:
        names = ", ".join(columns)
        if self.dialect.name == "postgresql":
            with self.raw.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join('?' * len(columns))})"
        cursor = self.raw.cursor()
        try:
            rows = iter(rows)
            while part := list(itertools.islice(rows, batch)):
                cursor.executemany(sql, part)
        finally:
            cursor.close()
