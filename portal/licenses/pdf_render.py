"""Turning certificate HTML into PDF bytes, with a fetcher limited to static files.

Kept free of Flask so that it can also run in worker processes (bulk jobs render
many certificates in parallel, one process per core).
"""
from __future__ import annotations

import mimetypes
import os
from functools import cache
from importlib.resources import files
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML, Attachment
from weasyprint.css import ColorProfile
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse, path2url


class ForbiddenResource(FatalURLFetchingError):
    """A certificate asked for something outside the portal's static files."""


class StaticOnlyFetcher(URLFetcher):
    """Serve ``file:`` URLs inside one folder; refuse everything else, fatally.

    Raising a ``FatalURLFetchingError`` stops the whole render (WeasyPrint would
    otherwise only log a warning and leave the resource out).
    """

    def __init__(self, root: str | os.PathLike, **kwargs):
        super().__init__(allowed_protocols=("file",), fail_on_errors=True, **kwargs)
        self.root = Path(root).resolve()

    def fetch(self, url, headers=None):
        parts = urlsplit(url)
        if parts.scheme.lower() != "file" or parts.netloc not in ("", "localhost"):
            raise ForbiddenResource(f"certificate may not fetch {url[:200]!r}")
        path = Path(unquote(parts.path)).resolve()
        if not path.is_relative_to(self.root) or not path.is_file():
            raise ForbiddenResource(f"certificate may not fetch {url[:200]!r}")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path2url(path), path.read_bytes(), {"Content-Type": mime})


# PDF/A-3 level A: archival, tagged (a structure tree in reading order, /Lang from the page's
# lang, alternate text for figures), and allowed to carry the credential as an attached file.
PDF_VARIANT = "pdf/a-3a"
CREDENTIAL_FILENAME = "credential.json"


@cache
def _srgb() -> ColorProfile:
    """The sRGB output intent PDF/A asks for, loaded once (WeasyPrint's own loading leaves
    the profile's file open)."""
    with (files("weasyprint.pdf") / "sRGB2014.icc").open("rb") as fh:
        return ColorProfile(fh, "sRGB2014.icc", "relative-colorimetric", (["r"], ["g"], ["b"]))


def html_to_pdf(html: str, static_root: str, credential_json: str | None = None) -> bytes:
    """Render; any failure (including a forbidden fetch) raises RuntimeError. The credential
    (Open Badges JSON-LD), when given, is attached as ``credential.json`` with the
    AFRelationship ``Data``: the certificate is a rendering of it."""
    attachments = []
    if credential_json:
        attachments.append(Attachment(
            string=credential_json.encode(), name=CREDENTIAL_FILENAME, relationship="Data",
            description="Open Badges 3.0 credential (W3C Verifiable Credential)"))
    try:
        return HTML(
            string=html, base_url=path2url(Path(static_root)), url_fetcher=StaticOnlyFetcher(static_root)
        ).write_pdf(pdf_variant=PDF_VARIANT, pdf_tags=True, attachments=attachments,
                    color_profiles={"portal-srgb": _srgb()}, output_intent="portal-srgb")
    except (Exception, FatalURLFetchingError) as exc:  # FatalURLFetchingError is a BaseException
        # Re-raised as a plain, picklable error so it crosses process boundaries intact.
        raise RuntimeError(f"{exc.__class__.__name__}: {exc}") from None
