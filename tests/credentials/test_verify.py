"""`/verify/credential` and `flask credentials verify`: plain verdicts for each case, never
a 500, never a network connection."""
from __future__ import annotations

import io
import json
import socket
from datetime import timedelta

import pytest

from portal import signing
from portal.db import clock, utcnow
from portal.extensions import db
from portal.licenses import services
from portal.models import License
from tests.credentials.test_credentials import credential_of
from tests.support.http import login


@pytest.fixture
def no_network(monkeypatch):
    """Fail the test if anything tries to open a connection."""
    attempts = []

    def refuse(self, address, *args, **kwargs):
        attempts.append(address)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", lambda address, *a, **k: refuse(None, address))
    monkeypatch.setattr(socket, "getaddrinfo", lambda host, *a, **k: refuse(None, host))
    return attempts


def check(client, text: str | None = None, *, file: bytes | None = None):
    data = {"credential": text or ""}
    if file is not None:
        data["file"] = (io.BytesIO(file), "credential.json")
    return client.post("/verify/credential", data=data, content_type="multipart/form-data")


def altered(credential: dict, change) -> str:
    copy = json.loads(json.dumps(credential))
    change(copy)
    return json.dumps(copy)


def test_the_form_is_there(client):
    page = client.get("/verify/credential")
    assert page.status_code == 200 and 'name="credential"' in page.text and 'type="file"' in page.text


def test_verdicts(app, client, signed_license, no_network):
    license = signed_license(validity_months=12)
    credential = credential_of(client, license)
    text = json.dumps(credential)

    valid = check(client, text)
    assert valid.status_code == 200 and "Valid." in valid.text

    later = utcnow() + timedelta(days=400)
    with clock(lambda: later):
        assert "Not valid: expired on" in check(client, text).text

    foreign = altered(credential, lambda c: c["issuer"].update(id="did:web:elsewhere.example"))
    assert "Not issued by this academy" in check(client, foreign).text

    name = altered(credential, lambda c: c["credentialSubject"]["achievement"].update(name="Coach — level 8"))
    assert "Not valid: altered" in check(client, name).text

    unknown = altered(credential, lambda c: c["proof"].update(verificationMethod="did:web:portal.test#nope"))
    assert "unknown key id" in check(client, unknown).text

    injected = altered(credential, lambda c: c["@context"].append({"name": "https://evil.example/name"}))
    answer = check(client, injected)
    assert answer.status_code == 422 and "JSON-LD context" in answer.text
    remote = altered(credential, lambda c: c["@context"].append("https://evil.example/context.json"))
    assert "JSON-LD context" in check(client, remote).text
    nested = altered(credential, lambda c: c["credentialSubject"].update({"@context": {"x": "https://e.example/"}}))
    assert "JSON-LD context" in check(client, nested).text

    big = check(client, text + " " * (64 * 1024))
    assert big.status_code == 413 and "64 KB" in big.text

    for garbage in ("not json", "[1, 2]", '{"@context": 5}', "a.b.c", "{" * 5000):
        answer = check(client, garbage)
        assert answer.status_code == 422, garbage

    uploaded = check(client, file=text.encode())
    assert "Valid." in uploaded.text

    with app.app_context():
        services.suspend(db.session.get(License, license.id), None, "Under review")
        db.session.commit()
    assert "Not valid: suspended" in check(client, text).text
    with app.app_context():
        services.reinstate(db.session.get(License, license.id), None)
        services.revoke(db.session.get(License, license.id), None, "fraud", "Forged papers")
        db.session.commit()
    assert "Not valid: revoked on" in check(client, text).text
    assert no_network == []


def test_a_jwt_is_checked_too(client, signed_license, holder_of):
    license = signed_license()
    login(client, holder_of(license))
    token = client.get(f"/licenses/{license.id}/credential.jwt").text
    assert "Valid." in check(client, token).text
    head, body, sig = token.split(".")
    payload = json.loads(signing.unb64url(body))
    payload["name"] = "Coach — level 8"
    forged = f"{head}.{signing.b64url(json.dumps(payload).encode())}.{sig}"
    assert "Not valid: altered" in check(client, forged).text


def test_an_empty_form_says_what_to_do(client):
    answer = check(client, "  ")
    assert answer.status_code == 422 and "Paste a credential" in answer.text


def test_offline_cli_with_only_the_published_files(app, client, runner, signed_license, published, tmp_path):
    license = signed_license()
    credential = credential_of(client, license)
    (tmp_path / "credential.json").write_text(json.dumps(credential))

    def run():
        did, lists = published()
        (tmp_path / "did.json").write_text(json.dumps(did))
        args = ["credentials", "verify", str(tmp_path / "credential.json"),
                "--did", str(tmp_path / "did.json")]
        for n, doc in enumerate(lists.values()):
            (tmp_path / f"status{n}.json").write_text(json.dumps(doc))
            args += ["--status", str(tmp_path / f"status{n}.json")]
        return runner.invoke(args=args)

    result = run()
    assert result.exit_code == 0, result.output
    assert result.output.startswith("valid: Valid.")
    with app.app_context():
        services.revoke(db.session.get(License, license.id), None, "fraud", "Forged papers")
        db.session.commit()
    result = run()
    assert result.exit_code == 1 and result.output.startswith("revoked: Not valid: revoked.")
    (tmp_path / "credential.json").write_text(altered(credential, lambda c: c.update(name="Other")))
    result = run()
    assert result.exit_code == 1 and result.output.startswith("altered:")
