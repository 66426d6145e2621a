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


def _leaf_problem(leaf: bytes, row) -> str | None:
    try:
        content = json.loads(leaf)
    except ValueError:
        return "is not JSON"
    if not isinstance(content, dict):
        return "is not a JSON object"
    if row.ev_hash is None:
        return f"names history row {row.event_seq} of license id {row.license_id}, which does not exist"
    if content.get("license") != row.code or content.get("seq") != row.event_seq:
        return "does not name the history row it is stored for"
    if content.get("hash") != row.ev_hash:
        return f"does not match {row.code}'s history row {row.event_seq} (the row or the leaf was changed)"
    return None


def verify(session, batch: int = 10000) -> Report:
    report = Report()
    leaves, events, licenses = TransparencyLeaf.__table__, LicenseEvent.__table__, License.__table__
    stmt = (
        sa.select(leaves.c.idx, leaves.c.leaf, leaves.c.license_id, leaves.c.event_seq,
                  events.c.hash.label("ev_hash"), licenses.c.code)
        .outerjoin(events, sa.and_(events.c.license_id == leaves.c.license_id,
                                   events.c.seq == leaves.c.event_seq))
        .outerjoin(licenses, licenses.c.id == leaves.c.license_id)
        .order_by(leaves.c.idx)
        .execution_options(yield_per=batch)
    )
    level0: list[bytes] = []
    leaf_hash = merkle.leaf_hash
    with session.execute(stmt) as rows:  # closed early too: a server-side cursor on PostgreSQL
        for row in rows:
            if row.idx != len(level0):
                report.add(f"leaf #{len(level0)} is missing (the next stored leaf is #{row.idx})")
                break
            leaf = bytes(row.leaf)
            problem = _leaf_problem(leaf, row)
            if problem:
                report.add(f"leaf #{row.idx} {problem}")
            level0.append(leaf_hash(leaf))
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
    nodes = TransparencyNode.__table__
    stmt = sa.select(nodes.c.level, nodes.c.idx, nodes.c.hash).order_by(nodes.c.level, nodes.c.idx)
    with session.execute(stmt.execution_options(yield_per=batch)) as rows:
        _walk_nodes(rows, levels, report)


def _walk_nodes(rows, levels: list[list[bytes]], report: Report) -> None:
    expected_level, expected_idx = 0, 0
    for row in rows:
        report.nodes += 1
        key = (row.level, row.idx)
        while expected_level < len(levels) and expected_idx >= len(levels[expected_level]):
            expected_level, expected_idx = expected_level + 1, 0
        if key != (expected_level, expected_idx):
            if key > (expected_level, expected_idx) and expected_level < len(levels):
                report.add(f"stored node {expected_level}/{expected_idx} is missing")
            else:
                report.add(f"stored node {row.level}/{row.idx} is not part of the tree (added)")
            return
        if bytes(row.hash) != levels[row.level][row.idx]:
            what = "leaf" if row.level == 0 else "node"
            report.add(f"stored {what} hash {row.level}/{row.idx} does not match the leaves "
                       f"(a leaf or a stored hash was changed)")
            return
        expected_idx += 1
    while expected_level < len(levels) and expected_idx >= len(levels[expected_level]):
        expected_level, expected_idx = expected_level + 1, 0
    if expected_level < len(levels):
        report.add(f"stored node {expected_level}/{expected_idx} is missing")


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
