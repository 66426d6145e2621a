"""A license's documents: the certificate PDF and the QR code."""
from __future__ import annotations

import logging

from flask import Response
from flask_babel import lazy_gettext
from flask_login import current_user

from portal.audit import actions
from portal.audit.services import record
from portal.db import begin_write
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
def certificate(license_id: int):
    license = owned_license_or_404(license_id, current_user)
    try:
        data, cached = certificates.pdf(license)
    except certificates.CertificateError:
        log.exception("certificate of license %s not produced", license_id)
        db.session.rollback()
        return error_response(503, str(CERTIFICATE_FAILED))
    begin_write(db.session)
    record(
        current_user, actions.LICENSE_CERTIFICATE_DOWNLOADED, license,
        code=license.code, level=license.level, status=license.status, cached=cached,
    )
    db.session.commit()
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="license-{license.code}.pdf"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/<int:license_id>/qr.svg", endpoint="qr")
def qr_svg(license_id: int):
    license = owned_license_or_404(license_id, current_user)
    response = Response(qr.svg(license), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response
