"""Credential routes: a license's credential (JSON, JWT), the DID document, the status
lists, and checking a credential someone pasted or uploaded."""
from __future__ import annotations

import json
from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.audit import actions
from portal.audit.services import record
from portal.credentials import issuing
from portal.credentials import verifying as V
from portal.credentials.forms import CredentialVerifyForm
from portal.credentials.status import PURPOSES
from portal.credentials.words import verdict_text
from portal.db import begin_write, utcnow
from portal.extensions import db
from portal.licenses import queries, verification
from portal.public.routes import verify_limit

JSON_LD = "application/ld+json"
bp = Blueprint("credentials", __name__)
# Input that is not a credential at all gets a 4xx; every verdict on a credential is a 200.
REFUSED = {V.TOO_LARGE: 413, V.MALFORMED: 422, V.CONTEXT_REFUSED: 422}


def _json(document: dict, filename: str, *, private: bool) -> object:
    response = make_response(json.dumps(document, indent=2, ensure_ascii=False))
    response.mimetype = "application/vc+ld+json" if "proof" in document else JSON_LD
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store" if private else "no-cache"
    return response


def _downloaded(license, document: dict, form: str) -> None:
    """Audit the holder's or staff's download, as the certificate's is (and commit a credential
    made just now with it)."""
    record(current_user, actions.LICENSE_CREDENTIAL_DOWNLOADED, license, code=license.code,
           level=license.level, credential=document["id"], form=form)
    db.session.commit()


@bp.get("/licenses/<int:license_id>/credential.json")
@login_required
def license_json(license_id: int):
    license = queries.owned_license_or_404(license_id, current_user)
    begin_write(db.session)  # this GET may make the credential, and is audited
    document = issuing.credential_for(license)  # a license older than credentials gets one now
    _downloaded(license, document, "json")
    return _json(document, f"{license.code}.credential.json", private=True)


@bp.get("/licenses/<int:license_id>/credential.jwt")
@login_required
def license_jwt(license_id: int):
    license = queries.owned_license_or_404(license_id, current_user)
    begin_write(db.session)
    token = issuing.jwt_for(license)
    _downloaded(license, issuing.credential_for(license), "jwt")
    response = make_response(token)
    response.mimetype = "application/vc+jwt"
    response.headers["Content-Disposition"] = f'inline; filename="{license.code}.credential.jwt"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/verify/<code>/credential.json")
@verify_limit
def public_json(code: str):
    """Anyone holding the code gets the credential (the code is what a certificate shows)."""
    result = verification.verify(code)
    if not result.found or result.state == verification.State.INVALID:
        abort(404)
    begin_write(db.session)  # a license older than credentials gets one now
    document = issuing.credential_for(result.license)
    db.session.commit()
    return _json(document, f"{result.license.code}.credential.json", private=False)


@bp.get("/.well-known/did.json")
def did_json():
    response = jsonify(issuing.did_document())
    response.mimetype = "application/did+json"
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.get("/credentials/status/<purpose>")
def status_list(purpose: str):
    if purpose not in PURPOSES:
        abort(404)
    document, etag = issuing.status_list(purpose)
    response = make_response(json.dumps(document, indent=2))
    response.mimetype = "application/vc+ld+json"
    response.set_etag(etag)
    # Short-lived, and revalidated cheaply: a revocation shows within a minute.
    response.headers["Cache-Control"] = "public, max-age=60, must-revalidate"
    return response.make_conditional(request)


def check(data: bytes | str) -> V.Verdict:
    """Verify with the portal's own published files, built in-process (no network)."""
    lists = {issuing.status_list_url(p): issuing.status_list(p)[0] for p in PURPOSES}
    verdict = V.verify(data, issuing.did_document(), lists, utcnow())
    if verdict.code == V.REVOKED:
        row = issuing.credential_row((verdict.credential or {}).get("id"))
        if row is not None and row.superseded_at is not None:
            verdict.code, verdict.since = V.SUPERSEDED, row.superseded_at
        elif row is not None:
            verdict.since = row.revoked_at
    return verdict


@bp.route("/verify/credential", methods=["GET", "POST"])
@verify_limit
def verify_credential():
    form = CredentialVerifyForm()
    verdict = None
    status = 200
    if request.method == "POST":
        if not form.validate_on_submit():
            status = 400
        else:
            upload = form.file.data
            if upload and getattr(upload, "filename", ""):
                data = upload.stream.read(V.MAX_BYTES + 1)
            else:
                data = (form.credential.data or "").encode("utf-8", "replace")
            if not data.strip():
                form.credential.errors = [_("Paste a credential, or choose its file.")]
                status = 422
            else:
                verdict = check(data)
                status = REFUSED.get(verdict.code, 200)
    response = make_response(render_template(
        "credentials/verify.html", form=form, verdict=verdict,
        message=verdict_text(verdict) if verdict else None,
        max_kb=V.MAX_BYTES // 1024,
    ), status)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.app_template_global()
def linkedin_url(license) -> str:
    """LinkedIn's "Add to profile" link for a license, filled in: name, organisation, issue
    and expiry month, the license code as the credential id, the verification page as its URL."""
    params = {
        "startTask": "CERTIFICATION_NAME",
        "name": f"{license.specialization.name} — level {license.level}",
        "organizationName": current_app.config["PORTAL_ACADEMY_NAME"],
        "issueYear": license.issued_at.year, "issueMonth": license.issued_at.month,
        "certId": license.code,
        "certUrl": f"{current_app.config['PORTAL_BASE_URL']}/verify/{license.code}",
    }
    if license.expires_at is not None:
        params.update(expirationYear=license.expires_at.year, expirationMonth=license.expires_at.month)
    return "https://www.linkedin.com/profile/add?" + urlencode(params)
