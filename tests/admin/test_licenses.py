"""Licenses: list and filters, issuing one, and the lifecycle actions with confirmation."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa

from portal.db import utcnow
from portal.extensions import db
from portal.licenses import services as lifecycle
from portal.models.license import License


def _license(app, license_id) -> License:
    with app.app_context():
        license = db.session.get(License, license_id)
        db.session.expunge(license)
        return license


def test_filters(app, client, logged_admin, make_user, make_specialization, make_license):
    ply, cch = make_specialization(name="Player"), make_specialization(name="Coach", validity_months=None)
    anna = make_user(name="Anna Field", email="anna@example.org")
    ben = make_user(name="Ben Stone")
    a1 = make_license(anna, ply, level=2)
    b1 = make_license(ben, ply, status="suspended")
    b2 = make_license(ben, cch)
    with app.app_context():
        soon = db.session.get(License, a1.id)
        soon.expires_at = utcnow() + timedelta(days=10)
        db.session.commit()

    def codes(query):
        body = client.get(f"/admin/licenses?{query}").get_data(as_text=True)
        return {c for c in (a1.code, b1.code, b2.code) if c in body}

    assert codes("") == {a1.code, b1.code, b2.code}
    assert codes(f"specialization={ply.id}") == {a1.code, b1.code}
    assert codes("level=2") == {a1.code}
    assert codes("status=suspended") == {b1.code}
    assert codes("expiring=30") == {a1.code}
    assert codes("holder=ANNA") == {a1.code}
    assert codes("holder=stone&status=active") == {b2.code}
    bad = client.get(f"/admin/licenses?level=abc&expiring=-1&status=bogus&specialization={2**31 + 5}")
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field_id, message in [
        ("level", "Enter a whole number from 1 to 100."),
        ("expiring", "Enter a whole number from 0 to 3650."),
        ("lstatus", "Choose one of the statuses listed."),
        ("specialization", "Enter a whole number from 1 to"),
    ]:
        assert f'aria-describedby="{field_id}-error"' in html, field_id
        error = html.split(f'id="{field_id}-error"')[1].split("</small>")[0]
        assert message in error, field_id
    assert "Part of the filter was not understood" in html
    unknown = client.get("/admin/licenses?specialization=999999", headers={"HX-Request": "true"})
    assert unknown.status_code == 422
    assert "Choose one of the specializations listed." in unknown.get_data(as_text=True)
    response = client.get("/admin/licenses?holder=anna", headers={"HX-Request": "true"})
    assert "<html" not in response.get_data(as_text=True) and "HX-Request" in response.headers["Vary"]


def test_pagination(app, client, logged_admin, make_user, make_specialization, make_license):
    spec = make_specialization()
    made = [make_license(make_user(), spec).code for _ in range(27)]
    first = client.get("/admin/licenses").get_data(as_text=True)
    assert sum(code in first for code in made) == 25 and "Next page" in first

    next_url = re.search(r'href="(/admin/licenses\?after=[^"]+)"', first).group(1).replace("&amp;", "&")
    second = client.get(next_url).get_data(as_text=True)
    assert sum(code in second for code in made) == 2 and "Next page" not in second


def test_issue_a_license(app, client, logged_admin, make_user, make_specialization, audit_events):
    spec = make_specialization(max_level=3)
    student = make_user(email="holder@example.org")
    response = client.post(
        "/admin/licenses/issue", data={"email": "HOLDER@example.org", "specialization": spec.id, "level": 2}
    )
    assert response.status_code == 303
    with app.app_context():
        license = db.session.scalar(sa.select(License).where(License.holder_id == student.id))
        assert (license.level, license.status, license.issued_by_id) == (2, "active", logged_admin.id)
    assert "license.issued" in audit_events.actions()
    # Twice: refused beside the field, nothing new.
    again = client.post(
        "/admin/licenses/issue", data={"email": student.email, "specialization": spec.id, "level": 1}
    )
    assert again.status_code == 422 and "already holds" in again.get_data(as_text=True)


def test_issue_refusals(client, logged_admin, make_user, make_specialization):
    spec = make_specialization(max_level=2, min_age=18)
    teacher = make_user("instructor", email="teacher@example.org")
    minor = make_user(email="minor@example.org", date_of_birth=date.today() - timedelta(days=15 * 365))
    cases = {
        "nobody@example.org": "No account",
        teacher.email: "not a student",
        minor.email: "guardian consent",
    }
    for email, message in cases.items():
        response = client.post(
            "/admin/licenses/issue", data={"email": email, "specialization": spec.id, "level": 1}
        )
        assert response.status_code == 422 and message in response.get_data(as_text=True), email
    adult = make_user(email="adult@example.org")
    response = client.post(
        "/admin/licenses/issue", data={"email": adult.email, "specialization": spec.id, "level": 5}
    )
    assert response.status_code == 422 and "levels 1 to 2" in response.get_data(as_text=True)


def test_suspend_needs_a_confirmation_page_and_a_note(
    app, client, logged_admin, make_user, make_specialization, make_license, audit_events
):
    license = make_license(make_user(), make_specialization())
    page = client.get(f"/admin/licenses/{license.id}/suspend").get_data(as_text=True)
    assert "Suspend license" in page and 'method="post"' in page
    assert _license(app, license.id).status == "active"  # looking at it changes nothing
    assert client.post(f"/admin/licenses/{license.id}/suspend", data={"note": ""}).status_code == 422
    assert (
        client.post(f"/admin/licenses/{license.id}/suspend", data={"note": "Under investigation"}).status_code
        == 303
    )
    saved = _license(app, license.id)
    assert (saved.status, saved.status_note) == ("suspended", "Under investigation")
    assert audit_events.actions()[-1] == "license.suspended"


def test_revoke_reinstate_and_renew(app, client, logged_admin, make_user, make_specialization, make_license,
                                    audit_events):
    license = make_license(make_user(), make_specialization(validity_months=12))
    assert "Revoke license" in client.get(f"/admin/licenses/{license.id}/revoke").get_data(as_text=True)
    bad = client.post(f"/admin/licenses/{license.id}/revoke", data={"reason_category": "", "note": "x"})
    assert bad.status_code == 422
    assert (
        client.post(
            f"/admin/licenses/{license.id}/revoke", data={"reason_category": "fraud", "note": "Forged papers"}
        ).status_code
        == 303
    )
    saved = _license(app, license.id)
    assert (saved.status, saved.status_reason) == ("revoked", "fraud")
    # Revoking again is refused beside the form.
    again = client.post(
        f"/admin/licenses/{license.id}/revoke", data={"reason_category": "fraud", "note": "Again"}
    )
    assert again.status_code == 422 and "already revoked" in again.get_data(as_text=True)
    assert (
        client.post(f"/admin/licenses/{license.id}/reinstate", data={"note": "Appeal won"}).status_code == 303
    )
    assert _license(app, license.id).status == "active"
    before = _license(app, license.id).expires_at
    assert client.post(f"/admin/licenses/{license.id}/renew").status_code == 303
    assert _license(app, license.id).expires_at > before
    actions = audit_events.actions()
    assert actions[-3:] == ["license.revoked", "license.reinstated", "license.renewed"]
    history = client.get(f"/admin/licenses/{license.id}").get_data(as_text=True)
    for kind in ("issued", "revoked", "reinstated", "renewed"):
        assert f"<strong>{kind}</strong>" in history


def test_refused_action_is_a_message_not_an_error(
    app, client, logged_admin, make_user, make_specialization, make_license
):
    license = make_license(make_user(), make_specialization())
    response = client.post(f"/admin/licenses/{license.id}/reinstate", follow_redirects=True)
    assert response.status_code == 422 and "Only a suspended or revoked license" in response.get_data(
        as_text=True
    )


def test_a_license_changed_meanwhile_is_a_conflict_shown_on_the_form(
    app, client, logged_admin, make_user, make_specialization, make_license, monkeypatch
):
    license = make_license(make_user(), make_specialization(validity_months=12))

    def lost_race(*args):
        raise lifecycle.RequestConflict("This license was changed by someone else. Reload and try again.")

    for action in ("suspend", "revoke", "renew"):
        monkeypatch.setattr(lifecycle, action, lost_race)
    data = {"note": "Under investigation", "reason_category": "fraud"}
    for action in ("suspend", "revoke", "renew"):
        response = client.post(f"/admin/licenses/{license.id}/{action}", data=data, follow_redirects=True)
        assert response.status_code == 409, action
        assert "changed by someone else" in response.get_data(as_text=True), action
    assert _license(app, license.id).status == "active"
