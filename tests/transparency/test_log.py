"""The transparency log in the database: every history row is a leaf, the stored nodes
are the tree's, proofs and checkpoints served over HTTP check out with only the published
key, checkpoints are re-signed as the log grows, and the migration fills the log."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import timedelta

import flask_migrate
import pytest
import rfc8785
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.db import clock, utcnow
from portal.extensions import db
from portal.licenses import services
from portal.models import License, LicenseEvent, User
from portal.models.transparency import TransparencyCheckpoint, TransparencyLeaf, TransparencyNode
from portal.transparency import check, log, merkle

LEAF_KEYS = {
    "format",
    "license",
    "specialization",
    "seq",
    "kind",
    "level",
    "status",
    "reason",
    "expires_at",
    "at",
    "prev_hash",
    "hash",
    "holder",
}


def b64d(text: str) -> bytes:
    return base64.b64decode(text)


def some_history(app, signed_license, make_user):
    """Licenses in several states: issued, suspended, revoked, renewed, reinstated."""
    made = [
        signed_license(holder_name="Ilona Kovács", level=2, validity_months=12),
        signed_license(holder_name="Zoë Ångström", status="suspended"),
        signed_license(holder_name="Rosa Díaz", status="revoked"),
    ]
    with app.app_context():
        admin = db.session.get(User, make_user("admin", name="Ada Admin").id)
        lic = db.session.get(License, made[1].id)
        services.reinstate(lic, admin, "back")
        services.renew(db.session.get(License, made[0].id), admin)
        db.session.commit()
    return made


def stored_tree(app) -> tuple[list[bytes], dict]:
    with app.app_context():
        leaves = [
            bytes(r.leaf)
            for r in db.session.scalars(sa.select(TransparencyLeaf).order_by(TransparencyLeaf.idx))
        ]
        nodes = {(n.level, n.idx): bytes(n.hash) for n in db.session.scalars(sa.select(TransparencyNode))}
    return leaves, nodes


def test_every_history_row_is_one_leaf_with_its_public_content_only(app, signed_license, make_user):
    some_history(app, signed_license, make_user)
    with app.app_context():
        events = db.session.scalars(sa.select(LicenseEvent).order_by(LicenseEvent.id)).all()
        leaves = db.session.scalars(sa.select(TransparencyLeaf).order_by(TransparencyLeaf.idx)).all()
        assert [leaf.idx for leaf in leaves] == list(range(len(events)))
        assert [(leaf.license_id, leaf.event_seq) for leaf in leaves] == [
            (e.license_id, e.seq) for e in events
        ]
        for event, row in zip(events, leaves, strict=True):
            content = json.loads(row.leaf)
            assert set(content) == LEAF_KEYS
            assert rfc8785.dumps(content) == bytes(row.leaf)  # RFC 8785 canonical bytes
            lic = db.session.get(License, event.license_id)
            assert (
                content["license"],
                content["seq"],
                content["kind"],
                content["status"],
                content["hash"],
            ) == (lic.code, event.seq, event.kind, event.status, event.hash)
            # No name, no note, no internal id in clear; the name as a salted commitment.
            assert lic.holder.name.encode() not in row.leaf and b"back" not in row.leaf
            assert "license_id" not in content and "actor_id" not in content and "note" not in content
            digest = hashlib.sha256(bytes(row.holder_salt) + lic.holder.name.encode()).digest()
            assert content["holder"] == base64.b64encode(digest).decode()
        # A license's signed chain head is its newest leaf's "hash".
        for lic in db.session.scalars(sa.select(License)):
            newest = log.newest_leaf_of(lic.id)
            assert json.loads(newest.leaf)["hash"] == lic.head_hash


def test_the_stored_nodes_are_the_tree_and_proofs_read_them(app, signed_license, make_user):
    some_history(app, signed_license, make_user)
    leaves, nodes = stored_tree(app)
    memory = merkle.MemoryTree()
    for leaf in leaves:
        memory.append(leaf)
    assert nodes == memory.nodes  # every complete subtree stored, nothing else
    with app.app_context():
        n = log.size()
        assert n == len(leaves) >= 7
        for size in range(1, n + 1):
            assert log.root(size) == memory.root(size)
            for index in range(size):
                assert log.inclusion_proof(index, size) == memory.inclusion(index, size)
            for first in range(1, size + 1):
                assert log.consistency_proof(first, size) == memory.consistency(first, size)


def test_appends_from_many_writers_at_once_get_one_index_each(app, make_user, make_specialization):
    spec = make_specialization("PLY", "Player", max_level=3)
    holders = [make_user("student", name=f"Student {i}") for i in range(8)]
    errors = []

    def issue(holder):
        try:
            with app.app_context():
                services.issue_license(
                    db.session.get(User, holder.id), db.session.get(type(spec), spec.id), 1, None
                )
                db.session.commit()
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=issue, args=(h,)) for h in holders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with app.app_context():
        report = check.verify(db.session)
        assert report.ok, report.problems
        assert report.leaves == 8


# --- over HTTP ------------------------------------------------------------------------------


def published_key(client) -> dict:
    keys = client.get("/.well-known/portal-keys.json").get_json()
    [entry] = keys["transparency_checkpoint_keys"]
    assert entry["use"] == "checkpoint"
    return entry


def read_note(note: str, entry: dict) -> tuple[str, int, bytes]:
    """C2SP signed note, checked as the spec says, with nothing but the published key."""
    body, signatures = note.split("\n\n", 1)
    body += "\n"
    origin, size, root = body.splitlines()
    public = b64d(entry["public_key"])
    assert origin == entry["name"]
    key_hash = hashlib.sha256(origin.encode() + b"\n" + b"\x01" + public).digest()[:4]
    assert entry["key_hash"] == key_hash.hex()
    line = signatures.splitlines()[0]
    assert line.startswith(f"\u2014 {origin} ")
    raw = b64d(line.rsplit(" ", 1)[1])
    assert raw[:4] == key_hash and len(raw) == 68
    Ed25519PublicKey.from_public_bytes(public).verify(raw[4:], body.encode())
    return origin, int(size), b64d(root)


def test_the_checkpoint_is_a_signed_note_by_the_published_key(app, client, signed_license, make_user):
    some_history(app, signed_license, make_user)
    response = client.get("/transparency/checkpoint")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    origin, size, root = read_note(response.get_data(as_text=True), published_key(client))
    assert origin == "portal.test/transparency"
    with app.app_context():
        assert size == log.size() and root == log.root(size)


def test_proofs_and_leaves_over_http(app, client, signed_license, make_user):
    some_history(app, signed_license, make_user)
    _, size, root = read_note(
        client.get("/transparency/checkpoint").get_data(as_text=True), published_key(client)
    )
    leaves = client.get(f"/transparency/leaves?start=0&end={size}").get_json()
    assert set(leaves) == {"start", "end", "leaves"} and (leaves["start"], leaves["end"]) == (0, size)
    data = [b64d(x) for x in leaves["leaves"]]
    assert len(data) == size
    for index in range(size):
        proof = client.get(f"/transparency/proof/inclusion?index={index}&size={size}").get_json()
        assert proof.keys() == {"index", "size", "hashes"} and (proof["index"], proof["size"]) == (
            index,
            size,
        )
        hashes = [b64d(h) for h in proof["hashes"]]
        assert merkle.verify_inclusion(index, size, merkle.leaf_hash(data[index]), hashes, root)
    memory = merkle.MemoryTree()
    for leaf in data:
        memory.append(leaf)
    for first in range(1, size + 1):
        proof = client.get(f"/transparency/proof/consistency?from={first}&to={size}").get_json()
        assert proof.keys() == {"from", "to", "hashes"} and (proof["from"], proof["to"]) == (first, size)
        assert merkle.verify_consistency(
            first, size, memory.root(first), root, [b64d(h) for h in proof["hashes"]]
        )


def test_bad_parameters_get_a_clear_400(app, client, signed_license):
    assert client.get("/transparency/leaves?start=0&end=1").status_code == 400  # an empty log
    for _ in range(3):
        signed_license()
    cases = {
        "/transparency/proof/inclusion?size=3": "index",
        "/transparency/proof/inclusion?index=0": "size",
        "/transparency/proof/inclusion?index=x&size=3": "index",
        "/transparency/proof/inclusion?index=-1&size=3": "index",
        "/transparency/proof/inclusion?index=3&size=3": "index",
        "/transparency/proof/inclusion?index=0&size=4": "size",
        "/transparency/proof/inclusion?index=0&size=0": "size",
        "/transparency/proof/inclusion?index=0&size=" + "9" * 40: "size",
        "/transparency/proof/consistency?from=0&to=3": "from",
        "/transparency/proof/consistency?from=3&to=2": "from",
        "/transparency/proof/consistency?from=1&to=9": "to",
        "/transparency/proof/consistency?from=1": "to",
        "/transparency/leaves?start=0&end=0": "end",
        "/transparency/leaves?start=3&end=4": "start",
        "/transparency/leaves?start=0": "end",
        "/transparency/leaves?start=0&end=1001": "end",
    }
    for url, parameter in cases.items():
        response = client.get(url)
        assert response.status_code == 400, url
        body = response.get_json()
        assert body["parameter"] == parameter and parameter in body["message"], (url, body)
    assert client.get("/transparency/leaves?start=1&end=3").get_json()["end"] == 3


def test_verification_carries_the_newest_row_with_its_proof(app, client, signed_license, make_user):
    made = some_history(app, signed_license, make_user)
    doc = client.get(f"/verify/{made[1].code}.json").get_json()
    entry = doc["transparency"]
    with app.app_context():
        newest = log.newest_leaf_of(made[1].id)
    assert entry["leaf_index"] == newest.idx and entry["tree_size"] >= newest.idx + 1
    _, size, root = read_note(entry["checkpoint"], published_key(client))
    assert size == entry["tree_size"]
    leaf = b64d(entry["leaf"])
    assert leaf == bytes(newest.leaf) and json.loads(leaf)["hash"] == doc["signed"]["chain_head"]
    assert merkle.verify_inclusion(
        entry["leaf_index"], size, merkle.leaf_hash(leaf), [b64d(h) for h in entry["inclusion_proof"]], root
    )
    html = client.get(f"/verify/{made[1].code}").get_data(as_text=True)
    assert f"Recorded in the public log (entry {newest.idx + 1} of {size})" in html


def test_checkpoints_are_re_signed_as_the_log_grows_but_not_on_every_request(app, client, signed_license):
    signed_license()
    first = read_note(client.get("/transparency/checkpoint").get_data(as_text=True), published_key(client))
    newer = signed_license()
    # Within the period the same checkpoint is served, though the log grew...
    assert (
        read_note(client.get("/transparency/checkpoint").get_data(as_text=True), published_key(client))[1]
        == first[1]
    )
    # ...but a proof for the newer leaf is always served against a checkpoint that holds it.
    entry = client.get(f"/verify/{newer.code}.json").get_json()["transparency"]
    assert entry["tree_size"] == entry["leaf_index"] + 1 > first[1]
    signed_license()
    later = utcnow() + timedelta(seconds=app.config["TRANSPARENCY_CHECKPOINT_SECONDS"] + 1)
    with clock(lambda: later):
        grown = read_note(
            client.get("/transparency/checkpoint").get_data(as_text=True), published_key(client)
        )
    assert grown[1] == entry["tree_size"] + 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TransparencyCheckpoint)) == 3


def test_the_migration_fills_the_log_of_an_existing_database(app, signed_license, make_user, runner):
    some_history(app, signed_license, make_user)
    leaves_before, _ = stored_tree(app)
    with app.app_context():
        flask_migrate.downgrade(revision="-1")  # to before this log existed
        db.session.remove()
        flask_migrate.upgrade()
        db.session.remove()
        report = check.verify(db.session)
        assert report.ok, report.problems
    leaves_after, _ = stored_tree(app)
    # The same rows, in the order they happened (fresh salts, so other commitments).
    strip = [{k: v for k, v in json.loads(x).items() if k != "holder"} for x in leaves_before]
    assert [{k: v for k, v in json.loads(x).items() if k != "holder"} for x in leaves_after] == strip
    assert runner.invoke(args=["transparency", "verify"]).exit_code == 0


def test_backfill_gives_the_tree_appends_give_from_any_size_on(app, signed_license):
    """The bulk fill builds each level from the one below, joined to the old tree's left
    edge: after every batch the stored nodes are exactly the appended tree's, whatever
    the sizes (odd, even, powers of two)."""
    made = signed_license()
    events = LicenseEvent.__table__
    seq = 100
    for added in (1, 2, 3, 5, 8, 13, 1, 31):
        with app.app_context():
            start = log.size()
            now = utcnow()
            db.session.execute(sa.insert(events), [
                {"license_id": made.id, "seq": seq + i, "kind": "renewed", "level": 1, "status": "active",
                 "reason": 'a "quoted" reason\\ with ünïcode\n', "at": now + timedelta(seconds=i),
                 "prev_hash": "0" * 64, "hash": hashlib.sha256(str(seq + i).encode()).hexdigest()}
                for i in range(added)
            ])
            assert log.backfill(db.session, batch=4) == added
            db.session.commit()
            assert log.size() == start + added
        seq += added
        leaves, nodes = stored_tree(app)
        tree = merkle.MemoryTree()
        for leaf in leaves:
            tree.append(leaf)
        assert nodes == tree.nodes, f"after {start} + {added} leaves"
        assert [json.loads(x)["seq"] for x in leaves[start:]] == list(range(seq - added, seq))
    with app.app_context():
        assert check.verify(db.session).ok


TRICKY = ['plain', '', 'quote " and backslash \\ and slash /', 'controls \x00\x01\x08\t\n\x0b\x0c\r\x1f\x7f',
          'ünïcödé Zoë Ångström Kovács', 'line sep \u2028 para sep \u2029', 'emoji 🎉 astral 𝄞',
          'bom \ufeff nbsp \xa0', '\\u0041 looks escaped', '</script>']


def test_the_fast_encoder_writes_exactly_rfc8785(app):
    def content(text, number, nothing=None):
        return {"format": log.FORMAT, "license": text, "seq": number, "reason": nothing, "z": text[::-1],
                "A": number, "_": "x"}

    for text in TRICKY:
        for number in (0, 1, -1, 2**53 - 1, -(2**53) + 1):
            assert log.encode(content(text, number)) == rfc8785.dumps(content(text, number))

    @settings(max_examples=150, deadline=None)
    @given(st.text(), st.integers(-(2**53) + 1, 2**53 - 1), st.none() | st.text())
    def same(text, number, other):
        try:
            expected = rfc8785.dumps(content(text, number, other))
        except Exception:  # noqa: BLE001 - a lone surrogate: both must refuse
            try:
                log.encode(content(text, number, other))
            except Exception:  # noqa: BLE001
                return
            raise AssertionError("the fast encoder took what RFC 8785 refuses") from None
        assert log.encode(content(text, number, other)) == expected

    same()
    # Outside the fast path's shape, rfc8785 itself answers.
    with pytest.raises(rfc8785.IntegerDomainError):
        log.encode({"n": 2**60})
    assert log.encode({"f": 1.5, "b": True}) == rfc8785.dumps({"f": 1.5, "b": True})
