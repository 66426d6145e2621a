"""Certificate PDFs: rendered once per license state, then served from a cache.

WeasyPrint renders ``templates/pdf/certificate.html`` with :class:`StaticOnlyFetcher`,
which serves files from the portal's own ``static/`` folder and makes the render
fail on any other address (http, https, file outside ``static/``, data ...). So
text a user typed, such as a name, can never make the server fetch anything.

The certificate speaks the HOLDER's language (``holder.locale``, else English), whoever
downloads it: :func:`pdf` and :func:`start_renders` force it around the render (``html_for``
writes in the current language). Its dates are written as that language writes them: the
expiry date as the calendar date it is (never moved by a time zone), the moments (issued,
revoked...) on the academy's clock.

The cache holds one file per license state under ``CERTIFICATE_CACHE_DIR``; its
name is a digest of everything the certificate shows (its fields, the signed
message, the signature and key id, the public address in the QR code, the language,
clock and form of the name it is written with, and the template version), so any change to
a license or its holder's language gives a new file and a stale PDF is never served. Files are written
atomically, and only after a successful render.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, render_template
from flask_babel import force_locale, get_locale

from portal.credentials import issuing
from portal.credentials import status as credential_status
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses import chain, qr, state, visibility
from portal.licenses.pdf_render import ForbiddenResource, StaticOnlyFetcher, html_to_pdf  # noqa: F401 (re-exported)
from portal.models.catalogue import Level
from portal.models.license import License, LicenseStatus
from portal.names import display_name

log = logging.getLogger(__name__)
# WeasyPrint logs every render step at INFO; only its warnings belong in the portal's log.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

# Bump when the certificate's template or stylesheet changes, so cached PDFs are redone.
TEMPLATE_VERSION = "3"  # 3: PDF/A-3a, tagged, with the credential attached
TEMPLATE = "pdf/certificate.html"


class CertificateError(PortalError):
    status = 503

    """The certificate could not be produced; nothing was cached or changed."""


def static_root() -> Path:
    return Path(current_app.static_folder)


def fetcher() -> StaticOnlyFetcher:
    return StaticOnlyFetcher(static_root())


def check_integrity(license: License) -> None:
    """Refuse to vouch for a license whose history or signature does not hold."""
    result = chain.verify_history(license)
    if not result.ok:
        raise CertificateError(f"license {license.code}: {result.summary()}")
    if not state.check(license):
        raise CertificateError(f"license {license.code}: the signature does not match its state")


def language_of(license: License) -> str:
    """The language the certificate is written in: its holder's, else English."""
    from portal.i18n import DEFAULT, LANGUAGES  # noqa: PLC0415  (i18n imports the app's parts)
    code = getattr(license.holder, "locale", None)
    return code if code in LANGUAGES else DEFAULT


# Built once (a statement's cache key is computed once, not per download).
_LEVEL = sa.select(Level).where(Level.specialization_id == sa.bindparam("specialization_id"),
                                Level.number == sa.bindparam("number"))


def catalogue_titles(license: License) -> tuple[str, str | None]:
    """The specialization's name and the level's own title (None for a level that is only
    numbered) in the holder's language."""
    language = language_of(license)
    level = db.session.scalar(_LEVEL, {"specialization_id": license.specialization_id,
                                       "number": license.level})
    level_title = level.title_in(language) if level is not None else None
    if level_title == Level.numbered_in(license.level, language):
        level_title = None  # "Level 2" is said already
    return license.specialization.name_in(language), level_title


