"""My account in a browser: the time zone starts as the browser's (with JavaScript), the
profile saves, and a new e-mail address is confirmed through the link in the outbox."""
from __future__ import annotations

import re

import pytest

from tests.support.journeys import JOURNEY_PASSWORD, log_in
from tests.support.mail import link_in, wait_for_mail


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_profile_and_a_new_address(portal, browse, make_user, js):
    make_user("student", name="Alex Moreno", email="alex@example.org", password=JOURNEY_PASSWORD)
    tab = browse("student", js=js)
    page = tab.page
    log_in(tab, "alex@example.org")
    page.locator("details.account-menu summary").click()
    with page.expect_navigation():
        page.get_by_role("link", name="My account").click()
    tab.check()
    assert tab.path == "/account"
    # The context's zone is Europe/Madrid: the script offers it on a first visit.
    assert page.input_value("#timezone") == ("Europe/Madrid" if js else "UTC")
    tab.shot("account")
    page.fill("#name", "Alex Moreno Díaz")
    page.fill("#timezone", "Europe/Budapest")
    with page.expect_navigation(url=re.compile(r"/account$")) if not js else page.expect_response(
            lambda r: r.url.endswith("/account/profile")):
        page.get_by_role("button", name="Save profile").click()
    page.wait_for_function("() => /profile is saved/i.test(document.body.innerText)")
    tab.check()
    assert page.input_value("#name") == "Alex Moreno Díaz"

    page.fill("#new_email", "alex.new@example.org")
    page.fill("#current_password", JOURNEY_PASSWORD)
    page.get_by_role("button", name="Change e-mail address").click()
    page.wait_for_function("() => /sent a link to alex.new@example.org/i.test(document.body.innerText)")
    tab.check()
    [(_s, text)] = wait_for_mail(portal.instance_path / "outbox", "alex.new@example.org")
    page.goto(link_in(text, "/account/confirm-email/"))
    tab.check()
    assert "alex.new@example.org" in page.inner_text("main")
