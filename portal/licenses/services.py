"""License services: the lifecycle of a license, and the pending-request primitives
that starting a specialization, revoking and ``portal.licenses.reviews`` share.

Plain functions with the acting user explicit. They change state, add the
history row, re-sign the license and record the audit event; they never commit.
A refused action raises ``LicenseError`` (the message is safe to show); an
already-decided request raises ``RequestConflict``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import force_locale, lazy_gettext
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.exc import StaleDataError

from portal.achievements import awarding
from portal.achievements import rules as achievement_rules
from portal.audit import actions
from portal.audit.services import record
from portal.credentials import status as credential_status
from portal.db import utcnow
from portal.exceptions import Conflict, NotYours, PortalError
from portal.extensions import db
from portal.licenses import chain, codes, rules, state
from portal.models.catalogue import Specialization
from portal.models.consent import ConsentMethod, ConsentRecord
from portal.models.license import License, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.notification import Category
from portal.models.user import Role, User
from portal.notifications.services import notify
from portal.stats import summary

# Why a license was revoked: (value, label), shown on the form and the verification page.
# The value is stored and signed (English, for machines); the label is read in each language.
REVOKE_REASONS = (
    ("misconduct", lazy_gettext("Misconduct")),
    ("error", lazy_gettext("Issued in error")),
    ("fraud", lazy_gettext("Fraud")),
    ("holder_request", lazy_gettext("At the holder's request")),
    ("other", lazy_gettext("Other")),
)
REVOKE_REASON_LABELS = dict(REVOKE_REASONS)
HOLDER_RENAMED = "holder_renamed"
# Revoked because the holder's data was erased (portal.privacy.erasure): never offered on
# the revocation form, shown as "revoked at the holder's request".
HOLDER_ERASED = "holder_erased"


class LicenseError(PortalError):
    """A refused license action; the message is safe to show to the user."""


class RequestConflict(LicenseError, Conflict):
    """The request was already decided (or the license changed) by someone else."""


@dataclass
class Selection:
    """What starting a specialization produced: a license, or a pending request."""

    license: License | None
    request: UpgradeRequest | None
    message: str


# --- helpers ---------------------------------------------------------------


def _status_word(status: str) -> str:
    from portal.licenses.visibility import status_label  # noqa: PLC0415  (visibility imports this module)
    return status_label(status)


def _already_holds(holder: User, spec: Specialization) -> str:
    return _("%(name)s already holds a %(specialization)s license.", name=holder.name,
             specialization=spec.local_name)


NOT_RENEWABLE = {
    LicenseStatus.SUSPENDED: lazy_gettext("A suspended license cannot be renewed; reinstate it first."),
    LicenseStatus.REVOKED: lazy_gettext("A revoked license cannot be renewed; reinstate it first."),
    None: lazy_gettext("Only an active or expired license can be renewed; reinstate it first."),
}


def pending_request_message(spec: Specialization) -> str:
    return _("You already have a pending request for %(specialization)s.", specialization=spec.local_name)


ALREADY_DECIDED = {
    RequestStatus.APPROVED: lazy_gettext("This request was already approved."),
    RequestStatus.REJECTED: lazy_gettext("This request was already rejected."),
    RequestStatus.WITHDRAWN: lazy_gettext("This request was already withdrawn."),
}


def already_decided_message(request: UpgradeRequest) -> str:
    """Someone decided the request first: say what became of it."""
    return str(ALREADY_DECIDED.get(request.status, lazy_gettext("This request was already decided.")))


def add_months(moment: datetime, months: int) -> datetime:
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def pending_request_for(user_id: int, specialization_id: int) -> UpgradeRequest | None:
    return db.session.scalar(
        sa.select(UpgradeRequest).where(
            UpgradeRequest.user_id == user_id,
            UpgradeRequest.specialization_id == specialization_id,
            UpgradeRequest.status == RequestStatus.PENDING,
        )
    )


def _license_for(user_id: int, specialization_id: int) -> License | None:
    return db.session.scalar(
        sa.select(License).where(License.holder_id == user_id, License.specialization_id == specialization_id)
    )


def tell_holder(license: License, kind: str, actor=None, **extra) -> None:
    """Notify the holder of a change to their license (not when they made it themselves)."""
    if actor is not None and getattr(actor, "id", None) == license.holder_id:
        return
    notify(license.holder, Category.LICENSE_STATUS, kind, license_id=license.id, code=license.code,
           specialization=license.specialization.name, level=license.level, **extra)


def tell_reviewers(request: UpgradeRequest, actor) -> None:
    """One notification per new request to each instructor whose queue it joins, when the
    student asked (not when an admin made and decided it in one go)."""
    if getattr(actor, "id", None) != request.user_id:
        return
    for reviewer in rules.reviewers_of(request):
        notify(reviewer, Category.CLASSES, "request_waiting", request_id=request.id,
               student=request.user.name, specialization=request.specialization.name,
               level=request.to_level)


def apply_change(
    license: License, kind: str, actor, note: str | None = None, reason: str | None = None, **changes
) -> None:
    """Apply ``changes`` to the license and record them: history row, new head, new signature.

    Earlier work is flushed first; the change itself is then flushed once, so the
    license's version moves by exactly one per change.
    """
    _flush_license()
    with db.session.no_autoflush:
        for name, value in changes.items():
            setattr(license, name, value)
        license.updated_at = utcnow()
        chain.append(license, kind, actor, note=note, reason=reason)
        state.sign_license(license)
    _flush_license()
    # The license's Open Badges credential and its status-list bits follow, in this transaction.
    credential_status.license_changed(license, kind)
    awarding.on_event(license.holder, *achievement_rules.ON_LICENSE_CHANGE)


def _flush_license() -> None:
    """Flush, turning a lost optimistic-lock race into a conflict."""
    try:
        db.session.flush()
    except StaleDataError as exc:
        raise RequestConflict(_("This license was changed by someone else. Reload and try again.")) from exc


# --- starting and issuing ----------------------------------------------------


def issue_license(
    holder: User, spec: Specialization, level: int, actor, *, note: str | None = None, announce: bool = True
) -> License:
    """Issue a new license, and tell the holder (unless ``announce`` is False: the caller
    tells them otherwise). Raises LicenseError when the holder already has one in
    ``spec``, the level is out of range, or the specialization is archived."""
    if spec.archived_at is not None:
        raise LicenseError(_("%(specialization)s is no longer offered.", specialization=spec.local_name),
                           field="specialization")
    if not 1 <= level <= spec.max_level:
        raise LicenseError(_("%(specialization)s has levels 1 to %(top)d.", specialization=spec.local_name,
                             top=spec.max_level), field="level")
    if _license_for(holder.id, spec.id) is not None:
        raise LicenseError(_already_holds(holder, spec), field="specialization")
    now = utcnow()
    code = codes.generate(spec.code)
    while db.session.scalar(sa.select(License.id).where(License.code == code)) is not None:
        code = codes.generate(spec.code)  # 60 random bits: practically never taken
    license = License(
        code=code,
        holder=holder,
        specialization=spec,
        level=level,
        status=LicenseStatus.ACTIVE,
        issued_at=now,
        updated_at=now,
        expires_at=add_months(now, spec.validity_months) if spec.validity_months else None,
        issued_by_id=getattr(actor, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(license)
            db.session.flush()
    except IntegrityError as exc:
        raise LicenseError(_already_holds(holder, spec), field="specialization") from exc
    apply_change(license, "issued", actor, note=note)
    record(
        actor,
        actions.LICENSE_ISSUED,
        license,
        holder_id=holder.id,
        specialization=spec.code,
        level=level,
        code=license.code,
    )
    if announce:
        tell_holder(license, "license_issued", actor)
    return license


def new_request(
    user: User, spec: Specialization, license: License | None, to_level: int, reason: str
) -> UpgradeRequest:
    """Add a pending request (no checks, no audit event: the caller does both)."""
    request = UpgradeRequest(
        user_id=user.id,
        specialization_id=spec.id,
        license_id=license.id if license else None,
        from_level=license.level if license else 0,
        to_level=to_level,
        reason=reason,
        status=RequestStatus.PENDING,
        created_at=utcnow(),
    )
    try:
        # The partial unique index is the final guard against a second pending request.
        with db.session.begin_nested():
            db.session.add(request)
            db.session.flush()
    except IntegrityError as exc:
        raise LicenseError(pending_request_message(spec)) from exc
    return request


def decide_request(request: UpgradeRequest, status: str, actor, note: str | None) -> None:
    """Move a pending request to ``status`` exactly once, whoever races us.

    The conditional UPDATE is atomic in the database: of several simultaneous
    deciders exactly one sees a row change; the others get RequestConflict.
    """
    now = utcnow()
    result = db.session.execute(
        sa.update(UpgradeRequest)
        .where(UpgradeRequest.id == request.id, UpgradeRequest.status == RequestStatus.PENDING)
        .values(
            status=status,
            decided_at=now,
            decided_by_id=getattr(actor, "id", None),
            decision_note=note or None,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.refresh(request)
        raise RequestConflict(already_decided_message(request))
    summary.adjust(db.session.connection(), summary.minus(summary.pending_contribution()))
    db.session.refresh(request)


def select_specialization(student: User, spec: Specialization, actor) -> Selection:
    """Start a specialization: a level-1 license when the rules allow it, otherwise a
    pending request for an admin (Internship, or a minor without guardian consent).

    Raises LicenseError when the specialization is archived, the student is too young,
    already holds a license in it, or already has a pending request.
    """
    if student.role != Role.STUDENT:
        raise LicenseError(_("Only students can start a specialization."), field="specialization")
    if spec.archived_at is not None:
        raise LicenseError(_("%(specialization)s is no longer offered.", specialization=spec.local_name),
                           field="specialization")
    if _license_for(student.id, spec.id) is not None:
        raise LicenseError(_("You already hold a %(specialization)s license.",
                             specialization=spec.local_name),
                           field="specialization")
    if pending_request_for(student.id, spec.id) is not None:
        raise LicenseError(pending_request_message(spec), field="specialization")
    problem = rules.eligibility_problem(student, spec, consent=False)
    if problem:
        raise LicenseError(problem.to_student(), field="specialization")

    minor_without_consent = rules.needs_guardian_consent(student)
    if minor_without_consent or not spec.auto_issue:
        if minor_without_consent:
            why = _(
                "Because you are under %(age)d, a guardian's consent must be recorded "
                "before a license can be issued. Your request is waiting for guardian consent.",
                age=rules.ADULT_AGE,
            )
        else:
            why = _("Licenses in %(specialization)s are issued by an admin. Your request is waiting "
                    "for review.", specialization=spec.local_name)
        request = new_request(student, spec, None, 1, reason=f"Start {spec.name}")
        record(
            actor,
            actions.SPECIALIZATION_SELECTED,
            spec,
            student_id=student.id,
            result="requested",
            request_id=request.id,
            waiting_for="guardian_consent" if minor_without_consent else "admin_review",
        )
        record(
            actor,
            actions.LICENSE_UPGRADE_REQUESTED,
            request,
            specialization=spec.code,
            from_level=0,
            to_level=1,
        )
        tell_reviewers(request, actor)
        return Selection(None, request, why)

    license = issue_license(student, spec, 1, actor)
    record(
        actor,
        actions.SPECIALIZATION_SELECTED,
        spec,
        student_id=student.id,
        result="issued",
        license_id=license.id,
    )
    welcome = _("Welcome to %(specialization)s: your level-1 license %(code)s is ready.",
                specialization=spec.local_name, code=license.code)
    return Selection(license, None, welcome)


# --- admin actions on one license ---------------------------------------------------


def _status(status: str, reason: str | None = None, note: str | None = None) -> dict:
    return {"status": status, "status_reason": reason, "status_note": note, "status_changed_at": utcnow()}


def suspend(license: License, actor, note: str) -> License:
    """Suspend an active license (a note is required)."""
    note = (note or "").strip()
    if not note:
        raise LicenseError(_("Please give a reason for the suspension."))
    if license.status != LicenseStatus.ACTIVE:
        raise LicenseError(_("Only an active license can be suspended. This one's status: %(status)s.",
                             status=_status_word(license.status)))
    apply_change(license, "suspended", actor, note=note, **_status(LicenseStatus.SUSPENDED, None, note))
    record(actor, actions.LICENSE_SUSPENDED, license, note=note)
    tell_holder(license, "license_suspended", actor)
    return license


def revoke(license: License, actor, reason_category: str, note: str) -> License:
    """Revoke for good (reason category and note required); pending requests are closed."""
    note = (note or "").strip()
    if reason_category not in REVOKE_REASON_LABELS:
        raise LicenseError(_("Choose a reason for the revocation."))
    if not note:
        raise LicenseError(_("Please add a note about the revocation."))
    if license.status == LicenseStatus.REVOKED:
        raise LicenseError(_("This license is already revoked."))
    apply_change(
        license,
        "revoked",
        actor,
        note=note,
        reason=reason_category,
        **_status(LicenseStatus.REVOKED, reason_category, note),
    )
    record(actor, actions.LICENSE_REVOKED, license, reason=reason_category, note=note)
    tell_holder(license, "license_revoked", actor, reason=reason_category)
    pending = pending_request_for(license.holder_id, license.specialization_id)
    if pending is not None:
        # The note is the student's to read: written in their language, and kept as written.
        with force_locale(license.holder.locale or "en"):
            closing = _("The license was revoked.")
        decide_request(pending, RequestStatus.REJECTED, actor, closing)
        record(
            actor,
            actions.LICENSE_UPGRADE_REJECTED,
            pending,
            license_id=license.id,
            to_level=pending.to_level,
            note=closing,
        )
    return license


def reinstate(license: License, actor, note: str | None = None) -> License:
    """Make a suspended or revoked license active again (not past its expiry date)."""
    note = (note or "").strip() or None
    if license.status == LicenseStatus.EXPIRED:
        raise LicenseError(_("This license has expired; renew it instead."))
    if license.status not in (LicenseStatus.SUSPENDED, LicenseStatus.REVOKED):
        raise LicenseError(_("Only a suspended or revoked license can be reinstated. This one's status: "
                             "%(status)s.", status=_status_word(license.status)))
    if license.expires_at is not None and license.expires_at <= utcnow():
        raise LicenseError(_("This license is past its expiry date; renew it instead."))
    previous = license.status
    apply_change(license, "reinstated", actor, note=note, **_status(LicenseStatus.ACTIVE))
    record(actor, actions.LICENSE_REINSTATED, license, previous_status=previous, note=note)
    tell_holder(license, "license_reinstated", actor)
    return license


def renew(license: License, actor, note: str | None = None) -> License:
    """Extend an active or expired license by the specialization's validity period."""
    note = (note or "").strip() or None
    months = license.specialization.validity_months
    if not months:
        raise LicenseError(_("%(specialization)s licenses do not expire.",
                             specialization=license.specialization.local_name))
    if license.status not in (LicenseStatus.ACTIVE, LicenseStatus.EXPIRED):
        raise LicenseError(str(NOT_RENEWABLE.get(license.status, NOT_RENEWABLE[None])))
    now = utcnow()
    base = max(now, license.expires_at) if license.expires_at else now
    previous = license.expires_at
    apply_change(
        license,
        "renewed",
        actor,
        note=note,
        expires_at=add_months(base, months),
        **_status(LicenseStatus.ACTIVE),
    )
    record(
        actor,
        actions.LICENSE_RENEWED,
        license,
        previous_expiry=previous,
        expires_at=license.expires_at,
        note=note,
    )
    tell_holder(license, "license_renewed", actor)
    return license


