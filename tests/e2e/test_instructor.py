"""The instructor of a class confirms a student's requirements and approves the upgrade."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models.license import License, UpgradeRequest
from tests.support.journeys import JOURNEY_PASSWORD, log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_instructor_confirms_requirements_and_approves_from_queue(
    portal, browse, app, make_user, make_specialization, make_license, make_request, make_class, join, js
):
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    student = make_user("student", name="Alex Moreno")
    klass = make_class(coach, spec, "Saturday squad")
    join(student, klass)
    class_id = klass.id
    license = make_license(student, spec, 1)
    request = make_request(license, "I played a full season.")

    tab = browse("instructor", js=js)
    page = tab.page
    log_in(tab, "carla@example.org")
    queue = page.locator(f"#request-{request.id}")
    assert "Alex Moreno" in queue.inner_text()
    assert "0 of 2 requirements met" in queue.inner_text()
    tab.shot("instructor-dashboard")

    # Confirm both requirements of level 2 on the class roster.
    page.click(f"a[href='/dashboard/classes/{class_id}']")
    tab.wait_for_path(f"/dashboard/classes/{class_id}")
    tab.check()
    row = page.locator(f"#student-{student.id}")
    for box in row.locator("input[name=requirement]").all():
        if js:  # each change saves at once
            with page.expect_response(lambda r: "/requirements" in r.url):
                box.check()
            row = page.locator(f"#student-{student.id}")
        else:
            box.check()
    if not js:
        with page.expect_navigation():
            row.get_by_role("button", name="Save").click()
        tab.check()
    else:
        tab.check()
    tab.shot("class-roster")

    # Back on the dashboard, the queue shows every requirement met: approve.
    tab.goto("/dashboard")
    queue = page.locator(f"#request-{request.id}")
    assert "All requirements met" in queue.inner_text()
    tab.shot("instructor-queue")
    approve = queue.get_by_role("button", name="Approve")
    if js:
        with page.expect_response(lambda r: r.url.endswith("/approve")):
            approve.click()
        tab.check()
    else:
        with page.expect_navigation():
            approve.click()
        tab.check()
    assert "Alex Moreno" in page.inner_text("main")

    with app.app_context():
        assert db.session.get(UpgradeRequest, request.id).status == "approved"
        assert db.session.get(License, license.id).level == 2
    tab.goto("/dashboard")
    assert "approved" in page.inner_text("#decisions-heading + *").lower()


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_an_admin_assigns_the_specializations_an_instructor_teaches(
    portal, browse, app, make_user, make_specialization, js
):
    player = make_specialization("PLY", "Player", max_level=3)
    make_specialization("COA", "Coach", max_level=3)
    make_user("admin", name="Ada Admin", email="ada@example.org", password=JOURNEY_PASSWORD)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)

    teacher = browse("instructor", js=js)
    log_in(teacher, "carla@example.org")
    assert "No specialization is assigned to you yet" in teacher.page.inner_text("main")
    teacher.goto("/dashboard/classes")
    assert "An admin must assign you" in teacher.page.inner_text("main")

    desk = browse("admin", js=js)
    page = desk.page
    log_in(desk, "ada@example.org")
    desk.goto(f"/admin/users/{coach.id}")
    page.check(f"#specialization-{player.id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Save specializations").click()
    desk.check()
    assert "Carla Rivera now teaches Player" in page.inner_text("main")
    assert page.is_checked(f"#specialization-{player.id}")
    desk.shot("admin-instructor-specializations")

    teacher.goto("/dashboard/classes")
    page = teacher.page
    assert page.locator("#specialization option").all_inner_texts() == ["Player"]
    page.fill("#name", "Saturday squad")
    with page.expect_navigation():
        page.get_by_role("button", name="Create class").click()
    teacher.wait_for_path(r"/dashboard/classes/\d+")
    teacher.check()
    assert "Saturday squad" in page.inner_text("main")
