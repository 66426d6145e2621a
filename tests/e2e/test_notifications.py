"""A student sees the approval of their request appear among their notifications: the
header's count, the list with its link to the license, and marking it read (htmx)."""
from __future__ import annotations

from portal.extensions import db
from portal.licenses import reviews
from portal.models.license import UpgradeRequest
from portal.models.user import User
from tests.support.journeys import JOURNEY_PASSWORD, log_in


def test_student_sees_the_approval_notification_appear(portal, browse, app, make_user, make_specialization,
                                                       make_license, make_request, make_class, join):
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=0)
    coach = make_user("instructor", name="Carla Rivera")
    student = make_user("student", name="Alex Moreno", email="alex@example.org", password=JOURNEY_PASSWORD)
    join(student, make_class(coach, spec, "Saturday squad"))
    license = make_license(student, spec, 1)
    request = make_request(license, "I played a full season.")

    tab = browse("student")
    page = tab.page
    log_in(tab, "alex@example.org")
    badge = page.locator("#notification-count")
    before = badge.inner_text()

    # Meanwhile the coach approves the request.
    with app.app_context():
        reviews.approve_request(db.session.get(UpgradeRequest, request.id), db.session.get(User, coach.id),
                                note="Great season")
        db.session.commit()

    # The next page the student opens counts it.
    with page.expect_navigation():
        page.get_by_role("link", name="My licenses").click()
    tab.check()
    assert badge.inner_text() != before
    assert "unread" in badge.inner_text()
    with page.expect_navigation():
        badge.click()
    tab.wait_for_path("/notifications")
    tab.check()
    item = page.locator(".notification.unread").first
    assert "Your request for Player level 2 was approved." in item.inner_text()
    assert "Note from the reviewer: Great season" in item.inner_text()
    assert item.get_by_role("link").first.get_attribute("href") == f"/licenses/{license.id}"
    tab.shot("notifications")

    # Marking everything read updates the list and the header in place.
    page.get_by_role("button", name="Mark all as read").click()
    page.locator(".notification.unread").first.wait_for(state="detached")
    page.wait_for_function("() => !document.querySelector('#notification-count .badge')")
    tab.check()