LEVEL_SET = "level_set"


def set_level(license: License, level: int, actor, reason: str) -> License:
    """Correct the license's level to any level of its specialization (an admin's
    correction, up or down): a ``level_set`` history row, a new signature, audited with
    before and after. Raises LicenseError (field ``level`` or ``reason``) for a level out
    of range, the current level, a missing reason or a revoked license."""
    reason = (reason or "").strip()
    top = license.specialization.max_level
    if license.status == LicenseStatus.REVOKED:
        raise LicenseError(_("A revoked license cannot be corrected; reinstate it first."))
    if level is None or not 1 <= level <= top:
        raise LicenseError(_("Choose a level from 1 to %(top)d.", top=top), field="level")
    if level == license.level:
        raise LicenseError(_("The license is already at level %(level)d.", level=level), field="level")
    if not reason:
        raise LicenseError(_("Please give a reason for the correction."), field="reason")
    before = {"level": license.level}
    apply_change(license, LEVEL_SET, actor, note=reason, level=level)
    record(actor, actions.LICENSE_LEVEL_SET, license, before=before, after={"level": level},
           reason=reason)
    tell_holder(license, "license_level_set", actor)
    return license


def expire_due(now: datetime | None = None) -> int:
    """Mark active licenses past their expiry date as expired; returns how many.

    Safe to run again: licenses already expired are not touched.
    """
    now = now or utcnow()
    due = db.session.scalars(
        sa.select(License)
        .options(selectinload(License.holder), selectinload(License.specialization))
        .where(
            License.status == LicenseStatus.ACTIVE, License.expires_at.is_not(None), License.expires_at <= now
        )
        .order_by(License.id)
    ).all()
    for license in due:
        apply_change(license, "expired", None, **_status(LicenseStatus.EXPIRED))
        record(None, actions.LICENSE_EXPIRED, license, expired_at=license.expires_at)
    _flush_license()
    return len(due)


