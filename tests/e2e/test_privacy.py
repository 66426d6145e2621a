"""Privacy in a browser: a student prepares a copy of their data, downloads the ZIP, then
erases their account and can no longer log in."""
from __future__ import annotations

import io
import json
import re
import zipfile

import pytest

from tests.support.journeys import JOURNEY_PASSWORD, log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_export_download_and_delete_my_account(portal, browse, make_user, make_specialization,
                                               make_license, js):
    spec = make_specialization("PLY", "Player", max_level=3)
    admin = make_user("admin", name="Ada Admin", email="ada@example.org", password=JOURNEY_PASSWORD)
    student = make_user("student", name="Robin Quill", email="robin@example.org", password=JOURNEY_PASSWORD)
    license = make_license(student, spec, 1, actor=admin)

    tab = browse("student", js=js)
    page = tab.page
    log_in(tab, "robin@example.org")
    tab.goto("/account")
    with page.expect_navigation():
        page.get_by_role("link", name="Privacy and your data").click()
    tab.check()
    assert tab.path == "/account/privacy"
    with page.expect_navigation(url=re.compile(r"/account/exports/\d+$")):
        page.get_by_role("button", name="Prepare my data").click()
    download_link = page.get_by_role("button", name="Download your data (ZIP)")
    # The first certificate render of a fresh server can be slow on a busy machine.
    if js:  # htmx polls the progress until the link appears
        download_link.wait_for(timeout=240_000)
    else:  # without JavaScript: reload until it is ready
        for _attempt in range(480):
            if download_link.count():
                break
            page.wait_for_timeout(500)
            page.reload()
        download_link.wait_for()
    tab.check()
    tab.shot("privacy-export")
    with page.expect_download() as download_info:
        download_link.click()
    archive = zipfile.ZipFile(io.BytesIO(download_info.value.path().read_bytes()))
    assert json.loads(archive.read("profile.json"))["account"]["email"] == "robin@example.org"
    assert f"certificates/{license.code}.pdf" in archive.namelist()

    tab.goto("/account/privacy")
    page.fill("#current_password", "not my password")
    page.fill("#confirm", "DELETE")
    page.get_by_role("button", name="Erase my account").click()
    page.wait_for_function("() => /not your current password/i.test(document.body.innerText)")
    tab.check()
    page.fill("#current_password", JOURNEY_PASSWORD)
    page.fill("#confirm", "DELETE")
    page.get_by_role("button", name="Erase my account").click()
    page.wait_for_function("() => /personal data are erased/i.test(document.body.innerText)")
    tab.check()

    again = browse("student-again", js=js)
    again.goto("/auth/login")
    again.page.fill("#email", "robin@example.org")
    again.page.fill("#password", JOURNEY_PASSWORD)
    again.page.get_by_role("button", name="Log in", exact=True).click()
    again.page.wait_for_function("() => /password is not correct/i.test(document.body.innerText)")
    again.check()
    assert again.path.startswith("/auth/login")
