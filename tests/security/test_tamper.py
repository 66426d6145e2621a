"""Tamper evidence: audit events and license history rows edited straight in the
database (changed, deleted, inserted, reordered, the tail cut off) are caught by
`audit verify`, `licenses verify`, the integrity page and the public verification
page, which name the first bad entry."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.audit import chain
from portal.extensions import db
from portal.licenses import services
from portal.models.audit import AuditEvent
from portal.models.license import License, LicenseEvent
from portal.models.user import Role, User
from tests.support.audit import tamper
from tests.support.http import login


def test_postgresql_refuses_plain_rewrites_of_the_trail(app, trail):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("the append-only trigger exists on PostgreSQL only")
        for statement in ("UPDATE audit_events SET action = 'x' WHERE seq = 1",
                          "DELETE FROM audit_events WHERE seq = 1"):
            with pytest.raises(sa.exc.ProgrammingError, match="append-only"), db.engine.begin() as conn:
                conn.execute(sa.text(statement))


@pytest.fixture
def trail(app, make_user):
    """An audit trail of some length: accounts, logins and failed logins."""
    admin = make_user(Role.ADMIN)
    client = app.test_client()
    for _ in range(3):
        client.post("/auth/login", data={"email": admin.email, "password": "not the password"})
    login(client, admin)
    for _ in range(3):
        make_user(Role.STUDENT)
    with app.app_context():
        count = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    assert count >= 8
    return admin, client, count


def audit_verify(runner, *args):
    result = runner.invoke(args=["audit", "verify", *args])
    return result.exit_code, result.output


def integrity_page_text(client) -> str:
    """Run the full check from the integrity page (as an admin) and read its result."""
    response = client.post("/audit/integrity/check")
    assert response.status_code in (302, 303)
    page = client.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    summary = client.get("/audit/integrity").get_data(as_text=True)
    return text + summary


def test_intact_trail_verifies(trail, runner):
    code, output = audit_verify(runner)
    assert code == 0 and "intact" in output


def test_changed_event_is_named(app, trail, runner):
    admin, client, _ = trail
    tamper(app, "UPDATE audit_events SET action = 'auth.login' WHERE seq = 3")
    code, output = audit_verify(runner)
    assert code == 1
    assert "#3" in output and "changed" in output
    text = integrity_page_text(client)
    assert re.search(r"#\s*3\b", text), text[:3000]


def test_changed_details_are_named(app, trail, runner):
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 2))
        event_id = event.id
    # Rewrite the JSON through the ORM-free path, as a DBA would.
    tamper(app, "UPDATE audit_events SET ip = '10.9.9.9' WHERE id = :id", id=event_id)
    code, output = audit_verify(runner)
    assert code == 1 and "#2" in output


def test_deleted_event_is_named(app, trail, runner):
    tamper(app, "DELETE FROM audit_events WHERE seq = 4")
    code, output = audit_verify(runner)
    assert code == 1
    assert "#5" in output and "missing" in output


def test_inserted_event_is_detected(app, trail, runner):
    """A forged event slipped in at #4, with a correct hash of its own: #5 no longer links."""

    tamper(app, "UPDATE audit_events SET seq = seq + 100000 WHERE seq >= 4")
    tamper(app, "UPDATE audit_events SET seq = seq - 99999 WHERE seq >= 100000")
    with app.app_context():
        prev = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.seq == 3))
        forged = AuditEvent(at=prev.at, actor_id=None, actor_label="intruder@example.org",
                            action="user.role_changed", resource_type="user", resource_id="1",
                            details={"after": "admin"}, outcome="success", seq=4, prev_hash=prev.hash)
        forged.hash = chain.compute_hash(forged)
        db.session.add(forged)
        db.session.commit()
    code, output = audit_verify(runner)
    assert code == 1
    assert "#5" in output


def test_reordered_events_are_detected(app, trail, runner):
    tamper(app, "UPDATE audit_events SET seq = -1 WHERE seq = 3")
    tamper(app, "UPDATE audit_events SET seq = 3 WHERE seq = 4")
    tamper(app, "UPDATE audit_events SET seq = 4 WHERE seq = -1")
    code, output = audit_verify(runner)
    assert code == 1 and "#3" in output


def test_truncated_tail_is_detected_against_a_checkpoint(app, trail, runner, tmp_path):
    _, _, count = trail
    checkpoint = tmp_path / "checkpoint.json"
    made = runner.invoke(args=["audit", "checkpoint", "--output", str(checkpoint)])
    assert made.exit_code == 0, made.output
    seq = int(re.search(r"checkpoint #(\d+)", made.output).group(1))
    assert seq >= count
    code, output = audit_verify(runner, "--checkpoint", str(checkpoint))
    assert code == 0, output
    # Cut the last three events off the end: the chain alone still looks whole ...
    tamper(app, "DELETE FROM audit_events WHERE seq > :keep", keep=seq - 3)
    code, output = audit_verify(runner)
    assert code == 0
    # ... but not against the checkpoint taken before.
    code, output = audit_verify(runner, "--checkpoint", str(checkpoint))
    assert code == 1
    assert "cut off" in output and f"#{seq}" in output


