"""A license's documents: the certificate PDF and the QR code."""
from __future__ import annotations

import io
import logging

from flask import Response, request, send_file
from flask_babel import lazy_gettext
from flask_login import current_user

from portal.audit import actions
from portal.audit.services import record
from portal.db import writes
from portal.errors import error_response
from portal.extensions import db
from portal.licenses import bp, certificates, qr
from portal.licenses.queries import owned_license_or_404

log = logging.getLogger(__name__)

CERTIFICATE_FAILED = lazy_gettext(
    "The certificate could not be produced right now. Nothing was changed; please try again "
    "in a few minutes, and contact the academy if it keeps happening."
)


@bp.get("/<int:license_id>/certificate.pdf")
@writes  # its audit event, and the credential of a license older than credentials
def certificate(license_id: int):
    license = owned_license_or_404(license_id, current_user)
    try:
        path, key, cached = certificates.cached_path(license)
        # Read now, whole (tens of kilobytes): another process may replace the file with a
        # newer state's at any time, and nothing stays open after the answer.
        data = path.read_bytes()
    except (certificates.CertificateError, FileNotFoundError):
        log.exception("certificate of license %s not produced", license_id)
        db.session.rollback()
        return error_response(503, str(CERTIFICATE_FAILED))
    response = send_file(io.BytesIO(data), mimetype="application/pdf",
                         download_name=f"license-{license.code}.pdf", as_attachment=False,
                         etag=key, conditional=True, max_age=None)
    record(
        current_user, actions.LICENSE_CERTIFICATE_DOWNLOADED, license,
        code=license.code, level=license.level, status=license.status, cached=cached,
        not_modified=response.status_code == 304,
    )
    db.session.commit()
    # A signed-in page is never stored (a client that kept it may still ask If-None-Match).
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:license_id>/qr.svg", endpoint="qr")
def qr_svg(license_id: int):
    license = owned_license_or_404(license_id, current_user)
    response = Response(qr.svg(license), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    response.add_etag()
    return response.make_conditional(request)