# --- guardian consent ------------------------------------------------------------

CONSENT_WITHDRAWN = "consent_withdrawn"


def _holder_licenses(user: User) -> list[License]:
    return list(db.session.scalars(
        sa.select(License).options(selectinload(License.specialization))
        .where(License.holder_id == user.id).order_by(License.id)
    ))


def current_consent(user: User) -> ConsentRecord | None:
    """The student's consent in force: their newest record not withdrawn."""
    return db.session.scalar(
        sa.select(ConsentRecord)
        .where(ConsentRecord.user_id == user.id, ConsentRecord.withdrawn_at.is_(None))
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc()).limit(1)
    )


def consent_history(user: User) -> list[ConsentRecord]:
    return list(db.session.scalars(
        sa.select(ConsentRecord).options(selectinload(ConsentRecord.recorded_by),
                                         selectinload(ConsentRecord.withdrawn_by))
        .where(ConsentRecord.user_id == user.id)
        .order_by(ConsentRecord.recorded_at.desc(), ConsentRecord.id.desc())
    ))


def may_record_consent(actor: User, student: User) -> bool:
    """An admin, or an instructor who teaches the student in one of their open classes."""
    role = getattr(actor, "role", None)
    if role == Role.ADMIN:
        return True
    return role == Role.INSTRUCTOR and rules.teaches(actor, student)


