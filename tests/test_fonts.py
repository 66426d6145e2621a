"""Names on certificates: emoji print with the colour emoji font; characters that no installed
font can draw are refused beside the name field, so a certificate never shows empty boxes."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
from pathlib import Path

import pypdf
import pytest
import sqlalchemy as sa

from portal import fonts
from portal.auth import services as accounts
from portal.extensions import db
from portal.models.user import Role, User
from tests.support.http import login

EMOJI_NAME = "Zoë 🏆 Smith"

needs_fontconfig = pytest.mark.skipif(shutil.which("fc-list") is None,
                                      reason="fontconfig (fc-list) is missing")


def fonts_with(char: str) -> list[str]:
    """The installed font families that have ``char``, asked of fontconfig directly."""
    out = subprocess.run(["fc-list", f":charset={ord(char):x}", "family"], capture_output=True, text=True,
                         check=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def pdf_fonts(reader: pypdf.PdfReader) -> set[str]:
    """The base font names used on the pages, including inside form XObjects."""
    names, todo = set(), [page.get("/Resources") for page in reader.pages]
    while todo:
        resources = todo.pop()
        if resources is None:
            continue
        resources = resources.get_object()
        for font in (resources.get("/Font") or {}).values():
            names.add(str(font.get_object().get("/BaseFont")))
        for xobject in (resources.get("/XObject") or {}).values():
            xobject = xobject.get_object()
            if xobject.get("/Resources") is not None:
                todo.append(xobject["/Resources"])
    return names


@pytest.fixture
def fresh_coverage():
    """Ask fontconfig again in this test, and again after it."""
    fonts.coverage.cache_clear()
    yield
    fonts.coverage.cache_clear()


@needs_fontconfig
@pytest.mark.skipif(not shutil.which("fc-list") or not fonts_with("🏆"),
                    reason="no emoji font: `make browser` installs fonts-noto-color-emoji as root")
def test_a_name_with_emoji_prints_on_the_certificate(app, client, make_user, signed_license):
    holder = make_user(Role.STUDENT, name=EMOJI_NAME)
    license = signed_license(holder=holder)
    login(client, holder)

    response = client.get(f"/licenses/{license.id}/certificate.pdf")

    assert response.status_code == 200
    if os.environ.get("PORTAL_KEEP_CERTIFICATE"):  # to look at it: the name, not boxes
        Path(os.environ["PORTAL_KEEP_CERTIFICATE"]).write_bytes(response.data)
    reader = pypdf.PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert EMOJI_NAME in text
    # The trophy is drawn by a font that has it (the colour emoji font), not as a box.
    used = pdf_fonts(reader)
    assert any("Emoji" in name for name in used), used


@needs_fontconfig
def test_a_character_no_font_has_gets_a_field_error_at_registration(app, client, fresh_coverage):
    assert not fonts_with("\ue000") and not fonts_with("\u0378")  # private use; unassigned
    response = client.post("/auth/register", data={
        "name": "Ada \ue000 Lovelace", "email": "ada.pua@example.org",
        "password": "a long unusual passphrase 5",
        "confirm_password": "a long unusual passphrase 5", "date_of_birth": "2000-01-01",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    error = body[body.index('id="name-error"'):]
    assert "The certificate cannot print U+E000" in error[:300]
    assert 'value="Ada \ue000 Lovelace"' in body  # what was typed is kept
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "ada.pua@example.org")) is None


@needs_fontconfig
def test_a_character_no_font_has_gets_a_field_error_when_an_admin_creates_an_account(
    app, client, logged_admin, fresh_coverage
):
    response = client.post("/admin/users/new", data={
        "name": "Greek \u0378 Gap", "email": "gap@example.org", "role": "student", "date_of_birth": "",
    })
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="name-error"' in body and "U+0378" in body
    with app.app_context():
        assert db.session.scalar(sa.select(User).where(User.email == "gap@example.org")) is None


@needs_fontconfig
def test_without_an_emoji_font_an_emoji_name_is_refused(app, tmp_path, monkeypatch, fresh_coverage):
    """A machine with only DejaVu: the same name is refused instead of printing a box."""
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        "<dir>/usr/share/fonts/truetype/dejavu</dir>"
        f"<cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>")
    monkeypatch.setenv("FONTCONFIG_FILE", str(config))
    assert not fonts_with("🏆") and fonts_with("ë")
    with app.app_context():
        with pytest.raises(accounts.AuthError) as refused:
            accounts.create_user("zoe@example.org", EMOJI_NAME, Role.STUDENT)
        assert refused.value.field == "name" and "“🏆” (U+1F3C6)" in refused.value.message
        # Letters, accents, and characters that draw nothing by design stay welcome.
        assert accounts.validate_name("  Zoë \u200d Smith-Ñandú  ") == "Zoë \u200d Smith-Ñandú"


def test_markup_in_a_name_is_kept_as_text_everywhere(app, client, make_user, signed_license):
    name = "<b>Bold</b> & <i>Co</i>"
    holder = make_user(Role.STUDENT, name=name)
    license = signed_license(holder=holder)
    login(client, holder)
    page = client.get(f"/licenses/{license.id}").get_data(as_text=True)
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; &lt;i&gt;Co&lt;/i&gt;" in page and "<b>Bold</b>" not in page
    pdf = client.get(f"/licenses/{license.id}/certificate.pdf")
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert name in text
