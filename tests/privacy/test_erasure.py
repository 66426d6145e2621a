"""Erasure (SPEC §11): a person's data gone from every table and file, every chain valid."""
from __future__ import annotations

import io
import json
import zipfile
from datetime import date
from pathlib import Path

import jsonschema
import sqlalchemy as sa

from portal.audit import actions, privacy
from portal.extensions import db
from portal.licenses import verification
from portal.models.license import License, LicenseStatus
from portal.models.notification import Notification
from portal.models.user import Role, User, UserStatus
from portal.privacy import export
from tests.support.http import is_logged_in, login

NAME = "Zyxwvu Quorrastan"
EMAIL = "zyxwvu.quorrastan@example.test"
IP = "203.0.113.219"
AGENT = "QuorraBrowser/9.9 (erasure-test)"
STRINGS = (NAME, EMAIL, "zyxwvu.next@example.org", IP, AGENT, "Zyxwvu", "Quorrastan", "2001-02-03",
           "Ulla Quorrastan")


def _person(app, client, make_user, make_specialization, make_license, make_request):
    user = make_user(email=EMAIL, name=NAME, date_of_birth=date(2001, 2, 3))
    with app.app_context():
        row = db.session.get(User, user.id)
        row.given_name, row.family_name, row.guardian_name = "Zyxwvu", "Quorrastan", "Ulla Quorrastan"
        db.session.commit()
    client.environ_base.update({"REMOTE_ADDR": IP, "HTTP_USER_AGENT": AGENT})
    login(client, user)
    spec = make_specialization(max_level=3)
    lic = make_license(user, spec, 1)
    make_request(lic, reason=f"Please, {NAME} asks for level 2")
    assert client.get(f"/licenses/{lic.id}/certificate.pdf").status_code == 200
    assert client.post("/account/export").status_code in (302, 303)
    assert client.post("/account/email", data={"new_email": "zyxwvu.next@example.org",
                                               "current_password": user.password}).status_code in (302, 303)
    return user, lic


def _tables_mentioning(app) -> list[str]:
    found = []
    with app.app_context():
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(sa.select(table)).mappings():
                text = repr(dict(row))
                for needle in STRINGS:
                    if needle in text:
                        found.append(f"{table.name}: {needle!r} in {text[:300]}")
    return found


def _files_mentioning(folder: Path) -> list[str]:
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path}: {n!r}" for n in STRINGS if n.encode() in data]
    return found


def test_erasing_oneself_leaves_nothing_that_names_the_person_and_every_chain_verifies(
        app, client, runner, make_user, make_specialization, make_license, make_request, make_class, join,
        audit_events):
    user, lic = _person(app, client, make_user, make_specialization, make_license, make_request)
    # an instructor's notification names the student who joined the class
    join(user, make_class(make_user(Role.INSTRUCTOR), make_specialization()))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
            Notification.kind == "student_joined")) == 1
    assert _tables_mentioning(app)  # the search finds the person before

    answer = client.post("/account/delete", data={"current_password": user.password, "confirm": "DELETE"})
    assert answer.status_code in (302, 303)
    assert not is_logged_in(client)

    assert _tables_mentioning(app) == []
    assert _files_mentioning(Path(app.instance_path)) == []
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["licenses", "verify", lic.code])
    assert result.exit_code == 0, result.output

    with app.app_context():
        erased = db.session.get(User, user.id)
        assert erased.erased_at is not None and erased.status == UserStatus.ARCHIVED
        revoked = db.session.get(License, lic.id)
        assert revoked.status == LicenseStatus.REVOKED and revoked.status_reason == "holder_erased"
        assert verification.verify(lic.code).state == verification.State.REVOKED
    assert audit_events(actions.PRIVACY_ERASED)
    page = client.get(f"/verify/{lic.code}")
    assert "revoked at the holder" in page.get_data(as_text=True).lower()

    # never again: no login, and the address registers anew as a new person
    login_answer = client.post("/login", data={"email": EMAIL, "password": user.password})
    assert not is_logged_in(client), login_answer.status_code
    again = make_user(email=EMAIL, name="Someone New")
    assert again.id != user.id


def test_a_wrong_password_or_a_missing_delete_erases_nothing(app, client, login_as, audit_events):
    user = login_as()
    answer = client.post("/account/delete", data={"current_password": "wrong one", "confirm": "DELETE"})
    assert answer.status_code == 422
    assert "not your current password" in answer.get_data(as_text=True)
    answer = client.post("/account/delete", data={"current_password": user.password, "confirm": "delete"})
    assert answer.status_code == 422
    assert "Type DELETE to confirm" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, user.id).erased_at is None
    assert is_logged_in(client)
    assert len(audit_events(actions.PRIVACY_ERASURE_REFUSED)) == 2


