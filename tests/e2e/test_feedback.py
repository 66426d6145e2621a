"""Actions that say what happened, in the browser: "New code" announces the new join code
in the page's live region (htmx and no-JS), and typed line breaks show as line breaks."""
from __future__ import annotations

import pytest

from tests.support.journeys import JOURNEY_PASSWORD, log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_new_code_is_announced_in_the_live_region(
    portal, browse, make_user, make_specialization, make_class, js
):
    spec = make_specialization("PLY", "Player")
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    klass = make_class(coach, spec, "Saturday squad")
    tab = browse("instructor", js=js)
    page = tab.page
    page.on("dialog", lambda dialog: dialog.accept())
    log_in(tab, "carla@example.org")
    tab.goto(f"/dashboard/classes/{klass.id}")
    assert klass.join_code in page.inner_text("#join-code")
    button = page.locator("#join-code").get_by_role("button", name="New code")
    if js:
        with page.expect_response(lambda r: r.url.endswith("/rotate-code")):
            button.click()
    else:
        with page.expect_navigation():
            button.click()
    page.wait_for_function(
        "() => document.querySelector('#flashes').textContent.includes('old code no longer works')"
    )
    tab.check()
    region = page.locator("#flashes")
    assert region.get_attribute("aria-live") == "polite" and region.get_attribute("role") == "status"
    new_code = page.inner_text("#join-code code.join-code").strip()
    assert new_code != klass.join_code and new_code in region.inner_text()
    # One live region says it once (the box itself holds no second one).
    assert page.locator("#join-code [role=status], #join-code [aria-live]").count() == 0
    assert page.locator("#flashes").count() == 1


def test_typed_line_breaks_show_as_line_breaks(portal, browse, make_user, make_specialization,
                                               make_license, make_request, make_class, join):
    spec = make_specialization("PLY", "Player")
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    student = make_user("student", name="Alex Moreno")
    join(student, make_class(coach, spec, "Saturday squad"))
    request = make_request(make_license(student, spec, 1), "Passed the fitness test.\nPlayed a full season.")
    tab = browse("instructor")
    log_in(tab, "carla@example.org")
    tab.goto("/licenses/requests/")
    reason = tab.page.locator(f"#request-{request.id} blockquote")
    assert reason.evaluate("el => getComputedStyle(el).whiteSpace") == "pre-line"
    assert reason.inner_text().strip() == "Passed the fitness test.\nPlayed a full season."
