"""A passkey in a real browser: Chromium's virtual authenticator (the DevTools WebAuthn
domain, through Playwright's CDP session) stands in for a phone's or laptop's. Register a
passkey on My account › Passkeys, log out, log in with it, no password typed.

WebAuthn needs a secure context and a domain as the RP ID: http://localhost is both, and
the live server's base URL (http://127.0.0.1:port) gives the RP ID ``localhost``
(``portal.auth.passkeys.relying_party``), so the browser opens the portal there."""
from __future__ import annotations

import re

from tests.support.journeys import JOURNEY_PASSWORD, log_in
from tests.support.mail import wait_for_mail


def virtual_authenticator(page) -> tuple[object, str]:
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    made = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True, "automaticPresenceSimulation": True,
    }})
    return cdp, made["authenticatorId"]


def test_register_a_passkey_log_out_and_log_in_with_it(portal, browse, make_user):
    make_user("student", name="Kim Passkey", email="kim@example.org", password=JOURNEY_PASSWORD)
    tab = browse("student", base_url=portal.url.replace("127.0.0.1", "localhost"))
    page = tab.page
    cdp, authenticator = virtual_authenticator(page)

    log_in(tab, "kim@example.org")
    tab.goto("/account")
    with page.expect_navigation():
        page.get_by_role("link", name="Passkeys").click()
    tab.check()
    assert "You have no passkeys yet" in page.inner_text("main")
    tab.shot("passkeys-empty")
    page.fill("#passkey-name", "Test laptop")
    with page.expect_navigation(url=re.compile(r"/account/passkeys$")):
        page.get_by_role("button", name="Add a passkey").click()
    tab.check()
    assert "Test laptop" in page.inner_text("#passkeys")
    assert "is added" in page.inner_text("main")
    tab.shot("passkeys")
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    wait_for_mail(portal.instance_path / "outbox", "kim@example.org",
                  subject="A passkey was added to your Portal account")

    page.locator("details.account-menu summary").click()
    with page.expect_navigation():
        page.get_by_role("button", name="Log out", exact=True).click()
    tab.check()

    tab.goto("/auth/login")
    button = page.get_by_role("button", name="Log in with a passkey")
    button.wait_for(state="visible")
    tab.shot("login-passkey")
    with page.expect_navigation(url=re.compile(r"/dashboard$")):
        button.click()
    tab.check()
    assert "Kim Passkey" in page.inner_text("body")
    tab.goto("/account/passkeys")
    assert "Never" not in page.inner_text("#passkeys tbody")  # last used: just now
