"""What each reader sees of a license's status and history: staff notes stay with staff.

The holder and the public see the status and a revocation's reason category; the notes an
admin types when suspending, reinstating or revoking are for the admin and the instructors
who teach the holder. Checked on every place a holder or the public reads a license.
"""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.licenses import services, visibility
from portal.models import License, Specialization, User
from portal.models.user import Role
from tests.support.documents import pdf_text
from tests.support.http import login
from tests.support.lookups import get, history

# Each note carries a word found nowhere else, so a note cut by line wrapping is still caught.
NOTES = {
    "suspended": "Held back while the Quokkafile inquiry runs",
    "reinstated": "Zanzibarcase closed without a finding",
    "revoked": "Forged match sheets, see Xylofolder 12",
}
MARKERS = ("Quokkafile", "Zanzibarcase", "Xylofolder")


@pytest.fixture
def admin(make_user):
    return make_user(Role.ADMIN, name="Ada Admin")


@pytest.fixture
def noted_license(app, admin, signed_license):
    """A license suspended with a note; for ``revoked`` also reinstated and revoked (fraud),
    each with its own note. Returns (license, holder, the notes typed)."""

    def make(final: str):
        license = signed_license(holder_name="Nora Holder")
        with app.app_context():
            lic, actor = get(License, license), get(User, admin)
            services.suspend(lic, actor, NOTES["suspended"])
            typed = [NOTES["suspended"]]
            if final == "revoked":
                services.reinstate(lic, actor, NOTES["reinstated"])
                services.revoke(lic, actor, "fraud", NOTES["revoked"])
                typed += [NOTES["reinstated"], NOTES["revoked"]]
            db.session.commit()
            holder = db.session.get(User, license.holder_id)
            db.session.expunge(holder)
        holder.password = "correct horse battery"
        return license, holder, typed

    return make


def assert_no_note(text: str) -> None:
    for marker in MARKERS:
        assert marker not in text
    assert "staff only" not in text


@pytest.mark.parametrize("final", ["suspended", "revoked"])
def test_the_holder_never_sees_a_staff_note_on_the_license_page(app, client, noted_license, final):
    license, holder, typed = noted_license(final)
    with app.app_context():  # the notes are on the history rows the page lists
        assert {row.note for row in history(license.id)} >= set(typed)
    login(client, holder)

    page = client.get(f"/licenses/{license.id}")
    partial = client.get(f"/licenses/{license.id}", headers={"HX-Request": "true"})

    for response in (page, partial):
        assert response.status_code == 200
        html = response.get_data(as_text=True)
        assert_no_note(html)
        assert final.title() in html  # the status and each history row's kind remain
        assert "Suspended" in html and "by Ada Admin" in html
        if final == "revoked":
            assert "Reason: Fraud" in html and "reason: Fraud" in html


def test_the_admin_and_the_holders_instructor_see_the_notes(
    app, client, noted_license, admin, make_user, make_class, join
):
    license, holder, typed = noted_license("revoked")
    instructor = make_user(Role.INSTRUCTOR)
    with app.app_context():
        spec = db.session.get(Specialization, license.specialization_id)
        db.session.expunge(spec)
    join(holder, make_class(instructor, spec))
    outsider = make_user(Role.INSTRUCTOR)

    for staff in (admin, instructor):
        staff_client = app.test_client()
        login(staff_client, staff)
        html = staff_client.get(f"/licenses/{license.id}").get_data(as_text=True)
        for note in typed:
            assert note in html
        assert "Status note" in html and "staff only" in html

    other = app.test_client()
    login(other, outsider)
    assert other.get(f"/licenses/{license.id}").status_code == 404


def test_the_holders_dashboard_shows_the_reason_category_and_no_note(app, client, noted_license):
    license, holder, typed = noted_license("revoked")
    login(client, holder)

    html = client.get("/dashboard").get_data(as_text=True)

    assert license.code in html
    assert "Revoked" in html and "Reason: Fraud" in html
    assert_no_note(html)


@pytest.mark.parametrize("final", ["suspended", "revoked"])
def test_the_certificate_shows_the_status_and_reason_category_and_no_note(app, client, noted_license, final):
    license, holder, typed = noted_license(final)
    login(client, holder)

    response = client.get(f"/licenses/{license.id}/certificate.pdf")

    assert response.status_code == 200
    text = pdf_text(response.data)
    said = "this license was revoked" if final == "revoked" else "this license is suspended"
    assert "NOT VALID" in text and said in text
    if final == "revoked":
        assert "(reason: Fraud)" in text
    assert_no_note(" ".join(text.split()))


def test_verification_page_and_json_show_the_reason_category_and_no_note(app, client, noted_license):
    license, _, typed = noted_license("revoked")

    html = client.get(f"/verify/{license.code}").get_data(as_text=True)
    response = client.get(f"/verify/{license.code}.json")

    assert "Reason: Fraud" in html
    body = response.get_json()
    assert (body["state"], body["reason"], body["reason_label"]) == ("revoked", "fraud", "Fraud")
    for text in (html, response.get_data(as_text=True)):
        assert_no_note(text)


def test_the_policy_gives_each_field_its_readers(app, noted_license, admin):
    """The one place: a note reaches staff only; status and reason category reach everyone."""
    license, holder, typed = noted_license("revoked")
    with app.app_context():
        lic = get(License, license)
        rows = history(license.id)
        assert visibility.reader_of(get(User, admin), lic) == visibility.STAFF
        assert visibility.reader_of(get(User, holder), lic) == visibility.HOLDER

        staff = visibility.status_for(lic, visibility.STAFF)
        assert (staff.status, staff.reason_label, staff.note) == ("revoked", "Fraud", NOTES["revoked"])
        assert [e.note for e in visibility.history_for(rows, visibility.STAFF) if e.note][-3:] == typed

        for reader in (visibility.HOLDER, visibility.PUBLIC):
            seen = visibility.status_for(lic, reader)
            assert (seen.status, seen.reason, seen.reason_label) == ("revoked", "fraud", "Fraud")
            assert seen.note is None
        holder_rows = visibility.history_for(rows, visibility.HOLDER)
        assert [e.kind for e in holder_rows] == [r.kind for r in rows]
        assert all(e.note is None for e in holder_rows)
        assert all(e.kind is None and e.note is None for e in visibility.history_for(rows, visibility.PUBLIC))
