"""Public pages: what a visitor sees before logging in."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_visitor_pages_are_accessible_and_clean(portal, browse, js):
    tab = browse("visitor", js=js)
    tab.goto("/")
    assert tab.page.locator("h1").count() == 1
    tab.shot("landing")

    tab.page.get_by_role("link", name="Verify a certificate").first.click()
    tab.wait_for_path("/verify")
    tab.check()
    tab.shot("verify-form")

    tab.goto("/auth/login")
    tab.shot("login")
    tab.goto("/auth/register")
    tab.shot("register")
    tab.goto("/auth/forgot-password")

    response = tab.goto("/no-such-page")
    assert response.status == 404
    tab.shot("not-found")


def test_dark_scheme_keeps_contrast(portal, browse):
    """The system's dark scheme: Pico and our colours switch together, still AA."""
    tab = browse("night", color_scheme="dark")
    tab.goto("/")
    background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(255, 255, 255)"
    tab.shot("landing-dark")
    tab.goto("/auth/login")
    tab.goto("/verify")
    tab.shot("verify-form-dark")
