"""Sharing a license: the license page's LinkedIn, copy-link and download links, and the
verification page's link to the credential."""
from __future__ import annotations

from html import unescape
from urllib.parse import parse_qs, urlsplit

from tests.support.http import login


def test_the_license_page_offers_sharing_and_downloads(client, signed_license, holder_of):
    license = signed_license(validity_months=12)
    login(client, holder_of(license))
    page = client.get(f"/licenses/{license.id}").text
    assert f'href="/licenses/{license.id}/credential.json"' in page
    assert f'href="/licenses/{license.id}/credential.jwt"' in page
    assert f'href="/licenses/{license.id}/certificate.pdf"' in page
    # Copy works as a plain link without JavaScript.
    assert f'<a href="http://portal.test/verify/{license.code}" data-copy' in page
    start = page.index("https://www.linkedin.com/profile/add?")
    link = unescape(page[start:page.index('"', start)])
    query = {k: v[0] for k, v in parse_qs(urlsplit(link).query).items()}
    assert query["startTask"] == "CERTIFICATION_NAME"
    assert query["name"] == "Player — level 1" and query["organizationName"] == "Portal Academy"
    assert query["certId"] == license.code
    assert query["certUrl"] == f"http://portal.test/verify/{license.code}"
    assert query["issueYear"] == str(license.issued_at.year) and "expirationYear" in query


def test_the_verification_page_links_to_the_credential(client, signed_license):
    license = signed_license()
    page = client.get(f"/verify/{license.code}").text
    assert f'href="/verify/{license.code}/credential.json"' in page
    assert 'href="/verify/credential"' in page
