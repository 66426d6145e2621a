"""Upgrade requests: asking for the next level, and the review that decides it.

Plain functions with the acting user explicit, like the license services they
build on; they never commit. A refused action raises ``LicenseError``; an
already-decided request raises ``RequestConflict``.
"""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext

from portal.audit import actions
from portal.audit.services import record
from portal.exceptions import NotYours
from portal.licenses import rules
from portal.licenses.services import (
    LicenseError,
    RequestConflict,
    already_decided_message,
    apply_change,
    decide_request,
    issue_license,
    new_request,
    pending_request_for,
    tell_reviewers,
)
from portal.models.license import License, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.notification import Category
from portal.notifications.services import notify

NOT_YOURS = lazy_gettext(
    "You can only decide requests of students in your classes, in the specializations you teach."
)


def request_upgrade(license: License, reason: str, actor) -> UpgradeRequest:
    """Ask for the next level. Raises LicenseError unless the license is active, below
    the top level, and has no other pending request."""
    reason = (reason or "").strip()
    spec = license.specialization
    if not reason:
        raise LicenseError(_("Please say why you are ready for the next level."), field="reason")
    problem = rules.upgrade_problem(license, pending_request_for(license.holder_id, spec.id))
    if problem:
        raise LicenseError(problem, field="reason")
    to_level = rules.next_level(license, spec)
    request = new_request(license.holder, spec, license, to_level, reason)
    record(
        actor,
        actions.LICENSE_UPGRADE_REQUESTED,
        request,
        license=license.code,
        from_level=license.level,
        to_level=to_level,
    )
    tell_reviewers(request, actor)
    return request



def approve_request(request: UpgradeRequest, actor, note: str | None = None) -> License:
    """Approve: raise the license by one level (or issue level 1). Raises NotYours unless
    ``rules.may_review`` (an instructor who does not teach the student in that
    specialization, or a first level only an admin decides), LicenseError when requirements are
    missing and no note is given or the license cannot change, RequestConflict when the
    request was decided meanwhile."""
    note = (note or "").strip() or None
    if not rules.may_review(actor, request, lock=True):
        raise NotYours(str(NOT_YOURS))
    if request.status != RequestStatus.PENDING:
        raise RequestConflict(already_decided_message(request))
    spec = request.specialization
    student = request.user
    gate = rules.requirements_gate(request)  # None for a start request: no note about level 1
    missing = gate is not None and not rules.requirements_met(
        rules.requirements_status(student, spec, gate)
    )
    if missing and not note:
        raise LicenseError(_(
            "Some requirements of this level are not confirmed yet; "
            "add a note explaining why you approve anyway."
        ))
    license = request.license
    if request.from_level == 0:
        problem = rules.eligibility_problem(student, spec)
        if problem and problem.reason == rules.NEEDS_CONSENT:
            raise LicenseError(_("Record the guardian's consent before approving this request."))
        if problem:
            raise LicenseError(_("%(name)s cannot start %(specialization)s: %(reason)s.", name=student.name,
                                 specialization=spec.local_name, reason=problem.to_staff()))
    else:
        if license is None or license.status != LicenseStatus.ACTIVE:
            raise LicenseError(_("Only an active license can be upgraded."))
        if license.level != request.from_level:
            raise RequestConflict(_("The license changed since this request was made."))

    decide_request(request, RequestStatus.APPROVED, actor, note)
    if request.from_level == 0:
        license = issue_license(student, spec, 1, actor, note=note, announce=False)
        request.license_id = license.id
    else:
        apply_change(license, "upgraded", actor, note=note, level=request.to_level)
    record(
        actor,
        actions.LICENSE_UPGRADE_APPROVED,
        license,
        request_id=request.id,
        from_level=request.from_level,
        to_level=request.to_level,
        requirements_missing=missing,
        note=note,
    )
    notify(student, Category.DECISIONS, "request_approved", license_id=license.id, level=request.to_level,
           specialization=spec.name, note=note)
    return license


def reject_request(request: UpgradeRequest, actor, note: str) -> UpgradeRequest:
    """Reject with a note (required). Raises NotYours, LicenseError, RequestConflict."""
    note = (note or "").strip()
    if not rules.may_review(actor, request, lock=True):
        raise NotYours(str(NOT_YOURS))
    if not note:
        raise LicenseError(_("Please tell the student why the request is rejected."))
    decide_request(request, RequestStatus.REJECTED, actor, note)
    record(
        actor,
        actions.LICENSE_UPGRADE_REJECTED,
        request,
        license_id=request.license_id,
        specialization=request.specialization.code,
        to_level=request.to_level,
        note=note,
    )
    notify(request.user, Category.DECISIONS, "request_rejected", license_id=request.license_id,
           level=request.to_level, specialization=request.specialization.name, note=note)
    return request


def withdraw_request(request: UpgradeRequest, actor) -> UpgradeRequest:
    """The student takes back their own pending request."""
    if getattr(actor, "id", None) != request.user_id:
        raise NotYours(_("Only the student who asked can withdraw a request."))
    decide_request(request, RequestStatus.WITHDRAWN, actor, None)
    record(
        actor,
        actions.LICENSE_UPGRADE_WITHDRAWN,
        request,
        license_id=request.license_id,
        to_level=request.to_level,
    )
    return request
