"""Certificate PDFs and QR codes: content, the restricted fetcher, the cache, access."""
from __future__ import annotations

import io
import shutil
import socket
import sqlite3
import subprocess
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa
import zxingcpp
from jinja2 import ChoiceLoader, DictLoader
from PIL import Image
from weasyprint import HTML

from portal.credentials import status as credential_status
from portal.extensions import db
from portal.licenses import certificates, qr, services
from portal.models import Credential, License, LicenseEvent, User
from portal.models.klass import ClassMembership, Klass
from portal.models.user import Role
from tests.support.documents import pdf_text
from tests.support.factories.classes import assigned_row
from tests.support.factories.licenses import change
from tests.support.http import login
from tests.support.queries import of_request

needs_pdftoppm = pytest.mark.skipif(
    shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed"
)


def cache_files(app) -> list[Path]:
    folder = Path(app.config["CERTIFICATE_CACHE_DIR"])
    return sorted(folder.glob("*.pdf")) if folder.exists() else []


def decode_qr_codes(pdf: bytes, tmp_path: Path) -> list[str]:
    """Rasterise the PDF's first page and decode every QR code on it."""
    source = tmp_path / "doc.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-png", "-singlefile", str(source), str(tmp_path / "page")],
        check=True, timeout=60,
    )
    with Image.open(tmp_path / "page.png") as image:
        return [result.text for result in zxingcpp.read_barcodes(image)]


# --- content --------------------------------------------------------------------------


def test_holder_downloads_a_certificate_with_everything_on_it(app, client, signed_license, audit_events):
    license = signed_license(holder_name="Amelia Nakamura", level=3)
    with app.app_context():
        holder = db.session.get(User, license.holder_id)
        holder.password = "correct horse battery"
    login(client, holder)

    response = client.get(f"/licenses/{license.id}/certificate.pdf")

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert f"license-{license.code}.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["ETag"]
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    width, height = float(reader.pages[0].mediabox.width), float(reader.pages[0].mediabox.height)
    assert (round(width), round(height)) == (842, 595)  # A4 landscape, in points
    text = pdf_text(response.data)
    for expected in ("Amelia Nakamura", license.code, "Level 3", "Active", "Player",
                     license.key_id, license.signature, license.head_hash):
        assert expected in text
    assert "NOT VALID" not in text
    [event] = audit_events("license.certificate_downloaded")
    assert event.actor_id == holder.id
    assert (event.resource_type, event.resource_id) == ("license", str(license.id))
    assert event.details["code"] == license.code and event.details["cached"] is False


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("suspended", ["NOT VALID", "Suspended", "suspended since"]),
        ("revoked", ["NOT VALID", "Revoked", "revoked on", "reason: Other"]),
        ("expired", ["NOT VALID", "Expired", "expired on"]),
    ],
)
def test_a_license_that_is_not_active_is_marked_not_valid(app, client, login_as, signed_license,
                                                          status, words):
    license = signed_license(status=status, validity_months=12 if status == "expired" else None)
    login_as(Role.ADMIN)

    text = pdf_text(client.get(f"/licenses/{license.id}/certificate.pdf").data)

    for word in words:
        assert word in text
    assert license.code in text


@pytest.mark.slow
@needs_pdftoppm
def test_the_qr_code_on_the_certificate_decodes_to_the_signed_verification_link(
        app, client, login_as, signed_license, tmp_path):
    license = signed_license()
    login_as(Role.ADMIN)

    decoded = decode_qr_codes(client.get(f"/licenses/{license.id}/certificate.pdf").data, tmp_path)

    assert decoded == [
        f"http://portal.test/verify/{license.code}?kid={license.key_id}&sig={license.signature}"
    ]


@pytest.mark.slow
@needs_pdftoppm
def test_the_qr_svg_is_a_vector_with_a_quiet_zone_that_decodes_to_the_link(
        app, client, login_as, signed_license, tmp_path):
    license = signed_license()
    login_as(Role.ADMIN)

    response = client.get(f"/licenses/{license.id}/qr.svg")

    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert "<svg" in svg and "<path" in svg and "<image" not in svg
    assert f"http://portal.test/verify/{license.code}" in svg  # described for screen readers
    with app.app_context():
        attached = db.session.get(License, license.id)
        size = qr.make(attached).symbol_size(border=0)[0]
        assert f'viewBox="0 0 {(size + 2 * qr.QUIET_ZONE) * 4} ' in svg or (
            f'width="{(size + 2 * qr.QUIET_ZONE) * 4}"' in svg
        )
    # Print the served SVG and scan it back.
    page = HTML(string=f"<html><body><div style='width:60mm'>{svg.split('?>', 1)[-1]}</div></body></html>")
    decoded = decode_qr_codes(page.write_pdf(), tmp_path)
    assert decoded == [
        f"http://portal.test/verify/{license.code}?kid={license.key_id}&sig={license.signature}"
    ]


