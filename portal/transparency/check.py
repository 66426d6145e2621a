"""``transparency verify``: rebuild the tree from the leaves and hold everything stored
against it.

Caught: a leaf changed, removed, added or moved (its bytes no longer hash to the stored
node, an index is missing, or it no longer names its history row); a stored node changed,
removed or added; a history row without its leaf; a checkpoint whose signature fails,
whose root is not the rebuilt tree's at its size (a rewrite or a fork), or whose size is
past the log's end (a rollback). Memory: the tree's hashes, 64 bytes per leaf.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
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


# Plain SQL read by position: the walk is bound by per-row overhead, not by the database.
_LEAVES_SQL = (
    "SELECT t.idx, t.leaf, t.license_id, t.event_seq, e.hash, l.code FROM transparency_leaves t "
    "LEFT JOIN license_events e ON e.license_id = t.license_id AND e.seq = t.event_seq "
    "LEFT JOIN licenses l ON l.id = t.license_id ORDER BY t.idx"
)


def verify(session, batch: int = 10000) -> Report:
    report = Report()
    level0: list[bytes] = []
    append, leaf_hash = level0.append, merkle.leaf_hash
    connection = session.connection().execution_options(yield_per=batch)
    with connection.exec_driver_sql(_LEAVES_SQL) as result:  # closed early too (PostgreSQL's cursor)
        for part in result.partitions(batch):
            for idx, leaf, license_id, event_seq, event_hash, code in part:
                if idx != len(level0):
                    report.add(f"leaf #{len(level0)} is missing (the next stored leaf is #{idx})")
                    break
                leaf = bytes(leaf)
                problem = _leaf_problem(leaf, code, event_seq, license_id, event_hash)
                if problem:
                    report.add(f"leaf #{idx} {problem}")
                append(leaf_hash(leaf))
            else:
                continue
            break
    report.leaves = size = len(level0)
    levels = [level0]
    while len(levels[-1]) > 1:
        below = levels[-1]
        levels.append([merkle.node_hash(below[i], below[i + 1]) for i in range(0, len(below) - 1, 2)])
    tree = _Levels(levels)
    report.root = merkle.root(size, tree)
    _check_nodes(session, levels, report, batch)
    _check_rows_logged(session, report)
    _check_checkpoints(session, size, tree, report)
    return report


def _check_nodes(session, levels: list[list[bytes]], report: Report, batch: int) -> None:
    """Each level's stored hashes, in order, against the rebuilt ones; then nothing more."""
    connection = session.connection().execution_options(yield_per=batch)
    for level, expected in enumerate(levels):
        sql = f"SELECT idx, hash FROM transparency_nodes WHERE level = {level} ORDER BY idx"
        with connection.exec_driver_sql(sql) as result:
            position = 0
            for part in result.partitions(batch):
                for idx, digest in part:
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