def record_guardian_consent(
    user: User, actor: User, guardian_name: str, relationship: str = "guardian",
    method: str = ConsentMethod.SIGNED_FORM, note: str | None = None,
) -> ConsentRecord:
    """Record that a minor's guardian consented, with its evidence (a ``ConsentRecord``).
    A waiting first-level request then goes on under the ordinary rules (its reviewer
    decides it), and any license flagged for a consent review is cleared.

    Raises NotYours when ``actor`` is neither an admin nor an instructor of one of the
    student's classes; LicenseError (with its field) for a missing name or relationship,
    an unknown method, or a student who needs no consent."""
    if not may_record_consent(actor, user):
        raise NotYours(
            _("Only an admin or an instructor of the student can record a guardian's consent."))
    guardian_name = " ".join((guardian_name or "").split())
    relationship = " ".join((relationship or "").split())
    note = (note or "").strip() or None
    if not guardian_name:
        raise LicenseError(_("Enter the guardian's name."), field="guardian_name")
    if len(guardian_name) > 120:
        raise LicenseError(_("Keep the guardian's name to 120 characters."), field="guardian_name")
    if not relationship:
        raise LicenseError(_("Say how the guardian is related to the student."), field="relationship")
    if len(relationship) > 60:
        raise LicenseError(_("Keep the relationship to 60 characters."), field="relationship")
    if method not in ConsentMethod.ALL:
        raise LicenseError(_("Choose how the consent was given."), field="method")
    if user.role != Role.STUDENT:
        raise LicenseError(_("Only a student needs a guardian's consent."))
    if current_consent(user) is not None:
        raise LicenseError(
            _("A guardian's consent is already recorded. Withdraw it first to record another."))
    now = utcnow()
    consent = ConsentRecord(
        user_id=user.id, guardian_name=guardian_name, relationship_=relationship, method=method,
        note=note, recorded_by_id=actor.id, recorded_at=now,
    )
    db.session.add(consent)
    user.guardian_consent_at = now
    user.guardian_consent_by_id = actor.id
    user.guardian_name = guardian_name
    db.session.flush()
    waiting = [r.id for r in db.session.scalars(
        sa.select(UpgradeRequest).where(UpgradeRequest.user_id == user.id, UpgradeRequest.from_level == 0,
                                        UpgradeRequest.status == RequestStatus.PENDING))]
    cleared = []
    for license in _holder_licenses(user):
        if license.consent_review_at is not None:
            license.consent_review_at = None
            cleared.append(license.id)
    record(actor, actions.USER_CONSENT_RECORDED, user, guardian_name=guardian_name,
           relationship=relationship, method=method, note=note, consent_id=consent.id,
           requests_waiting=waiting, reviews_cleared=cleared)
    notify(user, Category.LICENSE_STATUS, "consent_recorded")
    return consent


