"""The landing page in a browser: the Register button lines up with the navigation links."""
from __future__ import annotations

import pytest

# Each visible link of the site's navigation: its box and the box of its text line.
MEASURE = """() => [...document.querySelectorAll('header nav .nav-links a')]
    .filter(a => a.offsetParent !== null)
    .map(a => {
        const box = a.getBoundingClientRect();
        const range = document.createRange();
        range.selectNodeContents(a);
        const text = range.getBoundingClientRect();
        return {name: a.textContent.trim(), top: box.top, bottom: box.bottom, left: box.left,
                height: box.height, textTop: text.top, textBottom: text.bottom};
    })"""


@pytest.mark.parametrize("width", [1280, 390])
def test_register_lines_up_with_the_navigation(portal, browse, width):
    tab = browse(f"visitor-{width}", viewport={"width": width, "height": 900})
    tab.goto("/")
    page = tab.page
    assert page.get_by_role("heading", name="How a certificate is verified").is_visible()
    assert page.locator(".certificate-picture [role=img]").is_visible()
    if not page.locator("header nav .nav-links a", has_text="Register").first.is_visible():
        # A phone layout may fold the navigation into a menu: open it first.
        page.locator("header nav").get_by_text("Menu", exact=True).first.click()
    links = {box["name"]: box for box in page.evaluate(MEASURE)}
    register = links.pop("Register")
    assert links, "the navigation has links besides Register"
    for name, link in links.items():
        same_row = abs(link["top"] - register["top"]) < register["height"] / 2
        if same_row:  # side by side: the same box top and bottom, the same text line
            for edge in ("top", "bottom", "textTop", "textBottom"):
                assert abs(link[edge] - register[edge]) <= 1, (width, name, edge, link, register)
        else:  # stacked in a menu: the same left edge and height
            assert abs(link["left"] - register["left"]) <= 1, (width, name, link, register)
            assert abs(link["height"] - register["height"]) <= 1, (width, name, link, register)
    # Nothing sticks out sideways.
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
