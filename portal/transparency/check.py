"""``transparency verify``: rebuild the tree from the leaves and hold everything stored
against it.

Caught: a leaf changed, removed, added or moved (its bytes no longer hash to the stored
node, an index is missing, or it no longer names its history row); a stored node changed,
removed or added; a history row without its leaf; a checkpoint whose signature fails,
whose root is not the rebuilt tree's at its size (a rewrite or a fork), or whose size is
past the log's end (a rollback). Memory: the tree's hashes, two per leaf as Python
bytes objects (about 150 bytes a leaf: 150 MB for a million).
"""
from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from portal.models.license import License, LicenseEvent
from portal.models.transparency import TransparencyCheckpoint, TransparencyLeaf, TransparencyNode
from portal.transparency import checkpoints, merkle

MAX_PROBLEMS = 20


@dataclass
class Report:
    leaves: int = 0
    nodes: int = 0
    checkpoints: int = 0
    root: bytes = merkle.EMPTY_ROOT
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def add(self, problem: str) -> None:
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)


class _Levels(Mapping):
    """The rebuilt tree's complete subtrees, as the (level, index) mapping merkle reads."""

    def __init__(self, levels: list[list[bytes]]):
        self.levels = levels

    def __getitem__(self, key):
        level, index = key
        return self.levels[level][index]

    def __iter__(self):
        return ((lv, i) for lv, row in enumerate(self.levels) for i in range(len(row)))

    def __len__(self):
        return sum(len(row) for row in self.levels)


def _leaf_problem(leaf: bytes, code, event_seq, license_id, event_hash) -> str | None:
    try:
        content = json.loads(leaf.decode())
    except ValueError:
        return "is not JSON"
    if not isinstance(content, dict):
        return "is not a JSON object"
    if event_hash is None:
        return f"names history row {event_seq} of license id {license_id}, which does not exist"
    if content.get("license") != code or content.get("seq") != event_seq:
        return "does not name the history row it is stored for"
    if content.get("hash") != event_hash:
        return f"does not match {code}'s history row {event_seq} (the row or the leaf was changed)"
    return None


# The fast path: a leaf in the exact shape ``log.encode`` writes (RFC 8785: these keys in
# this order, nothing nested) is matched whole by one regular expression instead of being
# parsed. A match is only taken when it decides the same as ``_leaf_problem``: the text is
# strict UTF-8, every value is a JSON string without raw control characters, null, or a
# number, so the text is valid JSON whose top level holds exactly these keys once each;
# the ``license`` and ``hash`` strings are compared as written only when they hold no
# escape (an escape sends the leaf to the parser), and ``seq`` is a plain integer.
# Anything else (another shape, an escape there, a mismatch) goes through ``_leaf_problem``,
# so the fast path can only accept what the parser accepts.
_STRING = r'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"'
_VALUE = rf'(?:{_STRING}|null|-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)'
_CANONICAL = re.compile(
    rf'\{{"at":{_VALUE},"expires_at":{_VALUE},"format":{_VALUE},"hash":"([^"\\\x00-\x1f]*)",'
    rf'"holder":{_VALUE},"kind":{_VALUE},"level":{_VALUE},"license":"([^"\\\x00-\x1f]*)",'
    rf'"prev_hash":{_VALUE},"reason":{_VALUE},"seq":(0|[1-9][0-9]{{0,15}}),'
    rf'"specialization":{_VALUE},"status":{_VALUE}\}}'
)


def _leaf_matches(leaf: bytes, code, event_seq, event_hash) -> bool:
    """True when the leaf certainly names this history row and matches its hash (what
    ``_leaf_problem`` returning None means); False means: ask ``_leaf_problem``."""
    try:
        match = _CANONICAL.fullmatch(leaf.decode())
    except UnicodeDecodeError:
        return False
    return (match is not None and event_hash is not None and match[2] == code
            and int(match[3]) == event_seq and match[1] == event_hash)


# Plain SQL read by position through the driver's cursor: the walk is bound by per-row
# overhead, not by the database.
_LEAVES_SQL = (
    "SELECT t.idx, t.leaf, t.license_id, t.event_seq, e.hash, l.code FROM transparency_leaves t "
    "LEFT JOIN license_events e ON e.license_id = t.license_id AND e.seq = t.event_seq "
    "LEFT JOIN licenses l ON l.id = t.license_id ORDER BY t.idx"
)


@contextmanager
def _cursor(session, sql: str, batch: int):
    """A driver cursor over ``sql`` in the session's transaction: server-side on PostgreSQL
    (a named cursor fetching ``batch`` rows at a time), so memory stays flat."""
    connection = session.connection()
    raw = connection.connection.driver_connection
    if connection.dialect.name == "postgresql":
        cursor = raw.cursor(name=f"transparency_verify_{secrets.token_hex(4)}")
        cursor.itersize = batch
    else:
        cursor = raw.cursor()
    try:
        cursor.execute(sql)
        yield cursor
    finally:
        cursor.close()


