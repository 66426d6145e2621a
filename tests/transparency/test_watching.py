"""`transparency checkpoint`, `verify` and `monitor`, and the tampering each one catches:
a leaf or a stored node changed, deleted, inserted or reordered, a history row kept out
of the log, a rewrite that re-hashes everything, a fork and a rollback."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import LicenseEvent
from portal.models.transparency import TransparencyCheckpoint, TransparencyLeaf, TransparencyNode
from portal.transparency import checkpoints, log, merkle
from portal.transparency.check import _leaf_matches, _leaf_problem

leaves_t, nodes_t = TransparencyLeaf.__table__, TransparencyNode.__table__


@pytest.fixture
def history(app, signed_license):
    """Six licenses, some changed: a log of a dozen leaves or so."""
    for status in (None, "suspended", "revoked", None, "expired", None):
        signed_license(status=status)
    with app.app_context():
        return log.size()


def sql(app, *statements) -> None:
    with app.app_context():
        for statement in statements:
            db.session.execute(statement)
        db.session.commit()


def verify(runner):
    result = runner.invoke(args=["transparency", "verify"])
    return result.exit_code, result.output


def leaf_bytes(app, index: int) -> bytes:
    with app.app_context():
        return bytes(db.session.get(TransparencyLeaf, index).leaf)


def sign_checkpoint(runner) -> None:
    assert runner.invoke(args=["transparency", "checkpoint"]).exit_code == 0


def test_an_intact_log_verifies(history, runner, tmp_path):
    sign_checkpoint(runner)
    code, output = verify(runner)
    assert code == 0, output
    assert f"transparency log intact: {history} leaves" in output and "1 checkpoints" in output
    target = tmp_path / "published" / "checkpoint.txt"
    result = runner.invoke(args=["transparency", "checkpoint", "--output", str(target)])
    assert result.exit_code == 0 and f"{history} leaves" in result.output
    assert target.read_text().splitlines()[1] == str(history)


def changed(data: bytes) -> bytes:
    content = json.loads(data)
    content["status"] = "active" if content["status"] != "active" else "revoked"
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


TAMPERS = {
    "a leaf changed": lambda app, n: [
        sa.update(leaves_t).where(leaves_t.c.idx == 3).values(leaf=changed(leaf_bytes(app, 3)))
    ],
    "a leaf deleted": lambda app, n: [sa.delete(leaves_t).where(leaves_t.c.idx == 2)],
    "a leaf inserted at the end": lambda app, n: [
        sa.insert(leaves_t).values(
            idx=n, license_id=1, event_seq=99, leaf=leaf_bytes(app, 0), created_at=sa.func.now()
        )
    ],
    "two leaves reordered": lambda app, n: [
        sa.update(leaves_t).where(leaves_t.c.idx == 4).values(leaf=leaf_bytes(app, 5)),
        sa.update(leaves_t).where(leaves_t.c.idx == 5).values(leaf=leaf_bytes(app, 4)),
    ],
    "a stored node changed": lambda app, n: [
        sa.update(nodes_t).where(nodes_t.c.level == 1, nodes_t.c.idx == 1).values(hash=b"\x00" * 32)
    ],
    "a stored node deleted": lambda app, n: [
        sa.delete(nodes_t).where(nodes_t.c.level == 2, nodes_t.c.idx == 0)
    ],
    "a stored node added": lambda app, n: [sa.insert(nodes_t).values(level=9, idx=0, hash=b"\x00" * 32)],
    "a history row changed": lambda app, n: [
        sa.update(LicenseEvent.__table__).where(LicenseEvent.__table__.c.id == 2).values(hash="0" * 64)
    ],
}


@pytest.mark.parametrize("tamper", list(TAMPERS))
def test_tampering_is_caught_by_verify(app, history, runner, tamper):
    sign_checkpoint(runner)
    sql(app, *TAMPERS[tamper](app, history))
    code, output = verify(runner)
    assert code == 1, output
    assert "transparency log broken" in output


def rewritten_tree(app, *, change_index: int, size: int | None = None) -> merkle.MemoryTree:
    with app.app_context():
        rows = [
            bytes(r.leaf)
            for r in db.session.scalars(sa.select(TransparencyLeaf).order_by(TransparencyLeaf.idx))
        ]
    tree = merkle.MemoryTree()
    for index, leaf in enumerate(rows[:size]):
        tree.append(changed(leaf) if index == change_index else leaf)
    return tree


def test_a_consistent_rewrite_of_the_whole_tree_is_caught_by_the_checkpoint(app, history, runner):
    sign_checkpoint(runner)
    tree = rewritten_tree(app, change_index=1)
    with app.app_context():
        db.session.execute(
            sa.update(leaves_t).where(leaves_t.c.idx == 1).values(leaf=changed(leaf_bytes(app, 1)))
        )
        db.session.execute(sa.delete(nodes_t))
        db.session.execute(
            sa.insert(nodes_t), [{"level": lv, "idx": i, "hash": h} for (lv, i), h in tree.nodes.items()]
        )
        db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "the log was rewritten" in output, output


def test_a_history_row_left_out_of_the_log_is_caught(app, history, runner):
    last = history - 1
    sql(
        app,
        sa.delete(leaves_t).where(leaves_t.c.idx == last),
        sa.delete(nodes_t).where(nodes_t.c.level == 0, nodes_t.c.idx == last),
    )
    with app.app_context():  # drop the nodes the last leaf completed, so the tree itself is whole
        for level, index, _ in merkle.append_nodes(last, b"", dict.fromkeys(merkle.append_keys(last), b""))[
            1:
        ]:
            db.session.execute(sa.delete(nodes_t).where(nodes_t.c.level == level, nodes_t.c.idx == index))
        db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "are not in the log" in output, output


def test_a_rollback_is_caught_by_verify(app, history, runner):
    sign_checkpoint(runner)
    last = history - 1
    with app.app_context():
        db.session.execute(sa.delete(leaves_t).where(leaves_t.c.idx == last))
        for level, index, _ in merkle.append_nodes(last, b"", dict.fromkeys(merkle.append_keys(last), b"")):
            db.session.execute(sa.delete(nodes_t).where(nodes_t.c.level == level, nodes_t.c.idx == index))
        db.session.commit()
    code, output = verify(runner)
    assert code == 1 and "rolled back" in output, output


# --- the witness ---------------------------------------------------------------------------


def monitor(runner, state, *extra):
    result = runner.invoke(args=["transparency", "monitor", "--state", str(state), *extra])
    return result.exit_code, result.output


def test_the_monitor_follows_a_growing_log(app, history, runner, signed_license, tmp_path):
    state = tmp_path / "witness.json"
    code, output = monitor(runner, state)
    assert code == 0 and "first checkpoint stored" in output, output
    assert json.loads(state.read_text())["size"] == history
    assert monitor(runner, state)[1].startswith("unchanged")
    signed_license(status="revoked")
    code, output = monitor(runner, state)
    assert code == 0 and f"consistent: size {history} → {history + 2}" in output, output
    # A checkpoint published as a file is read the same way.
    signed_license()
    published = tmp_path / "checkpoint.txt"
    runner.invoke(args=["transparency", "checkpoint", "--output", str(published)])
    code, output = monitor(runner, state, "--checkpoint-file", str(published))
    assert code == 0 and f"→ {history + 3}" in output, output


def forged(app, size: int, root: bytes) -> str:
    with app.app_context():
        return checkpoints.sign_note(checkpoints.origin(), size, root)


def test_the_monitor_catches_a_fork(app, history, runner, tmp_path):
    state = tmp_path / "witness.json"
    monitor(runner, state)
    other = tmp_path / "fork.txt"
    other.write_text(forged(app, history, rewritten_tree(app, change_index=2).root()))
    code, output = monitor(runner, state, "--checkpoint-file", str(other))
    assert code == 1 and "fork" in output, output
    assert json.loads(state.read_text())["size"] == history  # the state keeps what was seen


def test_the_monitor_catches_a_rollback(app, history, runner, tmp_path):
    state = tmp_path / "witness.json"
    monitor(runner, state)
    shorter = tmp_path / "rollback.txt"
    with app.app_context():
        shorter.write_text(forged(app, history - 1, log.root(history - 1)))
    code, output = monitor(runner, state, "--checkpoint-file", str(shorter))
    assert code == 1 and "rollback" in output, output


def test_the_monitor_catches_a_rewritten_history(app, history, runner, signed_license, tmp_path):
    state = tmp_path / "witness.json"
    monitor(runner, state)
    signed_license()  # the real log grows by one...
    # ...but the academy publishes a bigger tree whose old part was changed.
    tree = rewritten_tree(app, change_index=0)
    tree.append(b'{"new":1}')
    note = tmp_path / "rewrite.txt"
    note.write_text(forged(app, history + 1, tree.root()))
    code, output = monitor(runner, state, "--checkpoint-file", str(note))
    assert code == 1 and "rewrite" in output, output


def test_the_monitor_refuses_a_checkpoint_signed_by_another_key(app, history, runner, tmp_path):
    state = tmp_path / "witness.json"
    monitor(runner, state)
    with app.app_context():
        good = checkpoints.served().note
        db.session.commit()
    bad = tmp_path / "bad.txt"
    bad.write_text(good.replace(good.splitlines()[-1].rsplit(" ", 1)[1], "A" * 92))
    code, output = monitor(runner, state, "--checkpoint-file", str(bad))
    assert code == 1 and "not valid" in output, output
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TransparencyCheckpoint)) >= 1


def test_the_demo_has_a_complete_log_with_a_history_of_checkpoints(app, runner):
    assert runner.invoke(args=["seed", "demo"]).exit_code == 0
    code, output = verify(runner)
    assert code == 0, output
    with app.app_context():
        sizes = list(
            db.session.scalars(sa.select(TransparencyCheckpoint.size).order_by(TransparencyCheckpoint.id))
        )
        assert len(sizes) >= 4 and sizes == sorted(sizes) and sizes[-1] == log.size()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(LicenseEvent)) == log.size()


# --- the leaf check's fast path -------------------------------------------------------------
# ``verify`` matches a leaf in log.encode's exact shape with one regular expression and
# parses only the others. Each leaf below is put in the log with the whole tree re-hashed
# around it (no checkpoint signed), so nothing but the leaf-to-row check can catch it.


def put_leaf(app, index: int, leaf: bytes) -> None:
    with app.app_context():
        db.session.execute(sa.update(leaves_t).where(leaves_t.c.idx == index).values(leaf=leaf))
        rows = [bytes(r) for r in db.session.scalars(sa.select(leaves_t.c.leaf).order_by(leaves_t.c.idx))]
        tree = merkle.MemoryTree()
        for row in rows:
            tree.append(row)
        db.session.execute(sa.delete(nodes_t))
        db.session.execute(
            sa.insert(nodes_t), [{"level": lv, "idx": i, "hash": h} for (lv, i), h in tree.nodes.items()]
        )
        db.session.commit()


def text_of(app, index: int) -> str:
    return leaf_bytes(app, index).decode()


def swap_field(text: str, key: str, new: str) -> str:
    """Replace the raw JSON value of top-level ``key`` (a string or an integer) by ``new``."""
    return re.sub(rf'"{key}":("[^"]*"|-?[0-9]+)', lambda m: f'"{key}":{new}', text, count=1)


def right_hash(text: str) -> str:
    return json.loads(text)["hash"]


def escaped(first: str, rest: str) -> str:
    """A JSON string whose first character is written as a \\u escape."""
    return f'"\\u{ord(first):04x}{rest}"'


WRONG = '"' + "0" * 64 + '"'


FAST_PATH_TAMPERS = {
    # The right `"hash":"…"` is in the leaf, but not as its top-level hash.
    "the right hash inside another string": lambda t: swap_field(
        swap_field(t, "reason", json.dumps(f'","hash":"{right_hash(t)}"')), "hash", WRONG),
    "the right hash in a nested object": lambda t: swap_field(
        swap_field(t, "reason", f'{{"hash":"{right_hash(t)}"}}'), "hash", WRONG),
    "the right hash first, a wrong one as a later duplicate key": lambda t: t[:-1] + ',"hash":' + WRONG + "}",
    "the hash with an escape that decodes to another hash": lambda t: swap_field(
        t, "hash", escaped("1" if right_hash(t)[0] == "0" else "0", right_hash(t)[1:])),
    "the license in other case": lambda t: swap_field(
        t, "license", json.dumps(json.loads(t)["license"].lower())),
    "the seq as a string": lambda t: swap_field(t, "seq", f'"{json.loads(t)["seq"]}"'),
    "the seq off by one": lambda t: swap_field(t, "seq", str(json.loads(t)["seq"] + 1)),
    "the seq with a leading zero": lambda t: swap_field(t, "seq", f'0{json.loads(t)["seq"]}'),
    "a raw control character in a string": lambda t: swap_field(t, "kind", '"re\x01newed"'),
    "invalid UTF-8": lambda t: t.replace('"kind":"', '"kind":"\udcff', 1),
    "not an object": lambda t: "[" + t + "]",
}


@pytest.mark.parametrize("tamper", list(FAST_PATH_TAMPERS))
def test_leaves_the_fast_path_must_not_accept_are_caught(app, history, runner, tamper):
    text = FAST_PATH_TAMPERS[tamper](text_of(app, 3))
    assert text != text_of(app, 3)
    put_leaf(app, 3, text.encode("utf-8", "surrogateescape"))
    code, output = verify(runner)
    assert code == 1, output
    assert "leaf #3 " in output and ("does not" in output or "is not" in output), output


FAST_PATH_EQUIVALENTS = {
    # Not log.encode's bytes, but JSON naming the same row: the parser's verdict (accepted),
    # reached without the fast path.
    "the license written with an escape": lambda t: swap_field(
        t, "license", escaped(json.loads(t)["license"][0], json.loads(t)["license"][1:])),
    "the hash written with an escape": lambda t: swap_field(
        t, "hash", escaped(right_hash(t)[0], right_hash(t)[1:])),
    "whitespace between the fields": lambda t: t.replace(",", ", "),
    "the keys in another order": lambda t: json.dumps(
        dict(reversed(json.loads(t).items())), ensure_ascii=False),
}


@pytest.mark.parametrize("case", list(FAST_PATH_EQUIVALENTS))
def test_leaves_off_the_fast_path_still_get_the_parsers_verdict(app, history, runner, case):
    text = FAST_PATH_EQUIVALENTS[case](text_of(app, 3))
    assert text != text_of(app, 3) and json.loads(text) == json.loads(text_of(app, 3))
    put_leaf(app, 3, text.encode())
    code, output = verify(runner)
    assert code == 0, output


def test_the_fast_path_never_accepts_what_the_parser_refuses(app, history):
    """Every single-byte change, deletion and insertion near the fields the check reads:
    wherever the fast path says yes, the parser says yes too."""
    with app.app_context():
        leaf = leaf_bytes(app, 2)
        row = db.session.get(TransparencyLeaf, 2)
        event = db.session.scalar(sa.select(LicenseEvent).where(
            LicenseEvent.license_id == row.license_id, LicenseEvent.seq == row.event_seq))
        code = event.license.code
    assert _leaf_matches(leaf, code, event.seq, event.hash)
    assert _leaf_problem(leaf, code, event.seq, row.license_id, event.hash) is None
    interesting = [leaf.index(k) for k in (b'"hash"', b'"license"', b'"seq"', b'"reason"')]
    positions = sorted({p for start in interesting for p in range(max(0, start - 2), start + 14)}
                       | {0, 1, len(leaf) - 2, len(leaf) - 1})
    fast = 0
    for p in positions:
        for byte in (b'"', b"\\", b",", b"}", b"{", b"0", b"a", b"\x00", b" ", b"\xff", b"-", b"."):
            before, after = leaf[:p], leaf[p + 1:]
            for variant in (before + byte + after, before + after, before + byte + leaf[p:]):
                if _leaf_matches(variant, code, event.seq, event.hash):
                    fast += 1
                    problem = _leaf_problem(variant, code, event.seq, row.license_id, event.hash)
                    assert problem is None, variant
    assert fast  # some variants (inside other strings) still match, and are fine