# --- the restricted fetcher --------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x.png",
        "https://example.com/logo.png",
        "file:///etc/passwd",
        "file://evil.example/etc/passwd",
        "ftp://example.com/x",
        "data:text/plain,hello",
    ],
)
def test_the_fetcher_refuses_anything_but_static_files(app, url):
    with app.app_context():
        fetcher = certificates.fetcher()
    with pytest.raises(certificates.ForbiddenResource):
        fetcher.fetch(url)


def test_the_fetcher_refuses_to_climb_out_of_static(app):
    with app.app_context():
        fetcher = certificates.fetcher()
        static = Path(app.static_folder)
    outside = static / ".." / "portal" / "__init__.py"
    assert outside.exists()
    with pytest.raises(certificates.ForbiddenResource):
        fetcher.fetch(outside.as_uri().replace("/portal/", "/static/../portal/"))
    with pytest.raises(certificates.ForbiddenResource):
        fetcher.fetch(f"file://{static}/pdf/%2e%2e/%2e%2e/portal/__init__.py")
    with pytest.raises(certificates.ForbiddenResource):
        fetcher.fetch(f"file://{static}/pdf/no-such-file.css")


def test_the_fetcher_serves_the_portals_static_files(app):
    with app.app_context():
        fetcher = certificates.fetcher()
        static = Path(app.static_folder)
    response = fetcher.fetch((static / "pdf" / "certificate.css").as_uri())
    assert response.content_type == "text/css"
    assert b"@page" in response.read()


class Listener:
    """A TCP port that records whether anything connected to it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.sock.settimeout(0.3)
        self.port = self.sock.getsockname()[1]

    def connected(self) -> bool:
        try:
            conn, _ = self.sock.accept()
        except TimeoutError:
            return False
        conn.close()
        return True

    def close(self):
        self.sock.close()


def test_markup_in_a_holders_name_is_printed_not_fetched(app, client, login_as, signed_license):
    listener = Listener()
    try:
        name = (f'<img src="http://127.0.0.1:{listener.port}/x"><img src="file:///etc/passwd">'
                f'<link rel="stylesheet" href="http://127.0.0.1:{listener.port}/s.css">')
        license = signed_license(holder_name=name[:120])
        login_as(Role.ADMIN)

        response = client.get(f"/licenses/{license.id}/certificate.pdf")

        assert response.status_code == 200
        assert f'<img src="http://127.0.0.1:{listener.port}/x">' in pdf_text(response.data).replace("\n", "")
        assert not listener.connected()
    finally:
        listener.close()


def test_a_template_that_asks_for_an_outside_resource_fails_and_caches_nothing(
        app, client, login_as, signed_license, audit_events):
    listener = Listener()
    try:
        app.jinja_env.loader = ChoiceLoader([
            DictLoader({certificates.TEMPLATE: (
                f'<html><body><h1>{{{{ fields.code }}}}</h1>'
                f'<img src="http://127.0.0.1:{listener.port}/logo.png"></body></html>'
            )}),
            app.jinja_env.loader,
        ])
        license = signed_license()
        login_as(Role.ADMIN)

        response = client.get(f"/licenses/{license.id}/certificate.pdf")

        assert response.status_code == 503
        assert response.mimetype == "text/html"
        assert "could not be produced" in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)
        assert not listener.connected()
        assert cache_files(app) == []
        assert audit_events("license.certificate_downloaded") == []
    finally:
        listener.close()


# --- the cache ----------------------------------------------------------------------------


def test_a_certificate_is_rendered_once_per_license_state(app, client, login_as, signed_license,
                                                          audit_events):
    license = signed_license()
    admin = login_as(Role.ADMIN)

    first = client.get(f"/licenses/{license.id}/certificate.pdf")
    [cached_file] = cache_files(app)
    assert cached_file.read_bytes() == first.data
    # Served from the cache: what is on disk is what is sent, without a new render.
    marker = first.data + b"\n% served from cache\n"
    cached_file.write_bytes(marker)
    second = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert second.data == marker
    assert [e.details["cached"] for e in audit_events("license.certificate_downloaded")] == [False, True]

    with app.app_context():
        services.suspend(db.session.get(License, license.id), db.session.get(User, admin.id), "Audit")
        db.session.commit()

    third = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert third.data != marker
    assert "NOT VALID" in pdf_text(third.data)
    [new_file] = cache_files(app)
    assert new_file != cached_file and not cached_file.exists()
    assert not list(Path(app.config["CERTIFICATE_CACHE_DIR"]).glob(".tmp-*"))


def test_a_cached_certificate_is_a_few_reads_and_one_insert(app, client, login_as, signed_license):
    """Served from the cache: the user, the license with its holder, its history (checked),
    its credentials, its level, the audit chain's head with the privacy key, and the audit
    event (its one write). PostgreSQL also takes the chain's advisory lock."""
    license = signed_license()
    login_as(Role.ADMIN)

    seen = of_request(app, client, f"/licenses/{license.id}/certificate.pdf")

    words = [statement.split(None, 1)[0].upper() for statement in seen
             if "pg_advisory_xact_lock" not in statement and not statement.startswith("BEGIN")]
    assert words.count("SELECT") == 6, seen
    writes = [statement for statement in seen if statement.split(None, 1)[0].upper() != "SELECT"
              and not statement.startswith("BEGIN")]
    assert len(writes) == 1 and writes[0].startswith("INSERT INTO audit_events"), writes


