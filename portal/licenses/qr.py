"""QR codes that point at a license's public verification page.

The QR encodes ``PORTAL_BASE_URL/verify/<code>?kid=<key id>&sig=<signature>``. The
code alone is enough to look the license up; the key id and signature in the link
let a verifier check the printed certificate offline against
``/.well-known/portal-keys.json``, and let the verification page tell whether a
printed certificate still shows the license's current state. The link is about
170 characters: a version 9-10 symbol at error correction level M, which scans
reliably at the size it is printed on the certificate (40 mm) and shown on screen.
"""
from __future__ import annotations

import io
from urllib.parse import quote, urlencode

import segno
from flask import current_app
from flask_babel import gettext as _

from portal.models.license import License

ERROR_LEVEL = "m"
QUIET_ZONE = 4  # modules; the minimum the QR standard asks for


def verification_url(license: License, *, signed: bool = True) -> str:
    """The public verification address of ``license``; with its signature unless told not to."""
    url = f"{current_app.config['PORTAL_BASE_URL']}/verify/{quote(license.code)}"
    if signed and license.signature and license.key_id:
        url += "?" + urlencode({"kid": license.key_id, "sig": license.signature})
    return url


def make(license: License) -> segno.QRCode:
    return segno.make(verification_url(license), error=ERROR_LEVEL, micro=False)


def svg(license: License, *, scale: int = 4) -> bytes:
    """A standalone SVG document (for ``/licenses/<id>/qr.svg``)."""
    out = io.BytesIO()
    make(license).save(
        out,
        kind="svg",
        scale=scale,
        border=QUIET_ZONE,
        dark="#000",
        light="#fff",
        title=_("Verification QR code for license %(code)s", code=license.code),
        desc=verification_url(license, signed=False),
    )
    return out.getvalue()


def svg_inline(license: License) -> str:
    """An ``<svg>`` element to inline in HTML or a PDF; sized by CSS through its viewBox."""
    return make(license).svg_inline(
        scale=1,
        border=QUIET_ZONE,
        dark="#000",
        light="#fff",
        omitsize=True,
        svgclass="qr",
        lineclass=None,
        title=_("QR code: %(url)s", url=verification_url(license, signed=False)),
    )


def url_svg_inline(url: str, *, title: str) -> str:
    """An inline ``<svg>`` QR code for any address (the landing page's sample certificate)."""
    return segno.make(url, error=ERROR_LEVEL, micro=False).svg_inline(
        scale=1, border=QUIET_ZONE, dark="#000", light="#fff", omitsize=True, svgclass="qr",
        lineclass=None, title=title,
    )
