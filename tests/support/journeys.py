"""Steps the browser journeys share: logging in through the form, moving with the keyboard."""
from __future__ import annotations

JOURNEY_PASSWORD = "a long journey password"

# The screenshots README.md shows (``tab.shot(name)`` saves ``name-phone`` and
# ``name-desktop``): `make screenshots` (PORTAL_SCREENSHOTS=1) copies these from the
# journeys into docs/screenshots/, so retaking them is one command.
README_SCREENSHOTS = frozenset({
    "landing-desktop", "landing-phone",
    "student-dashboard-desktop", "student-dashboard-phone", "license-page-desktop",
    "roster-phone", "instructor-queue-desktop",
    "verification-valid-phone", "verification-revoked-phone",
    "admin-dashboard-desktop", "admin-job-phone", "audit-viewer-desktop",
    "student-dashboard-hu-desktop",
})
# Taken from a PDF rather than a page (tests/e2e/test_languages.py renders it with pdftoppm).
README_PDF_SCREENSHOTS = frozenset({"certificate-es"})


def log_in(tab, email: str, password: str = JOURNEY_PASSWORD) -> None:
    tab.goto("/auth/login")
    page = tab.page
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in", exact=True).click()
    tab.wait_for_path("/dashboard|/auth/two-factor|/account/two-factor")
    if tab.path == "/auth/two-factor":  # an account with two-factor sign-in (the demo admin)
        tab.check()
        page.fill("#code", tab.code_for(email))
        page.get_by_role("button", name="Log in", exact=True).click()
        tab.wait_for_path("/dashboard|/account/two-factor")
    tab.check()


def password_step(tab, email: str, password: str = JOURNEY_PASSWORD) -> None:
    """Only the first step of a login with two-factor sign-in: the browser is on the second
    step's page, not logged in (every other page is as for anyone not logged in)."""
    tab.goto("/auth/login")
    page = tab.page
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in", exact=True).click()
    tab.wait_for_path("/auth/two-factor")
    tab.check()


def keyboard_to(tab, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    page = tab.page
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")
