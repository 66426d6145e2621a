"""Two-factor sign-in in a browser: an admin who must use it is sent to set it up, scans
(reads) the key, saves the recovery codes, and logs in again with the second step; a
recovery code works once. With and without JavaScript."""
from __future__ import annotations

import re
from pathlib import Path

import pyotp
import pytest

from tests.support.journeys import JOURNEY_PASSWORD, log_in
from tests.support.live import BROWSER_THREADS


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_an_admin_sets_up_two_factor_and_logs_in_with_it(live_server, browse, app, make_user, js):
    server = live_server(workers=1, threads=BROWSER_THREADS, PORTAL_ADMIN_2FA_REQUIRED="1")
    browse.base_url = server.url
    make_user("admin", name="Ada Lovelace", email="ada@example.org", password=JOURNEY_PASSWORD)
    tab = browse("admin", js=js)
    page = tab.page
    log_in(tab, "ada@example.org")
    # Admins must: every page sends to the set-up page until it is on.
    assert tab.path == "/account/two-factor"
    tab.goto("/admin/users")
    assert tab.path == "/account/two-factor"
    with page.expect_navigation():
        page.get_by_role("button", name="Set up an authenticator app").click()
    tab.check()
    secret = page.inner_text("#totp-secret").strip()
    assert page.locator(".totp-qr svg").count() == 1
    totp = pyotp.TOTP(secret)
    page.fill("#code", totp.now())
    with page.expect_navigation():
        page.get_by_role("button", name="Turn on two-factor sign-in").click()
    tab.check()
    codes = page.locator(".recovery-code").all_inner_texts()
    assert len(codes) == 10
    tab.shot("two-factor-recovery-codes")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download as a text file").click()
    assert codes[0] in Path(download.value.path()).read_text()
    tab.goto("/admin/users")
    assert tab.path == "/admin/users"

    # Log out, log in again: the password, then a recovery code (typed in capitals).
    page.locator("details.account-menu summary").click()
    with page.expect_navigation():
        page.locator("form[action$='/auth/logout'] button").first.click()
    tab.check()
    tab.goto("/auth/login")
    page.fill("#email", "ada@example.org")
    page.fill("#password", JOURNEY_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    tab.wait_for_path("/auth/two-factor")
    tab.check()
    tab.shot("two-factor-login")
    page.fill("#code", codes[0].upper())
    page.get_by_role("button", name="Log in", exact=True).click()
    tab.wait_for_path("/dashboard")
    page.wait_for_function("() => /recovery code/i.test(document.body.innerText)")
    tab.check()
    assert re.search(r"9 are left", page.inner_text("body"))