def withdraw_guardian_consent(user: User, actor: User, reason: str) -> list[License]:
    """Withdraw the student's consent in force, with a reason: every active license issued
    to them since it was recorded is suspended (a history row each, re-signed). Returns
    those licenses. Raises NotYours as ``record_guardian_consent``; LicenseError when no
    consent is in force or the reason is missing."""
    if not may_record_consent(actor, user):
        raise NotYours(
            _("Only an admin or an instructor of the student can withdraw a guardian's consent."))
    reason = (reason or "").strip()
    if not reason:
        raise LicenseError(_("Say why the consent is withdrawn."), field="reason")
    consent = current_consent(user)
    if consent is None:
        raise LicenseError(_("No guardian's consent is recorded for this student."))
    now = utcnow()
    consent.withdrawn_at = now
    consent.withdrawn_by_id = actor.id
    consent.withdrawal_reason = reason
    user.guardian_consent_at = None
    user.guardian_consent_by_id = None
    user.guardian_name = None
    suspended = []
    for license in _holder_licenses(user):
        if license.status == LicenseStatus.ACTIVE and license.issued_at >= consent.recorded_at:
            apply_change(license, "suspended", actor, note=reason, reason=CONSENT_WITHDRAWN,
                         **_status(LicenseStatus.SUSPENDED, CONSENT_WITHDRAWN, reason))
            record(actor, actions.LICENSE_SUSPENDED, license, note=reason, cause=CONSENT_WITHDRAWN)
            suspended.append(license)
    record(actor, actions.USER_CONSENT_WITHDRAWN, user, consent_id=consent.id, reason=reason,
           licenses_suspended=[lic.id for lic in suspended])
    notify(user, Category.LICENSE_STATUS, "consent_withdrawn")
    return suspended


