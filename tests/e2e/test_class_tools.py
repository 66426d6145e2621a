"""An instructor confirms one requirement for several students at once on the roster (with
"select all" when JavaScript runs, box by box without), then reads the class report."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import RequirementCompletion
from tests.support.journeys import JOURNEY_PASSWORD, log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_bulk_ticking_and_the_report(portal, browse, app, make_user, make_specialization, make_class, join,
                                     js):
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    klass = make_class(coach, spec, "Saturday squad")
    students = [make_user("student", name=f"Student {i}") for i in range(3)]
    for student in students:
        join(student, klass)
    tab = browse("instructor", js=js)
    page = tab.page
    log_in(tab, "carla@example.org")
    tab.goto(f"/dashboard/classes/{klass.id}")
    if js:
        page.get_by_label("Select all students on this page").check()
    else:
        for student in students:
            page.get_by_label(f"Select {student.name}").check()
    page.select_option("#bulk-requirement", index=0)
    with page.expect_navigation():
        page.locator("#bulk-confirm").get_by_role("button", name="Confirm").click()
    tab.check()
    assert "confirmed for 3 students" in page.inner_text("main")
    with app.app_context():
        done = db.session.scalars(sa.select(RequirementCompletion.user_id)).all()
    assert sorted(done) == sorted(s.id for s in students)

    with page.expect_navigation():
        page.get_by_role("button", name="Class report").click()
    tab.check()
    assert "3 of 3" in page.inner_text("main")
    if js:
        page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas'))")
    tab.shot("class-report")
