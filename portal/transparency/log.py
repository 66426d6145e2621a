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


def encode(content: dict) -> bytes:
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
    write history rows without the services. The caller holds the database to itself."""
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
    index = size(session)
    nodes = dict(fetch(merkle.root_keys(index), session))  # the left edge new nodes join
    now = datetime.now(UTC)
    leaf_rows, node_rows = [], []
    for row in rows:
        salt = os.urandom(32)
        leaf = encode(leaf_content(
            code=row.code, specialization=row.spec, seq=row.seq, kind=row.kind, level=row.level,
            status=row.status, reason=row.reason, expires_at=row.expires_at, at=row.at,
            prev_hash=row.prev_hash, hash=row.hash, holder=holder_commitment(salt, row.name)))
        leaf_rows.append({"idx": index, "license_id": row.license_id, "event_seq": row.seq, "leaf": leaf,
                          "holder_salt": salt, "created_at": now})
        for level, idx, digest in merkle.append_nodes(index, leaf, nodes):
            nodes[(level, idx)] = digest
            node_rows.append({"level": level, "idx": idx, "hash": digest})
        index += 1
        if len(leaf_rows) >= batch:
            _flush(session, leaf_rows, node_rows)
            frontier = set(merkle.root_keys(index))
            nodes = {key: value for key, value in nodes.items() if key in frontier}
            if echo:
                echo(f"  transparency log: {index:,} leaves")
    _flush(session, leaf_rows, node_rows)
    return len(rows)


def _flush(session, leaf_rows: list, node_rows: list) -> None:
    if leaf_rows:
        session.execute(sa.insert(_leaves), leaf_rows)
        session.execute(sa.insert(_nodes), node_rows)
    leaf_rows.clear()
    node_rows.clear()
