"""Languages in the browser: a visitor switches from the footer, a Hungarian student reads
their dashboard in Hungarian, and a Spanish student's certificate is in Spanish.

With ``make screenshots`` the Hungarian dashboard and the first page of the Spanish
certificate are kept in docs/screenshots/ for the README.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from portal import seed
from portal.extensions import db
from portal.models.license import License
from portal.models.user import User
from portal.seed.accounts import DEMO_PASSWORD
from tests.support.journeys import log_in

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.fixture
def demo(app):
    with app.app_context():
        seed.demo()
        db.session.commit()


def _holder_license(app, email: str) -> License:
    with app.app_context():
        return db.session.scalar(
            sa.select(License).join(User, License.holder_id == User.id)
            .where(User.email == email, License.status == "active").order_by(License.id))


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_visitor_switches_language_from_the_footer(portal, browse, js):
    tab = browse("visitor", js=js)
    tab.goto("/")
    page = tab.page
    assert page.get_attribute("html", "lang") == "en"
    with page.expect_navigation():
        page.locator("footer").get_by_role("link", name="Magyar").click()
    tab.check()
    assert page.get_attribute("html", "lang") == "hu"
    assert page.locator("header").get_by_role("link", name="Bejelentkezés").is_visible() or \
        page.locator("header summary").is_visible()
    # The choice holds on the next page, and the login form speaks Hungarian.
    tab.goto("/auth/login")
    assert page.get_attribute("html", "lang") == "hu"
    assert page.get_by_role("button", name="Bejelentkezés", exact=True).is_visible()
    with page.expect_navigation():
        page.locator("footer").get_by_role("link", name="Español").click()
    tab.check()
    assert page.get_attribute("html", "lang") == "es"
    assert page.get_by_role("button", name="Iniciar sesión", exact=True).is_visible()


def test_a_hungarian_student_reads_the_dashboard_in_hungarian(portal, browse, demo):
    tab = browse("student")
    log_in(tab, "eszter@demo.academy", DEMO_PASSWORD)
    page = tab.page
    assert page.get_attribute("html", "lang") == "hu"
    nav = page.get_by_role("navigation", name="Fő")
    assert nav.get_by_role("link", name="Licenceim").count() == 1
    assert "Áttekintés" in page.inner_text("header")
    tab.shot("student-dashboard-hu")


def test_a_spanish_students_certificate_is_in_spanish(portal, browse, app, demo):
    license = _holder_license(app, "mateo@demo.academy")
    assert license is not None
    tab = browse("student")
    log_in(tab, "mateo@demo.academy", DEMO_PASSWORD)
    assert tab.page.get_attribute("html", "lang") == "es"
    response = tab.page.request.get(f"{tab.base_url}/licenses/{license.id}/certificate.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    body = response.body()
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(body)).pages)
    assert "Mateo Hernández" in text and license.code in text
    assert "Certificado" in text or "certifica" in text, text[:400]
    if os.environ.get("PORTAL_SCREENSHOTS") == "1" and shutil.which("pdftoppm"):
        # The first page at screen resolution, as the README shows it.
        target = str(DOCS_SCREENSHOTS / "certificate-es")
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-singlefile", "-", target],
                       input=body, check=True, timeout=120)