def test_forged_checkpoint_is_refused(app, trail, runner, tmp_path):
    checkpoint = tmp_path / "checkpoint.json"
    assert runner.invoke(args=["audit", "checkpoint", "--output", str(checkpoint)]).exit_code == 0
    text = checkpoint.read_text()
    forged = re.sub(r'"seq": ?(\d+)', lambda m: f'"seq": {int(m.group(1)) - 2}', text, count=1)
    assert forged != text
    checkpoint.write_text(forged)
    result = runner.invoke(args=["audit", "verify", "--checkpoint", str(checkpoint)])
    assert result.exit_code != 0
    assert "signature" in result.output.lower()


# --- license history ---------------------------------------------------------------------


@pytest.fixture
def upgraded_license(app, make_user, make_specialization, make_license):
    """A license with three history rows: issued, renewed, suspended."""

    admin = make_user(Role.ADMIN)
    holder = make_user(Role.STUDENT)
    license = make_license(holder, make_specialization(max_level=3), actor=admin)
    with app.app_context():
        lic = db.session.get(License, license.id)
        actor = db.session.get(User, admin.id)
        services.renew(lic, actor, "Renewed with a note")
        services.suspend(lic, actor, "Paperwork missing")
        db.session.commit()
        rows = db.session.scalar(sa.select(sa.func.count()).where(LicenseEvent.license_id == lic.id))
        return lic.code, lic.id, rows


def licenses_verify(runner, code):
    result = runner.invoke(args=["licenses", "verify", code])
    return result.exit_code, result.output


def public_verdict(client, code) -> str:
    return client.get(f"/verify/{code}").get_data(as_text=True)


def test_intact_license_verifies(app, upgraded_license, runner, client):
    code, _, rows = upgraded_license
    assert rows == 3
    exit_code, output = licenses_verify(runner, code)
    assert exit_code == 0 and "intact" in output
    assert client.get(f"/verify/{code}.json").get_json()["valid"] is False  # suspended, but genuine
    assert "failed its integrity check" not in public_verdict(client, code)


@pytest.mark.parametrize(
    "statement, named",
    [
        ("UPDATE license_events SET level = 5 WHERE license_id = :id AND seq = 1", "row #1"),
        ("DELETE FROM license_events WHERE license_id = :id AND seq = 1", "row 1"),
        ("UPDATE license_events SET note = 'rewritten' WHERE license_id = :id AND seq = 2", "row #2"),
        ("UPDATE licenses SET level = 3 WHERE id = :id", "signature"),
    ],
    ids=["changed", "deleted", "changed-note", "license-row-changed"],
)
def test_tampered_license_history(app, upgraded_license, runner, client, statement, named):
    code, license_id, _ = upgraded_license
    tamper(app, statement, id=license_id)
    exit_code, output = licenses_verify(runner, code)
    assert exit_code == 1
    assert named in output, output
    page = public_verdict(client, code)
    assert "failed its integrity check" in page
    answer = client.get(f"/verify/{code}.json").get_json()
    assert answer["valid"] is False


def test_reordered_license_history(app, upgraded_license, runner, client):
    code, license_id, rows = upgraded_license
    tamper(app, "UPDATE license_events SET seq = -1 WHERE license_id = :id AND seq = 1", id=license_id)
    tamper(app, "UPDATE license_events SET seq = 1 WHERE license_id = :id AND seq = 2", id=license_id)
    tamper(app, "UPDATE license_events SET seq = 2 WHERE license_id = :id AND seq = -1", id=license_id)
    exit_code, output = licenses_verify(runner, code)
    assert exit_code == 1 and "row #1" in output
    assert "failed its integrity check" in public_verdict(client, code)


def test_inserted_license_history_row(app, upgraded_license, runner, client):
    code, license_id, rows = upgraded_license
    with app.app_context():
        last = db.session.scalar(sa.select(LicenseEvent).where(
            LicenseEvent.license_id == license_id).order_by(LicenseEvent.seq.desc()).limit(1))
        forged = LicenseEvent(license_id=license_id, seq=last.seq + 1, kind="reinstated", level=last.level,
                              status="active", expires_at=last.expires_at, actor_id=None, at=last.at,
                              note=None, reason=None, prev_hash=last.hash, hash="f" * 64)
        db.session.add(forged)
        db.session.commit()
    exit_code, output = licenses_verify(runner, code)
    assert exit_code == 1 and f"row #{rows + 1}" in output
    assert "failed its integrity check" in public_verdict(client, code)
    # The certificate of a tampered license is not produced.
    with app.app_context():
        holder_id = db.session.get(License, license_id).holder_id

    with app.app_context():
        holder = db.session.get(User, holder_id)
        email = holder.email
    holder_client = app.test_client()
    holder_client.post("/auth/login", data={"email": email, "password": "correct horse battery"})
    response = holder_client.get(f"/licenses/{license_id}/certificate.pdf")
    assert response.status_code == 503
