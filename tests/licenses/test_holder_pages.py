"""What a student reads about their own licenses, the same on the dashboard, /licenses/ and
the license page: a license that is not valid, when to ask for the next level, the minor's
path through guardian consent, and the specialization picker."""
from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import License, UpgradeRequest
from portal.models.catalogue import Specialization
from portal.models.user import Role
from tests.support.http import login

SIXTEEN = date(date.today().year - 16, 1, 1)


@pytest.fixture
def spec(make_specialization):
    return make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)


def pages(client, license_id):
    return {
        "dashboard": client.get("/dashboard").get_data(as_text=True),
        "index": client.get("/licenses/").get_data(as_text=True),
        "detail": client.get(f"/licenses/{license_id}").get_data(as_text=True),
    }


@pytest.mark.parametrize(
    ("status", "said", "what_to_do"),
    [
        ("suspended", "Suspended since", "contact the academy to reinstate it"),
        ("revoked", "Revoked on", "Contact the academy if you think this is a mistake"),
        ("expired", "Expired on", "ask the academy to renew it"),
    ],
)
def test_a_license_that_is_not_valid_says_what_happened_and_what_to_do(
    client, make_user, make_license, spec, status, said, what_to_do
):
    admin = make_user(Role.ADMIN)
    student = make_user(name="Maya Lindqvist")
    license = make_license(student, spec, 1, actor=admin, status=status)
    login(client, student)
    seen = pages(client, license.id)
    for name, page in seen.items():
        assert said in page and what_to_do in page, name
        assert "Valid until" not in page and "valid until" not in page, name
        assert "You are all set" not in page, name
        assert "Ask for level" not in page, name
        assert "requirements for level 2" not in page and "Toward level 2" not in page, name
        assert not re.search(r'<progress id="progress-', page), name
        # Only what the holder may see: never the note staff typed.
        assert "Test suspension" not in page and "Test revocation" not in page, name
    if status == "revoked":
        assert "(reason: Other)" in seen["dashboard"]
    # The dashboard's next step points at the license, not at "all set".
    assert "Your Player license is not valid." in seen["dashboard"]


def test_an_active_license_still_reads_valid_until_with_its_progress(client, make_user, make_license, spec):
    student = make_user()
    license = make_license(student, spec, 1)
    login(client, student)
    seen = pages(client, license.id)
    assert "Valid until" in seen["dashboard"] and "valid until" in seen["index"]
    assert "Valid until" in seen["detail"] and "Toward level 2" in seen["detail"]
    assert "0 of 2 requirements for level 2" in seen["dashboard"]


def test_dashboard_and_license_page_say_the_same_about_asking(
    client, make_user, make_license, make_request, make_specialization, spec
):
    student = make_user()
    license = make_license(student, spec, 1)
    top = make_license(student, make_specialization("KEE", "Keeper", max_level=2), 2)
    login(client, student)
    link = f'href="/licenses/{license.id}/upgrade" role="button">Ask for level 2</a>'
    sentence = "0 of 2 requirements of level 2 are confirmed. You can ask now"
    seen = pages(client, license.id)
    for name in ("dashboard", "detail"):
        assert link in seen[name] and sentence in seen[name], name

    # At the top level: the reason, and no way to ask, in both places.
    top_detail = client.get(f"/licenses/{top.id}").get_data(as_text=True)
    assert f"/licenses/{top.id}/upgrade" not in top_detail
    assert "Level 2 is the highest level of Keeper." in seen["dashboard"]
    assert f"/licenses/{top.id}/upgrade\"" not in seen["dashboard"]

    # With a pending request: no link, the same words on both pages.
    make_request(license)
    seen = pages(client, license.id)
    for name in ("dashboard", "detail"):
        assert link not in seen[name], name
        assert "You asked for level 2 on" in seen[name] and "Waiting for your instructor." in seen[name], name
    again = client.post(f"/licenses/{license.id}/upgrade", data={"reason": "Again"})
    assert again.status_code == 422
    assert "You already have a pending request for Player." in again.get_data(as_text=True)


def test_a_suspended_license_cannot_be_asked_to_move_up(client, make_user, make_license, spec):
    admin = make_user(Role.ADMIN)
    student = make_user()
    license = make_license(student, spec, 1, actor=admin, status="suspended")
    login(client, student)
    page = client.get(f"/licenses/{license.id}/upgrade").get_data(as_text=True)
    assert "Only an active license can be upgraded; this one is suspended." in page
    assert 'name="reason"' not in page
    response = client.post(f"/licenses/{license.id}/upgrade", data={"reason": "Please"})
    assert response.status_code == 422


