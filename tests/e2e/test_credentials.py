"""Sharing a license as a credential: the license page's downloads and copy link (with and
without JavaScript), and the credential checked on /verify/credential; both pages fit a phone."""
from __future__ import annotations

import json

import pytest

from tests.e2e.test_layout import DESKTOP, PHONE, layout_problems
from tests.support.journeys import JOURNEY_PASSWORD, log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_download_copy_and_check_a_credential(portal, browse, make_user, make_specialization,
                                              make_license, js):
    spec = make_specialization("PLY", "Player", max_level=3, validity_months=12)
    student = make_user("student", name="Alex Moreno", email="alex@example.org",
                        password=JOURNEY_PASSWORD)
    license = make_license(student, spec, 1)

    holder = browse("student", js=js)
    log_in(holder, "alex@example.org")
    holder.goto(f"/licenses/{license.id}")
    for size in (PHONE, DESKTOP):
        holder.page.set_viewport_size(size)
        assert layout_problems(holder) == [], size
    linkedin = holder.page.get_by_role("link", name="Add to LinkedIn").get_attribute("href")
    assert linkedin.startswith("https://www.linkedin.com/profile/add?") and license.code in linkedin

    with holder.page.expect_download() as download_info:
        holder.page.get_by_role("button", name="Download credential (Open Badges)").click()
    credential = download_info.value.path().read_text()
    assert json.loads(credential)["credentialSubject"]["licenseNumber"] == license.code

    copy = holder.page.get_by_role("link", name="Copy verification link")
    if js:
        holder.page.context.grant_permissions(["clipboard-read", "clipboard-write"],
                                              origin=holder.base_url)
        copy.click()
        holder.page.get_by_text("Verification link copied.").wait_for()
        assert holder.page.evaluate("navigator.clipboard.readText()").endswith(f"/verify/{license.code}")
    else:
        with holder.page.expect_navigation():
            copy.click()
        assert holder.path == f"/verify/{license.code}"
        holder.check()

    visitor = browse("visitor", js=js)
    visitor.goto("/verify/credential")
    for size in (PHONE, DESKTOP):
        visitor.page.set_viewport_size(size)
        assert layout_problems(visitor) == [], size
    visitor.page.get_by_label("Credential (JSON or JWT)").fill(credential)
    with visitor.page.expect_navigation():
        visitor.page.get_by_role("button", name="Check this credential").click()
    visitor.check()
    assert "Valid. Issued by" in visitor.page.inner_text("main")