def html_for(license: License) -> str:
    """The certificate page as HTML (cheap; the PDF conversion is the costly part), in the
    current language: callers force the holder's (``with force_locale(language_of(license))``)."""
    fields = state.public_fields(license)
    specialization_title, level_title = catalogue_titles(license)
    return render_template(
        TEMPLATE,
        language=str(get_locale() or "en"),
        license=license,
        fields=fields,
        valid=license.status == LicenseStatus.ACTIVE and not _past_expiry(license),
        effective_status=effective_status(license),
        specialization_title=specialization_title,
        level_title=level_title,
        # The holder hands the certificate to anyone: it shows what the public may see.
        status=visibility.status_for(license, visibility.PUBLIC),
        qr_svg=qr.svg_inline(license),
        verify_url=qr.verification_url(license, signed=False),
        academy=current_app.config["PORTAL_ACADEMY_NAME"],
    )


# Renders for web requests run here, so a request can give up after a time limit.
_request_renders = ThreadPoolExecutor(max_workers=2, thread_name_prefix="certificate")
_process_pool: ProcessPoolExecutor | None = None


def render(license: License) -> bytes:
    """The certificate of ``license`` as PDF bytes, within CERTIFICATE_RENDER_TIMEOUT.

    Raises CertificateError when WeasyPrint fails, takes too long, or the template
    asks for a resource it may not have.
    """
    html = html_for(license)
    future = _request_renders.submit(html_to_pdf, html, str(static_root()), credential_json(license))
    try:
        return future.result(timeout=current_app.config["CERTIFICATE_RENDER_TIMEOUT"])
    except FutureTimeout:
        raise CertificateError(f"rendering the certificate of {license.code} took too long") from None
    except RuntimeError as exc:
        raise CertificateError(f"rendering the certificate of {license.code} failed: {exc}") from exc


def _pool() -> ProcessPoolExecutor:
    global _process_pool
    if _process_pool is None:
        # Fresh interpreters (spawn), so no database connection or lock is inherited.
        _process_pool = ProcessPoolExecutor(
            max_workers=max(1, os.cpu_count() or 1), mp_context=multiprocessing.get_context("spawn")
        )
    return _process_pool


def prerender(licenses: list[License]) -> dict[int, str | None]:
    """Render and cache many certificates, in parallel processes when worth it.

    Returns {license id: None when ready, else the reason it failed}. The caller
    has checked each license's integrity; cached ones are not redone.
    """
    return finish_renders(start_renders(licenses))


def start_renders(licenses: list[License]) -> list[tuple[int, Path, object]]:
    """Begin rendering; the work goes on in other processes while the caller continues.

    Each entry is (license id, cache path, a future or a finished result). Pass the
    list to :func:`finish_renders` (in an app context) to collect and cache them.
    """
    pending: list[tuple[int, Path, object]] = []
    root = str(static_root())
    todo = []
    for license in licenses:
        with force_locale(language_of(license)):
            path = cache_path(license)
            if path.exists():
                pending.append((license.id, path, None))
            else:
                todo.append((license.id, path, html_for(license), credential_json(license)))
    parallel = len(todo) >= 4
    for license_id, path, html, attached in todo:
        if parallel:
            pending.append((license_id, path, _pool().submit(html_to_pdf, html, root, attached)))
        else:
            try:
                pending.append((license_id, path, html_to_pdf(html, root, attached)))
            except RuntimeError as exc:
                pending.append((license_id, path, exc))
    return pending


def finish_renders(pending: list[tuple[int, Path, object]]) -> dict[int, str | None]:
    outcome: dict[int, str | None] = {}
    for license_id, path, result in pending:
        if result is None:  # already cached
            outcome[license_id] = None
            continue
        if hasattr(result, "result"):
            try:
                result = result.result()
            except Exception as exc:  # a crashed worker process included
                result = exc
        if isinstance(result, BaseException):
            outcome[license_id] = str(result)
            continue
        _write_atomically(path, result)
        for old in cache_dir().glob(f"{license_id}-*.pdf"):
            if old != path:
                old.unlink(missing_ok=True)
        outcome[license_id] = None
    return outcome


def _current_credential(license: License):
    """The license's credential in force, when it is up to date (never made here: bulk renders
    run in transactions that are rolled back)."""
    row = credential_status.current(license)
    if row is None or row.level != license.level or row.valid_until != license.expires_at:
        return None
    return row