def rename_holder(user: User, actor) -> list[License]:
    """The holder's name is part of each license's signed state: after a name change every
    license of theirs gets a ``holder_renamed`` history row and a new signature (nothing is
    re-issued; the next certificate shows the new name). The row has no note: an earlier
    name stays out of the public history. Returns the licenses."""
    licenses = _holder_licenses(user)
    for license in licenses:
        apply_change(license, HOLDER_RENAMED, actor)
        record(actor, actions.LICENSE_HOLDER_RENAMED, license, holder_id=user.id)
    return licenses


def revoke_for_erasure(user: User, actor) -> list[License]:
    """The holder's data is being erased (``portal.privacy.erasure``), their name already
    replaced by a pseudonym: every license is revoked with the category ``holder_erased``
    (one already revoked gets a ``holder_renamed`` row), so each is re-signed over the
    pseudonym and its history chain grows by a row, as after any change. Pending requests
    are withdrawn. Returns the licenses."""
    licenses = _holder_licenses(user)
    for license in licenses:
        if license.status == LicenseStatus.REVOKED:
            apply_change(license, HOLDER_RENAMED, actor)
            record(actor, actions.LICENSE_HOLDER_RENAMED, license, holder_id=user.id)
        else:
            apply_change(license, "revoked", actor, reason=HOLDER_ERASED,
                         **_status(LicenseStatus.REVOKED, HOLDER_ERASED, None))
            record(actor, actions.LICENSE_REVOKED, license, reason=HOLDER_ERASED, holder_id=user.id)
    pending = db.session.scalars(sa.select(UpgradeRequest).where(
        UpgradeRequest.user_id == user.id, UpgradeRequest.status == RequestStatus.PENDING))
    for request in list(pending):
        decide_request(request, RequestStatus.WITHDRAWN, actor, None)
        record(actor, actions.LICENSE_UPGRADE_WITHDRAWN, request, holder_id=user.id)
    return licenses


def flag_for_consent_review(user: User, actor) -> list[License]:
    """A birth-date correction made ``user`` a minor without consent: their active
    licenses are flagged for a consent review (not suspended or revoked). Returns them."""
    flagged = []
    now = utcnow()
    for license in _holder_licenses(user):
        if license.status == LicenseStatus.ACTIVE and license.consent_review_at is None:
            license.consent_review_at = now
            record(actor, actions.LICENSE_CONSENT_REVIEW, license, holder_id=user.id)
            flagged.append(license)
    return flagged


def clear_consent_review(user: User) -> list[int]:
    """Licenses no longer need a consent review (the holder is an adult after all)."""
    cleared = []
    for license in _holder_licenses(user):
        if license.consent_review_at is not None:
            license.consent_review_at = None
            cleared.append(license.id)
    return cleared
