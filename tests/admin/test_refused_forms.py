"""A refused admin form comes back on its page's own address (post/redirect/get), with the
error beside the field and what was typed; a reload does not send it again. htmx keeps the
answer in place. Line breaks of notes are stored as ``\\n`` however the browser sent them."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models.catalogue import Level
from portal.models.license import LicenseEvent
from portal.models.user import Role
from portal.security import one_line_break

HTMX = {"HX-Request": "true"}


def error_beside(body: str, field_id: str) -> str:
    """The text of the error shown under the field ``field_id`` ('' when none)."""
    pattern = rf'<small id="{re.escape(field_id)}-error" class="field-error">(.*?)</small>'
    found = re.search(pattern, body, re.S)
    return found.group(1) if found else ""


def refuse(client, post_url: str, data: dict, page: str) -> str:
    """Post without JS; the answer must be a redirect to ``page`` whose single display shows
    the refusal. Returns that page's body."""
    sent = client.post(post_url, data=data)
    assert sent.status_code == 303, sent.status_code
    assert sent.headers["Location"].split("#")[0] == page
    shown = client.post(post_url, data=data, follow_redirects=True)
    assert shown.request.path == page and shown.request.method == "GET"
    assert [r.status_code for r in shown.history] == [303]
    assert shown.status_code in (409, 422)
    return shown.get_data(as_text=True)


def reload_is_clean(client, page: str) -> str:
    again = client.get(page)
    assert again.status_code == 200
    body = again.get_data(as_text=True)
    assert 'class="field-error"' not in body
    return body


@pytest.fixture
def student(make_user):
    return make_user(Role.STUDENT, name="Sam Student")


def test_role_refused_on_the_user_page(client, logged_admin, student, audit_events):
    page = f"/admin/users/{student.id}"
    body = refuse(client, f"{page}/role", {"role": "student", "reason": "Typed reason"}, page)
    assert "already has the role" in error_beside(body, "role")
    assert 'value="Typed reason"' in body
    reload_is_clean(client, page)
    # A missing reason: beside the reason, the chosen role still chosen.
    body = refuse(client, f"{page}/role", {"role": "instructor", "reason": ""}, page)
    assert error_beside(body, "role_reason")
    assert re.search(r'<option selected value="instructor">|<option value="instructor" selected>', body)
    body = reload_is_clean(client, page)
    assert audit_events("user.role_changed") == []


def test_status_refused_on_the_user_page(client, logged_admin, student, audit_events):
    page = f"/admin/users/{student.id}"
    long_reason = "Too long " * 60
    body = refuse(client, f"{page}/status", {"status": "suspended", "reason": long_reason}, page)
    assert error_beside(body, "status_reason")
    assert long_reason.strip() in body
    reload_is_clean(client, page)
    assert audit_events("user.status_changed") == []


def test_consent_refused_on_the_user_page(client, logged_admin, make_user, audit_events):
    minor = make_user(date_of_birth=date.today() - timedelta(days=16 * 365))
    page = f"/admin/users/{minor.id}"
    typed = "Rosa " + "M" * 130
    body = refuse(client, f"{page}/consent", {"guardian_name": typed}, page)
    assert error_beside(body, "guardian_name") and f'value="{typed}"' in body
    reload_is_clean(client, page)
    assert audit_events("user.consent_recorded") == []


def test_specializations_refused_on_the_user_page(client, logged_admin, student, make_specialization):
    spec = make_specialization()
    page = f"/admin/users/{student.id}"
    sent = client.post(f"{page}/specializations", data={"specializations": [spec.id]})
    assert sent.headers["Location"] == f"{page}#teaching"
    body = refuse(client, f"{page}/specializations", {"specializations": [spec.id]}, page)
    assert "Sam Student is not an instructor" in body
    assert "Sam Student is not an instructor" not in reload_is_clean(client, page)


def test_reinstate_and_renew_refused_on_the_license_page(
    app, client, logged_admin, student, make_specialization, make_license
):
    active = make_license(student, make_specialization(validity_months=12))
    page = f"/admin/licenses/{active.id}"
    body = refuse(client, f"{page}/reinstate", {"note": "Appeal won\r\nLetter of 3 May"}, page)
    assert "Only a suspended or revoked license" in body
    assert "Appeal won\nLetter of 3 May</textarea>" in body
    assert "Only a suspended or revoked license" not in reload_is_clean(client, page)

    revoked = make_license(student, make_specialization(validity_months=12), status="revoked")
    page = f"/admin/licenses/{revoked.id}"
    body = refuse(client, f"{page}/renew", {"note": "Renew anyway"}, page)
    assert "reinstate it first" in body and "Renew anyway</textarea>" in body
    reload_is_clean(client, page)
    with app.app_context():
        kinds = db.session.scalars(
            sa.select(LicenseEvent.kind).where(LicenseEvent.license_id.in_([active.id, revoked.id]))
        ).all()
    assert sorted(kinds) == ["issued", "issued", "revoked"]


def test_catalogue_forms_refused_on_the_specialization_page(app, client, logged_admin, make_specialization):
    spec = make_specialization(max_level=1)
    with app.app_context():
        level = db.session.scalar(sa.select(Level).where(Level.specialization_id == spec.id))
        level_id, req_id = level.id, level.requirements[0].id
    page = f"/admin/specializations/{spec.id}"
    for post_url, field_id in (
        (f"/admin/specializations/{spec.id}/levels", "title"),
        (f"/admin/levels/{level_id}", f"level-{level_id}-title"),
        (f"/admin/levels/{level_id}/requirements", f"new-req-{level_id}-title"),
        (f"/admin/requirements/{req_id}", f"req-{req_id}-title"),
    ):
        body = refuse(client, post_url, {"title": "", "description": "Typed details"}, page)
        assert error_beside(body, field_id), post_url
        assert "Typed details</textarea>" in body, post_url
        reload_is_clean(client, page)


def test_htmx_keeps_its_answer_in_place(client, logged_admin, student):
    page = f"/admin/users/{student.id}"
    response = client.post(f"{page}/role", data={"role": "instructor", "reason": ""}, headers=HTMX)
    assert response.status_code == 422 and "Location" not in response.headers
    assert error_beside(response.get_data(as_text=True), "role_reason")
    reload_is_clean(client, page)  # nothing was kept for a later display


def test_a_kept_form_is_shown_on_its_own_page_only(client, logged_admin, student, make_user):
    other = make_user()
    client.post(f"/admin/users/{student.id}/role", data={"role": "instructor", "reason": ""})
    assert 'class="field-error"' not in client.get(f"/admin/users/{other.id}").get_data(as_text=True)
    assert error_beside(client.get(f"/admin/users/{student.id}").get_data(as_text=True), "role_reason")


def test_line_breaks_are_stored_as_newlines(app, client, logged_admin, student, make_specialization,
                                            make_license, audit_events):
    license = make_license(student, make_specialization(), status="suspended")
    typed = "Appeal won.\r\nSee the letter.\rSigned."  # CRLF from a browser, a lone CR
    sent = client.post(f"/admin/licenses/{license.id}/reinstate", data={"note": typed})
    assert sent.status_code == 303
    with app.app_context():
        note = db.session.scalars(
            sa.select(LicenseEvent.note).where(LicenseEvent.license_id == license.id)
            .order_by(LicenseEvent.seq.desc())
        ).first()
    assert note == "Appeal won.\nSee the letter.\nSigned."
    assert audit_events("license.reinstated")[-1].details["note"] == note
    assert one_line_break("a\r\nb\rc\nd") == "a\nb\nc\nd"