def _credential_id(license: License) -> str:
    row = _current_credential(license)
    return row.uuid if row is not None else ""


def credential_json(license: License) -> str | None:
    """The credential to attach to the certificate, as JSON, or None when it has none yet."""
    row = _current_credential(license)
    if row is None:
        return None
    return json.dumps(issuing.signed_credential(row), indent=2, ensure_ascii=False)


def _past_expiry(license: License) -> bool:
    return license.expires_at is not None and license.expires_at <= utcnow()


def effective_status(license: License) -> str:
    """The status a reader should see: an active license past its expiry date is expired."""
    if license.status == LicenseStatus.ACTIVE and _past_expiry(license):
        return LicenseStatus.EXPIRED
    return license.status


def cache_key(license: License, credential_id: str | None = None) -> str:
    """``credential_id``: the uuid of the credential in force, when the caller has it."""
    parts = [
        TEMPLATE_VERSION,
        # What is shown (the specialization's current name too) and what is signed.
        state.payload(state.public_fields(license)).decode(),
        state.signed_message(license).decode(),
        # The specialization and level as the holder's language names them.
        *[title or "" for title in catalogue_titles(license)],
        license.signature,
        license.key_id,
        effective_status(license),
        # The language it is written in: a holder who changes theirs gets a new file.
        language_of(license),
        current_app.config["PORTAL_BASE_URL"],
        current_app.config["PORTAL_ACADEMY_NAME"],
        # Dates in the academy's zone; the holder named as the certificate's language does.
        current_app.config["PORTAL_TIMEZONE"], display_name(license.holder, language_of(license)),
        # The attached credential: a new one (level change, renewal) gives a new file.
        _credential_id(license) if credential_id is None else credential_id,
    ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def cache_dir() -> Path:
    path = Path(current_app.config["CERTIFICATE_CACHE_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def cache_path(license: License) -> Path:
    return cache_dir() / f"{license.id}-{cache_key(license)}.pdf"


def cached_path(license: License) -> tuple[Path, str, bool]:
    """The certificate as a file in the cache (rendered first when it is not there), its
    cache key (the HTTP ETag: it changes with everything the PDF shows) and whether it was
    there already. Checks the history chain and the signature first, as ``pdf`` does."""
    check_integrity(license)
    # A license older than credentials gets one (the route commits).
    credential = credential_status.ensure(license)
    with force_locale(language_of(license)):  # the holder's language, whoever asks
        key = cache_key(license, credential.uuid)
        path = cache_dir() / f"{license.id}-{key}.pdf"
        if path.is_file():
            return path, key, True
        data = render(license)
    _write_atomically(path, data)
    _drop_older(license, keep=path)
    return path, key, False


def pdf(license: License) -> tuple[bytes, bool]:
    """The certificate's bytes and whether they came from the cache.

    Checks the license's history chain and signature first. Raises
    CertificateError when they do not hold or the render fails; then nothing is
    written.
    """
    check_integrity(license)
    # A license older than credentials gets one (the route commits).
    credential = credential_status.ensure(license)
    with force_locale(language_of(license)):  # the holder's language, whoever asks
        path = cache_dir() / f"{license.id}-{cache_key(license, credential.uuid)}.pdf"
        try:
            return path.read_bytes(), True
        except FileNotFoundError:
            pass
        data = render(license)
    _write_atomically(path, data)
    _drop_older(license, keep=path)
    return data, False


def _write_atomically(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".pdf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _drop_older(license: License, keep: Path) -> None:
    """Remove the PDFs of this license's earlier states."""
    for old in path_glob(license):
        if old != keep:
            old.unlink(missing_ok=True)


def path_glob(license: License) -> list[Path]:
    return sorted(cache_dir().glob(f"{license.id}-*.pdf"))