def test_erasure_is_all_or_nothing(app, client, login_as, monkeypatch):
    user = login_as()
    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(privacy, "forget_events", broken)
    answer = client.post("/account/delete", data={"current_password": user.password, "confirm": "DELETE"})
    assert answer.status_code == 500
    assert "nothing changed" in answer.get_data(as_text=True)
    with app.app_context():
        same = db.session.get(User, user.id)
        assert same.erased_at is None and same.email == user.email and same.name == user.name


def test_an_admin_erases_on_a_request_received_by_post_but_not_the_last_admin(
        app, client, make_user, runner, audit_events):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    student = make_user()
    htmx = {"HX-Request": "true"}
    answer = client.post(f"/admin/users/{student.id}/erase", data={"reason": ""}, headers=htmx)
    assert answer.status_code == 422
    answer = client.post(f"/admin/users/{student.id}/erase", data={"reason": "Guardian's letter of 3 March"})
    assert answer.status_code in (302, 303)
    with app.app_context():
        assert db.session.get(User, student.id).erased_at is not None
    (event,) = audit_events(actions.PRIVACY_ERASED)
    assert event.actor_id == admin.id and event.details["reason"] == "Guardian's letter of 3 March"

    answer = client.post(f"/admin/users/{admin.id}/erase", data={"reason": "asked"}, headers=htmx)
    assert answer.status_code == 422
    assert "last active admin" in answer.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, admin.id).erased_at is None
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0


def test_the_export_zip_holds_every_document_valid_against_its_schema(
        app, client, make_user, make_specialization, make_license, make_request, audit_events):
    user, lic = _person(app, client, make_user, make_specialization, make_license, make_request)
    page = client.get("/account/privacy")
    assert page.status_code == 200
    with app.app_context():
        job = export.recent(db.session.get(User, user.id))[-1]
        job_id = job.id
    status = client.get(f"/account/exports/{job_id}")
    assert "Download your data" in status.get_data(as_text=True)
    answer = client.get(f"/account/exports/{job_id}/download")
    assert answer.status_code == 200 and answer.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(answer.data))
    answer.close()
    names = set(archive.namelist())
    for doc in ("profile", "licenses", "requests", "classes", "sessions", "activity"):
        assert f"{doc}.json" in names and f"schema/{doc}.schema.json" in names
        data = json.loads(archive.read(f"{doc}.json"))
        schema = json.loads(archive.read(f"schema/{doc}.schema.json"))
        jsonschema.Draft202012Validator.check_schema(schema)
        jsonschema.validate(data, schema, format_checker=jsonschema.FormatChecker())
    assert f"certificates/{lic.code}.pdf" in names
    assert f"credentials/{lic.code}.json" in names
    licenses = json.loads(archive.read("licenses.json"))["licenses"]
    assert licenses[0]["code"] == lic.code and licenses[0]["history"]
    assert json.loads(archive.read("profile.json"))["account"]["email"] == EMAIL
    assert audit_events(actions.PRIVACY_EXPORT_DOWNLOADED)

    # only the owner
    other = app.test_client()
    login(other, make_user())
    assert other.get(f"/account/exports/{job_id}/download").status_code == 404
    assert other.get(f"/account/exports/{job_id}").status_code == 404


def test_an_admin_takes_a_guardians_export_request_and_the_admin_page_lists_it_until_handed_over(
        app, client, make_user, audit_events):
    admin = make_user(Role.ADMIN)
    minor = make_user(name="Pia Minor", date_of_birth=date(2013, 5, 5))
    login(client, admin)
    htmx = {"HX-Request": "true"}
    refused = client.post(f"/admin/users/{minor.id}/export", data={"reason": ""}, headers=htmx)
    assert refused.status_code == 422
    answer = client.post(f"/admin/users/{minor.id}/export", data={"reason": "Her father, by letter"})
    assert answer.status_code in (302, 303)
    job_id = int(answer.headers["Location"].rstrip("/").split("/")[-1])
    hub = client.get("/admin/").get_data(as_text=True)
    assert "Pia Minor" in hub and "Her father, by letter" in hub
    download = client.get(f"/account/exports/{job_id}/download")
    assert download.status_code == 200
    profile = zipfile.ZipFile(io.BytesIO(download.data)).read("profile.json").decode()
    download.close()
    assert "Pia Minor" in profile
    assert "Pia Minor" not in client.get("/admin/").get_data(as_text=True)
    # the minor sees only their own exports, and cannot fetch the one made for the guardian
    other = app.test_client()
    login(other, minor)
    assert other.get(f"/account/exports/{job_id}/download").status_code == 404
