"""Turning certificate HTML into PDF bytes, with a fetcher limited to static files.

Kept free of Flask so that it can also run in worker processes (bulk jobs render
many certificates in parallel, one process per core).
"""
from __future__ import annotations

import mimetypes
import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint import HTML
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


def html_to_pdf(html: str, static_root: str) -> bytes:
    """Render; any failure (including a forbidden fetch) raises RuntimeError."""
    try:
        return HTML(
            string=html, base_url=path2url(Path(static_root)), url_fetcher=StaticOnlyFetcher(static_root)
        ).write_pdf()
    except (Exception, FatalURLFetchingError) as exc:  # FatalURLFetchingError is a BaseException
        # Re-raised as a plain, picklable error so it crosses process boundaries intact.
        raise RuntimeError(f"{exc.__class__.__name__}: {exc}") from None
