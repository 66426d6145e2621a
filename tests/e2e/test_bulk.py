"""An admin issues licenses to a whole class as one background job and watches it finish."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models.license import License
from tests.support.journeys import JOURNEY_PASSWORD, log_in

STUDENTS = 8


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_admin_bulk_issue_progress_reaches_100(portal, browse, app, make_user, make_specialization,
                                               make_class, join, js):
    spec = make_specialization("PLY", "Player", max_level=3)
    make_user("admin", name="Ada Admin", email="ada@example.org", password=JOURNEY_PASSWORD)
    coach = make_user("instructor", name="Carla Rivera")
    klass = make_class(coach, spec, "Weekend intake")
    for _ in range(STUDENTS):
        join(make_user("student"), klass)

    tab = browse("admin", js=js)
    page = tab.page
    log_in(tab, "ada@example.org")
    tab.goto("/admin/licenses/bulk")
    tab.shot("admin-bulk")
    page.select_option("#klass", label=page.locator("#klass option", has_text="Weekend intake").inner_text())
    page.check("input[name=action][value=issue]")
    with page.expect_navigation():
        page.get_by_role("button", name="Preview").click()
    tab.check()
    # The preview says who the job will move before anything starts.
    assert f"{STUDENTS} students will be issued level 1" in page.inner_text("#preview")
    assert page.locator(".bulk-moved li").count() == STUDENTS
    tab.shot("admin-bulk-preview")
    with page.expect_navigation():
        page.get_by_role("button", name="Start the job").click()
    tab.wait_for_path(r"/admin/jobs/\d+")
    tab.check()

    progress = page.locator("#job-progress progress")
    if js:  # the section polls itself until the job is over
        page.wait_for_function(
            """() => {
                const bar = document.querySelector('#job-progress progress');
                return bar && bar.max > 1 && bar.value === bar.max
                    && document.querySelector('#job-progress .badge').textContent.trim() === 'Finished';
            }""",
            timeout=120_000,
        )
    else:  # without JavaScript the admin follows the refresh link
        for _ in range(60):
            if "Finished" in page.inner_text("#job-progress .badge"):
                break
            page.wait_for_timeout(500)
            with page.expect_navigation():
                page.get_by_role("link", name="Refresh").click()
            tab.check()
    tab.check()
    assert progress.get_attribute("value") == progress.get_attribute("max") == str(STUDENTS)
    assert "(100%)" in page.inner_text("#job-progress")
    assert f"{STUDENTS} done" in page.inner_text("#job-progress")
    tab.shot("admin-job")

    with app.app_context():
        issued = db.session.scalar(
            sa.select(sa.func.count(License.id)).where(License.specialization_id == spec.id)
        )
        assert issued == STUDENTS
