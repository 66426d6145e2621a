"""The landing page: what the academy is, how a certificate is verified, where to log in or
register, and a picture of a certificate made on the page (nothing loaded from elsewhere)."""
from __future__ import annotations

import re
from html import unescape

from portal.extensions import db
from portal.models.catalogue import Specialization
from portal.models.user import Role
from tests.support.http import login


def test_the_landing_page_says_what_the_academy_is_and_how_to_verify(app, client, make_specialization):
    make_specialization("PLY", "Player")
    make_specialization("COA", "Coach")
    gone = make_specialization("OLD", "Retired track")
    with app.app_context():
        db.session.get(Specialization, gone.id).archived_at = db.func.now()
        db.session.commit()

    response = client.get("/")

    assert response.status_code == 200
    body = response.get_data(as_text=True)
    text = unescape(re.sub(r"<[^>]+>", " ", body))
    text = " ".join(text.split())
    # What the academy is, with the specializations it offers today.
    assert "Portal Academy is a training academy." in text
    assert "Students take a specialization (Player or Coach) and earn its license level by level" in text
    assert "Retired track" not in text
    # How a certificate is verified, with the way in for a visitor and for a script.
    assert "How a certificate is verified" in text
    assert "Scan the QR code on the certificate with a phone camera, or type its license code" in text
    assert 'href="/verify"' in body and 'href="/.well-known/portal-keys.json"' in body
    # Where to register or log in, in the page and in the navigation.
    assert body.count('href="/auth/register"') >= 2 and body.count('href="/auth/login"') >= 2
    assert "Instructors and admins get their account from the academy" in text
    # A picture of a certificate, described for screen readers, with a real QR code of the
    # verification form; everything it shows comes from this page and the portal's own files.
    picture = body[body.index('<figure class="certificate-picture">'):body.index("</figure>")]
    assert ('role="img" aria-label="A sample certificate: Portal Academy certifies that '
            "Jordan Example") in picture
    assert "Certificate of License" in picture and "Player License · Level 2" in picture
    assert "<svg" in picture and "<path" in picture and "QR code: http://portal.test/verify" in picture
    sources = re.findall(r'\b(?:src|href)="([^"]+)"', body)
    assert sources and all(s.startswith(("/", "#")) for s in sources), sources
    assert "<img" in picture and 'src="/static/pdf/emblem.svg"' in picture


def test_the_landing_page_without_specializations_still_reads_well(client):
    text = client.get("/").get_data(as_text=True)
    assert "Students take a specialization and earn its license" in " ".join(text.split())


def test_a_logged_in_visitor_goes_to_the_dashboard(client, make_user):
    login(client, make_user(Role.STUDENT))
    response = client.get("/")
    assert response.status_code in (302, 303) and response.headers["Location"].endswith("/dashboard")
