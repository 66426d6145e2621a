"""/achievements in a browser at phone and desktop widths: badges read by name and state,
axe clean; hiding them and showing them again; the admin's definition form."""
from __future__ import annotations

from portal.achievements import rules
from tests.support.journeys import JOURNEY_PASSWORD, log_in


def _widths(tab) -> None:
    """axe at 390 px and at 1280 px, the page still whole at each."""
    page = tab.page
    for width in (390, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        tab.check()
        assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_student_achievements_page(portal, browse, make_user, make_specialization, make_license,
                                   make_achievement):
    make_achievement("First login", rules.LOGIN, 1, xp=10, icon="key")
    make_achievement("First license", rules.LICENSE, 1, xp=50, icon="shield")
    make_achievement("Five logins", rules.LOGIN, 5, xp=30, icon="calendar")
    student = make_user("student", email="ana@example.org", password=JOURNEY_PASSWORD)
    make_license(student, make_specialization())
    tab = browse("student")
    page = tab.page
    log_in(tab, "ana@example.org")
    assert "XP level 2" in page.inner_text("main")  # the dashboard
    page.locator("details.account-menu summary").click()
    with page.expect_navigation():
        page.get_by_role("link", name="My achievements", exact=True).click()
    assert tab.path == "/achievements"
    _widths(tab)
    tab.shot("achievements")
    main = page.inner_text("main")
    assert "60 XP" in main and "1 of 5 logins" in main and "Not earned yet" in main
    # Each badge's icon is an image with a name; the state is in words.
    assert page.get_by_role("img", name="Key").count() == 1
    assert page.get_by_role("progressbar", name="Progress: Five logins").count() == 1
    page.get_by_label("Show my achievements, XP and level").uncheck()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    tab.check()
    assert "are hidden" in page.inner_text("main") and "XP level" not in page.inner_text("main")
    page.get_by_label("Show my achievements, XP and level").check()
    with page.expect_navigation():
        page.get_by_role("button", name="Save").click()
    _widths(tab)
    assert "XP level 2" in page.inner_text("main")


def test_admin_defines_an_achievement(portal, browse, make_user):
    make_user("admin", email="root@example.org", password=JOURNEY_PASSWORD)
    tab = browse("admin")
    page = tab.page
    log_in(tab, "root@example.org")
    tab.goto("/admin/achievements")
    with page.expect_navigation():
        page.get_by_role("button", name="New achievement").click()
    _widths(tab)
    page.fill("#title", "Team player")
    page.get_by_label("People").check()
    page.fill("#xp", "20")
    page.select_option("#trigger", "class")
    with page.expect_navigation():
        page.get_by_role("button", name="Create").click()
    assert tab.path == "/admin/achievements"
    _widths(tab)
    assert "Team player" in page.inner_text("main")
