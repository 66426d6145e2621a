"""Account journeys: ending another device's session, and a password reset through the outbox."""
from __future__ import annotations

import re

import pytest

from tests.support.journeys import JOURNEY_PASSWORD, log_in
from tests.support.mail import link_in, wait_for_mail


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_user_logs_out_the_other_device(busy_portal, browse, make_user, js):
    # Two workers: the phone's next request may reach the other process, which must
    # still see that its session has ended.
    make_user("student", name="Alex Moreno", email="alex@example.org", password=JOURNEY_PASSWORD)
    laptop = browse("laptop", js=js)
    phone = browse("phone", js=js)
    log_in(phone, "alex@example.org")
    log_in(laptop, "alex@example.org")

    laptop.goto("/auth/sessions")
    page = laptop.page
    rows = page.locator("#sessions tbody tr")
    assert rows.count() == 2
    assert "This device" in page.inner_text("#sessions tr.current-session")
    laptop.shot("sessions")
    other = page.locator("#sessions tbody tr:not(.current-session)")
    if js:
        with page.expect_response(lambda r: "/revoke" in r.url):
            other.get_by_role("button", name="Log out", exact=True).click()
    else:
        with page.expect_navigation():
            other.get_by_role("button", name="Log out", exact=True).click()
    laptop.check()
    page.wait_for_function("() => document.querySelectorAll('#sessions tbody tr').length === 1")
    assert "only device" in page.inner_text("#sessions")

    # The phone is logged out at its next click.
    with phone.page.expect_navigation():
        phone.page.get_by_role("link", name="Dashboard").first.click()
    phone.check()
    assert phone.path == "/auth/login"
    # The laptop carries on.
    laptop.goto("/dashboard")
    assert laptop.path == "/dashboard"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_password_reset_through_the_outbox(portal, browse, make_user, js):
    make_user("student", name="Alex Moreno", email="alex@example.org", password="an old forgotten password")
    tab = browse("student", js=js)
    page = tab.page
    tab.goto("/auth/login")
    with page.expect_navigation():
        page.get_by_role("link", name=re.compile("Forgot", re.I)).click()
    tab.check()
    page.fill("#email", "alex@example.org")
    page.get_by_role("button", name=re.compile("link", re.I)).click()
    page.wait_for_function(
        "() => /check your|sent|if an account/i.test(document.querySelector('main').innerText)")
    tab.check()

    [(_, text)] = wait_for_mail(portal.instance_path / "outbox", "alex@example.org")
    link = link_in(text, "/auth/reset-password/")
    assert link.startswith(portal.url)
    page.goto(link)
    tab.check()
    page.fill("#password", JOURNEY_PASSWORD)
    page.fill("#confirm_password", JOURNEY_PASSWORD)
    with page.expect_navigation(url=re.compile(r"/(dashboard|auth/login)")):
        page.locator("main form button[type=submit]").click()
    tab.check()

    # The link worked once; the new password opens the account.
    tab.allowed_statuses.add(400)
    page.goto(link)
    tab.check()
    assert re.search(r"expired|used|invalid|no longer", page.inner_text("main"), re.I)
    fresh = browse("again", js=js)
    log_in(fresh, "alex@example.org", JOURNEY_PASSWORD)
    assert "Welcome, Alex Moreno" in fresh.page.inner_text("h1")
