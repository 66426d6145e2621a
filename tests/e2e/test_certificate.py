"""A license's public life: certificate, QR verification, revocation, and its audit trail."""
from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest
import zxingcpp
from PIL import Image
from pypdf import PdfReader

from tests.support.journeys import JOURNEY_PASSWORD, log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_certificate_verification_revocation_and_audit(
    portal, browse, make_user, make_specialization, make_license, js
):
    spec = make_specialization("PLY", "Player", max_level=3)
    admin = make_user("admin", name="Ada Admin", email="ada@example.org", password=JOURNEY_PASSWORD)
    student = make_user("student", name="Alex Moreno", email="alex@example.org", password=JOURNEY_PASSWORD)
    license = make_license(student, spec, 1, actor=admin)

    # The student downloads the certificate from the license page.
    holder = browse("student", js=js)
    log_in(holder, "alex@example.org")
    holder.goto(f"/licenses/{license.id}")
    with holder.page.expect_download() as download_info:
        holder.page.get_by_role("button", name="Download certificate (PDF)").click()
    pdf = PdfReader(io.BytesIO(download_info.value.path().read_bytes()))
    text = " ".join(page.extract_text() for page in pdf.pages)
    assert license.code in text and "Alex Moreno" in text and "Player" in text

    # The QR code on the page carries the public verification URL.
    qr = holder.page.locator("figure.license-qr img")
    image = Image.open(io.BytesIO(qr.screenshot())).convert("L")
    decoded = [r.text for r in zxingcpp.read_barcodes(image)]
    assert decoded and urlsplit(decoded[0]).path == f"/verify/{license.code}"
    verification_path = urlsplit(decoded[0]).path

    # An anonymous visitor opens it: valid, signature checked.
    visitor = browse("visitor", js=js)
    visitor.goto(verification_path)
    main = visitor.page.inner_text("main")
    assert "Valid" in main and "Signature verified" in main
    assert "alex@example.org" not in main
    visitor.shot("verification-valid")

    # An admin revokes the license.
    office = browse("admin", js=js)
    log_in(office, "ada@example.org")
    office.shot("admin-dashboard")
    office.goto(f"/admin/licenses/{license.id}")
    with office.page.expect_navigation():
        office.page.get_by_role("button", name="Revoke…").click()
    office.check()
    office.page.select_option("#reason_category", index=1)
    office.page.fill("#note", "Certificate shared with a forged signature.")
    with office.page.expect_navigation():
        office.page.get_by_role("button", name="Revoke the license").click()
    office.check()
    assert "revoked" in office.page.inner_text("main").lower()

    # The verification page now says revoked.
    visitor.page.reload()
    visitor.check()
    assert "Not valid: revoked" in visitor.page.inner_text("main")
    visitor.shot("verification-revoked")

    # The admin finds the story in the audit viewer with its filters, then exports it.
    office.goto("/audit/")
    office.shot("audit-viewer")
    page = office.page
    page.select_option("#resource_type", "license")
    if js:  # the table updates live as one types, and the URL keeps the filters
        page.locator("#resource_id").press_sequentially(str(license.id), delay=50)
        page.wait_for_function(
            "(id) => new URLSearchParams(location.search).get('resource_id') === id", arg=str(license.id))
        page.wait_for_function(
            "() => document.querySelector('#audit-results').innerText.includes('license.revoked')")
    else:
        page.fill("#resource_id", str(license.id))
        with page.expect_navigation():
            page.get_by_role("button", name="Apply filters").click()
    office.check()
    results = page.inner_text("#audit-results")
    for action in ("license.issued", "license.certificate_downloaded", "license.revoked"):
        assert action in results, action
    assert f"resource_id={license.id}" in page.url

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these events as CSV").click()
    rows = list(csv.DictReader(io.StringIO(download_info.value.path().read_text(), newline="")))
    exported = {row["action"] for row in rows}
    assert {"license.issued", "license.certificate_downloaded", "license.revoked"} <= exported
    assert all(row["resource_id"] == str(license.id) for row in rows)

    # And who did it: the holder's own events, found by actor.
    office.goto("/audit/?actor=alex%40example.org")
    assert "license.certificate_downloaded" in page.inner_text("#audit-results")
    assert "license.revoked" not in page.inner_text("#audit-results")