def test_the_minors_path_is_one_story(app, client, make_user, make_specialization, spec):
    admin = make_user(Role.ADMIN)
    minor = make_user(name="Sofia Ruiz", date_of_birth=SIXTEEN)
    login(client, minor)
    response = client.post("/licenses/select-specialization", data={"specialization": spec.code})
    assert response.status_code == 303
    dashboard = client.get("/dashboard").get_data(as_text=True)
    index = client.get("/licenses/").get_data(as_text=True)
    for page in (dashboard, index):
        assert "Your request to start Player is waiting for guardian consent." in page
        assert "Start: level 1" in page
        assert "0 →" not in page and "— →" not in page and "level 0" not in page
    # No chooser on the dashboard while the request waits: no sentence pointing at one.
    assert 'class="select-spec"' not in dashboard and "Choose a specialization above" not in dashboard

    # The admin records the consent, then approves with no note: level 1's own
    # requirements (none confirmed) do not call for an "approve anyway" reason.
    with app.app_context():
        request = db.session.scalar(sa.select(UpgradeRequest).where(UpgradeRequest.user_id == minor.id))
        request_id = request.id
    client = app.test_client()
    login(client, admin)
    queue = client.get("/licenses/requests/").get_data(as_text=True)
    assert "Sofia Ruiz · Player · Start: level 1" in queue and "not confirmed" not in queue
    consent = client.post(f"/admin/users/{minor.id}/consent",
                          data={"guardian_name": "Ana Ruiz", "relationship": "mother",
                                "method": "signed_form"})
    assert consent.status_code in (302, 303)
    approved = client.post(f"/licenses/requests/{request_id}/approve", data={"note": ""})
    assert approved.status_code in (302, 303), approved.get_data(as_text=True)
    with app.app_context():
        license = db.session.scalar(sa.select(License).where(License.holder_id == minor.id))
        assert license is not None and license.level == 1
        assert db.session.get(UpgradeRequest, request_id).status == "approved"


def test_the_picker_shows_every_specialization_and_why_one_cannot_be_chosen(
    app, client, make_user, make_license, make_specialization, spec
):
    make_specialization("COA", "Coach", min_age=30, auto_issue=True)
    make_specialization("INT", "Internship", auto_issue=False)
    make_specialization("REF", "Referee", min_age=16)
    with app.app_context():
        described = Specialization.name + " for the academy"
        db.session.execute(sa.update(Specialization).values(description=described))
        db.session.commit()
    student = make_user(date_of_birth=date(date.today().year - 20, 1, 1))
    make_license(student, spec, 1)
    login(client, student)
    assert client.post("/licenses/select-specialization", data={"specialization": "INT"}).status_code == 303
    page = client.get("/licenses/").get_data(as_text=True)
    start = page.split('id="start"')[1].split("</section>")[0]

    def label(code):
        before, after = start.split(f'value="{code}"')
        return before.rsplit("<label", 1)[1] + after.split("</label>")[0]

    assert "disabled" in label("PLY") and "Not available: You already hold a Player license." in label("PLY")
    assert "disabled" in label("COA") and "Not available: Coach is open from the age of 30." in label("COA")
    assert "from age 30" in label("COA") and "level 1 is issued at once" in label("COA")
    assert "disabled" in label("INT") and "You already asked to start Internship" in label("INT")
    assert "an admin reviews new students before level 1" in label("INT")
    assert "disabled" not in label("REF") and "from age 16" in label("REF")
    assert "Not available" not in label("REF")
    for name in ("Player", "Coach", "Internship", "Referee"):
        assert f"<small>{name} for the academy</small>" in start


def test_line_breaks_in_a_reason_and_in_notes_are_kept_as_text(
    app, client, make_user, make_license, make_request, spec
):
    admin = make_user(Role.ADMIN)
    student = make_user()
    license = make_license(student, spec, 1)
    request = make_request(license, reason="Passed the test.\nPlayed 5 matches.\n<b>bold?</b>")
    other = app.test_client()
    login(other, admin)
    queue = other.get("/licenses/requests/").get_data(as_text=True)
    kept = "Passed the test.\nPlayed 5 matches.\n&lt;b&gt;bold?&lt;/b&gt;"
    assert f'<blockquote class="user-text">{kept}</blockquote>' in queue
    rejected = other.post(
        f"/licenses/requests/{request.id}/reject",
        data={"note": "Not yet.\nFinish the matches first.", "confirmed": "yes"},
    )
    assert rejected.status_code in (302, 303)
    queue = other.get("/licenses/requests/").get_data(as_text=True)
    assert 'class="user-text">Not yet.\nFinish the matches first.</td>' in queue
    login(client, student)
    mine = client.get("/dashboard").get_data(as_text=True)
    assert '<span class="user-text">Not yet.\nFinish the matches first.</span>' in mine
    other.post(f"/admin/licenses/{license.id}/suspend", data={"note": "Line one\nLine two"})
    history = other.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert '<span class="user-text">Line one\nLine two</span>' in history
    with app.open_resource("../static/css/portal.css") as css:
        assert ".user-text { white-space: pre-line; }" in css.read().decode()
