"""A license's documents: the certificate PDF and the QR code."""
from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Response, abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from portal.audit import actions
from portal.audit.services import record
from portal.db import begin_write
from portal.errors import error_response
from portal.extensions import db
from portal.licenses import bp, certificates, qr
from portal.licenses.services import teaches
from portal.models.license import License
from portal.models.user import Role
from portal.permissions import not_yours

log = logging.getLogger(__name__)

CERTIFICATE_FAILED = (
    "The certificate could not be produced right now. Nothing was changed; please try again "
    "in a few minutes, and contact the academy if it keeps happening."
)


def visible_license_or_404(license_id: int) -> License:
    """The license if the current user may see it: its holder, an admin, or an instructor
    with the holder in one of their classes. Anyone else gets the same 404 as for a
    missing license."""
    license = db.session.scalar(
        sa.select(License)
        .options(joinedload(License.holder), joinedload(License.specialization))
        .where(License.id == license_id)
    )
    if license is None:
        abort(404)
    if current_user.role == Role.ADMIN or license.holder_id == current_user.id:
        return license
    if current_user.role == Role.INSTRUCTOR and teaches(current_user, license.holder_id):
        return license
    not_yours()


@bp.get("/<int:license_id>/certificate.pdf")
def certificate(license_id: int):
    license = visible_license_or_404(license_id)
    try:
        data, cached = certificates.pdf(license)
    except certificates.CertificateError:
        log.exception("certificate of license %s not produced", license_id)
        db.session.rollback()
        return error_response(503, CERTIFICATE_FAILED)
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
    license = visible_license_or_404(license_id)
    response = Response(qr.svg(license), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-store"
    return response