def verify(session, batch: int = 20000) -> Report:
    report = Report()
    level0: list[bytes] = []
    append, sha256, matches = level0.append, hashlib.sha256, _leaf_matches
    with _cursor(session, _LEAVES_SQL, batch) as cursor:
        while rows := cursor.fetchmany(batch):
            if rows[-1][0] != len(level0) + len(rows) - 1 or rows[0][0] != len(level0):
                # Indexes are unique and ordered, so first and last in place means all are;
                # otherwise find the first gap.
                for position, row in enumerate(rows, start=len(level0)):
                    if row[0] != position:
                        report.add(f"leaf #{position} is missing (the next stored leaf is #{row[0]})")
                        rows = rows[: position - len(level0)]
                        break
                gap = True
            else:
                gap = False
            for idx, leaf, license_id, event_seq, event_hash, code in rows:
                leaf = bytes(leaf)
                if not matches(leaf, code, event_seq, event_hash):
                    problem = _leaf_problem(leaf, code, event_seq, license_id, event_hash)
                    if problem:
                        report.add(f"leaf #{idx} {problem}")
                append(sha256(b"\x00" + leaf).digest())
            if gap:
                break
    report.leaves = size = len(level0)
    levels = [level0]
    while len(levels[-1]) > 1:
        below = levels[-1]
        joined = b"".join(below[: len(below) & ~1])
        levels.append([sha256(b"\x01" + joined[j:j + 64]).digest() for j in range(0, len(joined), 64)])
    tree = _Levels(levels)
    report.root = merkle.root(size, tree)
    _check_nodes(session, levels, report, batch)
    _check_rows_logged(session, report)
    _check_checkpoints(session, size, tree, report)
    return report


def _check_nodes(session, levels: list[list[bytes]], report: Report, batch: int) -> None:
    """Each level's stored hashes, in order, against the rebuilt ones; then nothing more.
    Compared a batch at a time as whole lists; a batch that differs is walked row by row
    to name the first wrong node."""
    for level, expected in enumerate(levels):
        sql = f"SELECT idx, hash FROM transparency_nodes WHERE level = {level} ORDER BY idx"
        with _cursor(session, sql, batch) as cursor:
            position = 0
            while rows := cursor.fetchmany(batch):
                report.nodes += len(rows)
                end = position + len(rows)
                if ([row[0] for row in rows] == list(range(position, end)) and end <= len(expected)
                        and [bytes(row[1]) for row in rows] == expected[position:end]):
                    position = end
                    continue
                report.nodes -= len(rows)
                for idx, digest in rows:
                    report.nodes += 1
                    if idx != position:
                        where = position if idx > position else idx
                        what = "is missing" if idx > position else "is stored twice"
                        report.add(f"stored node {level}/{where} {what}")
                        return
                    if position >= len(expected):
                        report.add(f"stored node {level}/{idx} is not part of the tree (added)")
                        return
                    if bytes(digest) != expected[position]:
                        what = "leaf" if level == 0 else "node"
                        report.add(f"stored {what} hash {level}/{idx} does not match the leaves "
                                   f"(a leaf or a stored hash was changed)")
                        return
                    position += 1
            if position < len(expected):
                report.add(f"stored node {level}/{position} is missing")
                return
    nodes = TransparencyNode
    extra = session.execute(
        sa.select(nodes.level, nodes.idx).where(nodes.level >= len(levels)).limit(1)
    ).first()
    if extra is not None:
        report.add(f"stored node {extra.level}/{extra.idx} is not part of the tree (added)")


def _check_rows_logged(session, report: Report) -> None:
    leaves, events, licenses = TransparencyLeaf.__table__, LicenseEvent.__table__, License.__table__
    missing = (
        sa.select(licenses.c.code, events.c.seq)
        .join(licenses, licenses.c.id == events.c.license_id)
        .outerjoin(leaves, sa.and_(leaves.c.license_id == events.c.license_id,
                                   leaves.c.event_seq == events.c.seq))
        .where(leaves.c.idx.is_(None))
    )
    count = session.execute(sa.select(sa.func.count()).select_from(missing.subquery())).scalar()
    if count:
        first = session.execute(missing.order_by(events.c.id).limit(1)).first()
        report.add(f"{count} license history row(s) are not in the log (first: {first.code} row {first.seq})")


def _check_checkpoints(session, size: int, tree: Mapping, report: Report) -> None:
    public = checkpoints.public_key()
    roots: dict[int, bytes] = {}
    for row in session.scalars(sa.select(TransparencyCheckpoint).order_by(TransparencyCheckpoint.size)):
        report.checkpoints += 1
        try:
            note = checkpoints.parse(row.note, public)
        except checkpoints.NoteError as exc:
            report.add(f"checkpoint {row.origin} #{row.size}: {exc}")
            continue
        if (note.origin, note.size, note.root) != (row.origin, row.size, bytes(row.root)):
            report.add(f"checkpoint {row.origin} #{row.size}: the stored size or root is not the signed one")
        if note.size in roots and roots[note.size] != note.root:
            report.add(f"two signed checkpoints of size {note.size} have different roots: a fork")
        roots.setdefault(note.size, note.root)
        if note.size > size:
            report.add(f"checkpoint #{note.size} was signed for {note.size} leaves but the log has "
                       f"{size}: the log was rolled back")
        elif merkle.root(note.size, tree) != note.root:
            report.add(f"checkpoint #{note.size}: its signed root is not the rebuilt tree's at that "
                       f"size: the log was rewritten")
