"""Reject asks for confirmation, with JavaScript (a dialog) and without (a page), from the
instructor's dashboard, which uses the same decision card as the review queue."""
from __future__ import annotations

import pytest

from portal.extensions import db
from portal.models.license import RequestStatus, UpgradeRequest
from tests.support.journeys import JOURNEY_PASSWORD, log_in


def _status(app, request_id: int) -> str:
    with app.app_context():
        return db.session.get(UpgradeRequest, request_id).status


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_reject_asks_before_deciding(portal, browse, app, make_user, make_specialization, make_license,
                                     make_request, make_class, join, js):
    spec = make_specialization("PLY", "Player", max_level=3, requirements_per_level=2)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    student = make_user("student", name="Alex Moreno")
    join(student, make_class(coach, spec, "Saturday squad"))
    request = make_request(make_license(student, spec, 1), "I played a full season.")

    tab = browse("instructor", js=js)
    page = tab.page
    log_in(tab, "carla@example.org")
    card = page.locator(f"#request-{request.id}")
    assert "Start: level" not in card.inner_text() and "Level 1 → 2" in card.inner_text()
    card.get_by_label("Note").fill("Play two more matches first.\nThen ask again.")
    reject = card.get_by_role("button", name="Reject")

    if js:
        # Saying "no" to the dialog leaves the request alone.
        dialogs = []
        page.once("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        reject.click()
        assert dialogs and dialogs[0].startswith("Reject this request?")
        assert _status(app, request.id) == RequestStatus.PENDING
        # Saying "yes" decides at once, in place.
        page.once("dialog", lambda d: d.accept())
        with page.expect_response(lambda r: r.url.endswith("/reject")):
            reject.click()
        card = page.locator(f"#request-{request.id}")
        card.get_by_text("Request rejected").wait_for()
        tab.check()
    else:
        with page.expect_navigation():
            reject.click()
        tab.check()
        confirm = page.locator(".reject-confirm")
        assert "Reject this request?" in confirm.inner_text()
        assert "Play two more matches first." in confirm.inner_text()
        assert _status(app, request.id) == RequestStatus.PENDING
        with page.expect_navigation():
            confirm.get_by_role("button", name="Yes, reject").click()
        tab.check()
        assert "Request rejected" in page.inner_text("main")

    assert _status(app, request.id) == RequestStatus.REJECTED
    with app.app_context():
        note = db.session.get(UpgradeRequest, request.id).decision_note
    # The note survives the confirmation page whole (a form sends line breaks as CRLF).
    assert note.replace("\r\n", "\n") == "Play two more matches first.\nThen ask again."