def test_renaming_the_holder_gives_a_new_certificate(app, client, login_as, signed_license):
    license = signed_license(holder_name="Old Name")
    login_as(Role.ADMIN)
    client.get(f"/licenses/{license.id}/certificate.pdf")
    with app.app_context():
        attached = db.session.get(License, license.id)
        attached.holder.name = "New Name"
        change(attached, "renewed")
        db.session.commit()

    text = pdf_text(client.get(f"/licenses/{license.id}/certificate.pdf").data)

    assert "New Name" in text and "Old Name" not in text
    assert len(cache_files(app)) == 1


def test_a_license_failing_its_integrity_check_gets_no_certificate(app, client, login_as, signed_license,
                                                                   audit_events):
    license = signed_license()
    login_as(Role.ADMIN)
    with app.app_context():
        db.session.execute(
            sa.update(LicenseEvent).where(LicenseEvent.license_id == license.id).values(level=5)
        )
        db.session.commit()

    response = client.get(f"/licenses/{license.id}/certificate.pdf")

    assert response.status_code == 503
    assert cache_files(app) == []
    assert audit_events("license.certificate_downloaded") == []


def test_a_first_download_succeeds_while_another_connection_writes(app, client, login_as, signed_license,
                                                                 make_user, audit_events, monkeypatch):
    """SQLite: the download makes the credential of a license older than credentials. Were
    the request a reader until then, a commit by another connection in between (a mail job,
    another worker) would make SQLite refuse the write at once ("database is locked")."""
    with app.app_context():
        if db.engine.dialect.name != "sqlite":
            pytest.skip("SQLite's read-to-write upgrade")
        path = db.engine.url.database
    license = signed_license()
    bystander = make_user(Role.STUDENT)
    with app.app_context():
        db.session.execute(sa.delete(Credential).where(Credential.license_id == license.id))
        db.session.commit()
    login_as(Role.ADMIN)
    ensure = credential_status.ensure

    def ensure_while_another_writes(license):
        other = sqlite3.connect(path, timeout=0, isolation_level=None)
        try:
            other.execute("UPDATE users SET name = 'Someone Else' WHERE id = ?", (bystander.id,))
        except sqlite3.OperationalError:
            pass  # the download holds the write lock already: the other writer waits its turn
        finally:
            other.close()
        return ensure(license)

    monkeypatch.setattr(credential_status, "ensure", ensure_while_another_writes)

    response = client.get(f"/licenses/{license.id}/certificate.pdf")

    assert response.status_code == 200
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Credential.license_id == license.id)) == 1
    assert len(audit_events("license.certificate_downloaded")) == 1


# --- who may download ---------------------------------------------------------------------


@pytest.mark.parametrize("path", ["certificate.pdf", "qr.svg"])
def test_another_students_license_is_not_found(app, client, login_as, signed_license, path, audit_events):
    license = signed_license()
    intruder = login_as(Role.STUDENT)

    response = client.get(f"/licenses/{license.id}/{path}")

    assert response.status_code == 404
    assert client.get(f"/licenses/999999/{path}").status_code == 404
    denied = audit_events("access.denied")
    assert denied and denied[0].actor_id == intruder.id and denied[0].details["reason"] == "not_owner"
    assert audit_events("license.certificate_downloaded") == []


@pytest.mark.parametrize("path", ["certificate.pdf", "qr.svg"])
def test_an_instructor_sees_documents_of_their_own_students_only(
        app, client, make_user, signed_license, path):
    instructor = make_user(Role.INSTRUCTOR)
    mine = signed_license()
    theirs = signed_license()
    with app.app_context():
        assigned_row(instructor.id, mine.specialization_id)
        klass = Klass(name="Tuesday squad", specialization_id=mine.specialization_id,
                      instructor_id=instructor.id, join_code="TUES1234")
        db.session.add(klass)
        db.session.flush()
        db.session.add(ClassMembership(class_id=klass.id, user_id=mine.holder_id))
        db.session.commit()
    login(client, instructor)

    assert client.get(f"/licenses/{mine.id}/{path}").status_code == 200
    assert client.get(f"/licenses/{theirs.id}/{path}").status_code == 404


def test_documents_need_a_login(client, signed_license):
    license = signed_license()
    response = client.get(f"/licenses/{license.id}/certificate.pdf")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
