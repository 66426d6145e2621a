"""Administration services: accounts (with the guard rails), the catalogue, bulk jobs.

Plain functions with the acting admin explicit. They change state, record the
audit event (or call the feature's own service, which does) and raise
``AdminError`` with a message safe to show; they never commit.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import ngettext

from portal import jobs
from portal.account import services as account_services
from portal.admin import titles as catalogue_titles
from portal.admin.forms import ROLE_NAMES, USER_STATUS_NAMES
from portal.audit import actions
from portal.audit.services import record
from portal.auth import services as accounts
from portal.auth import sessions
from portal.db import apply_changes, utcnow
from portal.exceptions import Conflict, PortalError
from portal.extensions import db
from portal.licenses import rules
from portal.licenses import services as lifecycle
from portal.models.catalogue import Level, Requirement, Specialization
from portal.models.job import Job, JobStatus
from portal.models.klass import ClassMembership, InstructorSpecialization, Klass
from portal.models.license import License, RequestStatus, UpgradeRequest
from portal.models.user import Role, User, UserStatus
from portal.params import parse_int

BULK_KIND = "licenses.bulk"
BULK_ACTIONS = ("issue", "upgrade")


class AdminError(PortalError):
    """A refused admin action; ``field`` names the form field it belongs beside."""


class PreviewChanged(AdminError, Conflict):
    """The verdicts of a bulk job changed between the preview and the confirmation."""


# --- accounts ------------------------------------------------------------------


def _other_active_admins(user: User) -> int:
    """How many active admins besides ``user``, locking their rows on PostgreSQL so two
    admins cannot demote each other at the same moment (SQLite serialises writers)."""
    ids = db.session.scalars(
        sa.select(User.id)
        .where(User.role == Role.ADMIN, User.status == UserStatus.ACTIVE, User.id != user.id)
        .with_for_update()
    ).all()
    return len(ids)


def _keep_an_admin(user: User) -> None:
    if user.role == Role.ADMIN and user.status == UserStatus.ACTIVE and not _other_active_admins(user):
        raise AdminError(
            _("%(name)s is the last active admin. Make another account an admin first.", name=user.name)
        )


def change_role(user: User, role: str, actor: User, reason: str) -> None:
    """Give ``user`` another role; their sessions end at once. Raises AdminError when an
    admin demotes themselves, the last active admin would go, or nothing changes."""
    reason = (reason or "").strip()
    if role not in Role.ALL:
        raise AdminError(_("Choose a role."), "role")
    if not reason:
        raise AdminError(_("Say why the role changes."), "reason")
    if role == user.role:
        raise AdminError(_("%(name)s already has the role %(role)s.", name=user.name,
                           role=str(ROLE_NAMES.get(role, role)).lower()), "role")
    if user.id == actor.id:
        raise AdminError(_("You cannot remove your own admin role. Ask another admin."), "role")
    if user.role == Role.ADMIN:
        _keep_an_admin(user)
    was_instructor = user.role == Role.INSTRUCTOR
    accounts.set_role(user, role, actor, reason)
    if was_instructor:
        # Assignments belong to the instructor role: promoted again later, they start
        # from none rather than from what they taught before.
        _apply_specializations(user, [], actor, cause="role_changed")


def change_status(user: User, status: str, actor: User, reason: str) -> None:
    """Set the account's status; suspension ends the sessions at once. Raises AdminError
    when an admin suspends themselves, the last active admin would go, or nothing changes."""
    reason = (reason or "").strip()
    if status not in UserStatus.ALL:
        raise AdminError(_("Choose a status."), "status")
    if not reason:
        raise AdminError(_("Say why the status changes."), "reason")
    if status == user.status:
        raise AdminError(_("The account is already %(status)s.",
                           status=str(USER_STATUS_NAMES.get(status, status)).lower()), "status")
    if user.id == actor.id:
        raise AdminError(_("You cannot suspend or deactivate your own account."), "status")
    if status != UserStatus.ACTIVE:
        _keep_an_admin(user)
    accounts.set_status(user, status, actor, reason)


def create_account(
    *, name: str, email: str, role: str, date_of_birth: date | None, actor: User
) -> User:
    """Create a pending account without a password; the caller e-mails the set-password
    link after committing. Raises AdminError for an impossible date of birth, and the
    accounts service's AuthError for a taken e-mail; each names its field."""
    if date_of_birth is not None:
        if date_of_birth >= date.today():
            raise AdminError(_("The date of birth must be in the past."), "date_of_birth")
        if date_of_birth.year < date.today().year - 120:
            raise AdminError(_("Please check the year of the date of birth."), "date_of_birth")
    return accounts.create_user(
        email, name, role, actor=actor, status=UserStatus.PENDING,
        date_of_birth=date_of_birth if role == Role.STUDENT or date_of_birth else None,
    )


def correct_details(
    user: User, *, name: str, email: str, date_of_birth: date | None, reason: str, actor: User,
    given_name: str | None = None, family_name: str | None = None,
) -> list[str]:
    """An admin corrects a person's name, its optional given and family parts (empty:
    unknown), e-mail address and date of birth, with a reason; returns the fields that
    changed (the audit event keeps them before and after).

    A new name writes a ``holder_renamed`` row in each of their licenses' history. A new
    date of birth re-evaluates consent: a student who is an adult after all no longer
    waits for it (licenses flagged for a consent review are cleared); one who turns out to
    be a minor without consent has their active licenses flagged for a consent review
    (not suspended or revoked), and their first-level requests wait for consent.

    Raises AdminError (with its field) for a missing reason, an impossible date of birth or
    an address another account has; the account service's error for the name."""
    reason = (reason or "").strip()
    if not reason:
        raise AdminError(_("Say why the details are corrected."), "reason")
    name = account_services.validate_name(name)
    given_name = account_services.validate_name_part(given_name, "given_name")
    family_name = account_services.validate_name_part(family_name, "family_name")
    email = accounts.normalise_email(email)
    if date_of_birth is not None:
        if date_of_birth >= date.today():
            raise AdminError(_("The date of birth must be in the past."), "date_of_birth")
        if date_of_birth.year < date.today().year - 120:
            raise AdminError(_("Please check the year of the date of birth."), "date_of_birth")
    elif user.role == Role.STUDENT and user.date_of_birth is not None:
        raise AdminError(_("A student's date of birth cannot be removed, only corrected."), "date_of_birth")
    if email != user.email:
        owner = accounts.find_user_by_email(email)
        if owner is not None:
            raise AdminError(_("Another account already uses this e-mail address."), "email")
    needed_consent = rules.needs_guardian_consent(user)
    before, after = apply_changes(user, {"name": name, "given_name": given_name, "family_name": family_name,
                                         "email": email, "date_of_birth": date_of_birth})
    changed = list(after)
    if not changed:
        return []
    details: dict = {}
    if "email" in changed:
        # The admin vouches for the address; a change its owner was waiting for is dropped.
        user.email_confirmed_at = user.email_confirmed_at or utcnow()
        user.pending_email = None
        user.pending_email_requested_at = None
    if "date_of_birth" in changed:
        needs_consent = rules.needs_guardian_consent(user)
        waiting = [r.id for r in db.session.scalars(sa.select(UpgradeRequest).where(
            UpgradeRequest.user_id == user.id, UpgradeRequest.from_level == 0,
            UpgradeRequest.status == RequestStatus.PENDING))]
        if needed_consent and not needs_consent:
            details["consent"] = "no_longer_needed"
            details["requests_unblocked"] = waiting
            details["reviews_cleared"] = lifecycle.clear_consent_review(user)
        elif needs_consent and not needed_consent:
            details["consent"] = "now_needed"
            details["requests_waiting_for_consent"] = waiting
            details["licenses_flagged"] = [lic.id for lic in lifecycle.flag_for_consent_review(user, actor)]
    record(actor, actions.USER_DETAILS_CORRECTED, user, reason=reason, changed=changed,
           before=before, after=after, **details)
    if "name" in changed:
        lifecycle.rename_holder(user, actor)
    return changed


def archive_account(user: User, actor: User, reason: str) -> None:
    """Archive the account of someone who left: they cannot log in (their sessions end),
    the account and its licenses stay for the records, and lists show it apart. Raises
    AdminError for a missing reason, an account already archived, one's own account, or
    the last active admin."""
    reason = (reason or "").strip()
    if not reason:
        raise AdminError(_("Say why the account is archived."), "reason")
    if user.status == UserStatus.ARCHIVED:
        raise AdminError(_("This account is already archived."))
    if user.id == actor.id:
        raise AdminError(_("You cannot archive your own account. Ask another admin."))
    _keep_an_admin(user)
    before = user.status
    user.status = UserStatus.ARCHIVED
    ended = sessions.revoke_all(user.id, "archived")
    record(actor, actions.USER_ARCHIVED, user, before=before, after=UserStatus.ARCHIVED, reason=reason,
           sessions_ended=len(ended))


def restore_account(user: User, actor: User, reason: str) -> str:
    """Bring an archived account back: active, or pending when its address was never
    confirmed. Returns the new status. Raises AdminError when it is not archived."""
    reason = (reason or "").strip()
    if not reason:
        raise AdminError(_("Say why the account is restored."), "reason")
    if user.status != UserStatus.ARCHIVED:
        raise AdminError(_("Only an archived account can be restored."))
    if user.erased_at is not None:
        raise AdminError(_("This account's data was erased; it cannot be restored."))
    user.status = UserStatus.ACTIVE if user.email_confirmed else UserStatus.PENDING
    record(actor, actions.USER_RESTORED, user, before=UserStatus.ARCHIVED, after=user.status, reason=reason)
    return user.status


# --- the specializations an instructor teaches ----------------------------------------


def _lock_account(user: User) -> None:
    """Take the instructor's row (FOR NO KEY UPDATE on PostgreSQL, see
    ``auth.services._for_password_check``), so two admins changing the same instructor's
    specializations take turns instead of both inserting the same row."""
    db.session.execute(
        sa.select(User.id).where(User.id == user.id).with_for_update(key_share=True)
    )


def _assigned_specializations(user: User) -> list[Specialization]:
    return rules.specializations_of(user, include_archived=True)


def _apply_specializations(user: User, wanted: list[Specialization], actor: User, **details) -> bool:
    """Make ``user``'s assignments exactly ``wanted``; record the change with the codes
    before and after. Returns False (and records nothing) when nothing changes."""
    _lock_account(user)
    current = {s.id: s for s in _assigned_specializations(user)}
    wanted_by_id = {s.id: s for s in wanted}
    removed = sorted(set(current) - set(wanted_by_id))
    added = sorted(set(wanted_by_id) - set(current))
    if not removed and not added:
        return False
    # Rows first, the audit event after: the event takes the audit chain's lock, and a
    # decision that holds a removed row (FOR SHARE) must be able to finish meanwhile.
    if removed:
        db.session.execute(
            sa.delete(InstructorSpecialization).where(
                InstructorSpecialization.user_id == user.id,
                InstructorSpecialization.specialization_id.in_(removed),
            )
        )
    for spec_id in added:
        db.session.add(InstructorSpecialization(
            user_id=user.id, specialization_id=spec_id, assigned_by_id=getattr(actor, "id", None),
            assigned_at=utcnow(),
        ))
    db.session.flush()

    def codes(specs) -> list[str]:
        return sorted(s.code for s in specs)

    record(
        actor,
        actions.USER_SPECIALIZATIONS_CHANGED,
        user,
        before=codes(current.values()),
        after=codes(wanted_by_id.values()),
        added=codes(wanted_by_id[i] for i in added),
        removed=codes(current[i] for i in removed),
        **details,
    )
    return True


def set_specializations(user: User, specialization_ids, actor: User) -> bool:
    """Assign the instructor exactly these specializations (ids, as a form sends them).

    They then create classes and review requests only in those. Removing one keeps the
    instructor's classes in it, but they can no longer review its requests or confirm
    its requirements. Returns False when nothing changed. Raises AdminError (field
    ``specializations``) for an account that is not an instructor, an id that names no
    specialization, or an archived specialization that is not already assigned.
    """
    if user.role != Role.INSTRUCTOR:
        raise AdminError(
            _("%(name)s is not an instructor; only instructors teach specializations.", name=user.name),
            "specializations",
        )
    ids = set()
    for raw in specialization_ids or []:
        spec_id = parse_int(str(raw))
        if spec_id is None:
            raise AdminError(_("Choose specializations from the list."), "specializations")
        ids.add(spec_id)
    found = {
        s.id: s for s in db.session.scalars(sa.select(Specialization).where(Specialization.id.in_(ids)))
    } if ids else {}
    if set(found) != ids:
        raise AdminError(_("Choose specializations from the list."), "specializations")
    held = {s.id for s in _assigned_specializations(user)}
    archived = sorted(s.local_name for s in found.values() if s.archived_at is not None and s.id not in held)
    if archived:
        raise AdminError(ngettext(
            "%(names)s is archived and cannot be assigned.",
            "%(names)s are archived and cannot be assigned.",
            len(archived), names=", ".join(archived),
        ), "specializations")
    return _apply_specializations(user, list(found.values()), actor)


# --- specializations --------------------------------------------------------------

_SPEC_FIELDS = ("code", "name", "titles", "description", "max_level", "min_age", "validity_months",
                "auto_issue")


def snapshot(spec: Specialization) -> dict:
    return {name: getattr(spec, name) for name in _SPEC_FIELDS}


def licenses_in(spec: Specialization) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(License.id)).where(License.specialization_id == spec.id)
    ) or 0


def _check_unique(code: str, name: str, spec_id: int | None) -> None:
    same_code = sa.select(Specialization.id).where(Specialization.code == code)
    same_name = sa.select(Specialization.id).where(sa.func.lower(Specialization.name) == name.lower())
    if spec_id is not None:
        same_code = same_code.where(Specialization.id != spec_id)
        same_name = same_name.where(Specialization.id != spec_id)
    if db.session.scalar(same_code) is not None:
        raise AdminError(_("The code %(code)s is already used.", code=code), "code")
    if db.session.scalar(same_name) is not None:
        raise AdminError(_("A specialization named %(name)s already exists.", name=name), "name")


def _check_titles_unique(name: str, titles: dict[str, str], spec_id: int | None) -> None:
    """Two specializations never read the same in a language: each one's title there (or
    its English name, when it has none) differs from every other's."""
    others = db.session.scalars(sa.select(Specialization).where(Specialization.id != spec_id)
                                if spec_id is not None else sa.select(Specialization))
    others = list(others)
    for code, _language in catalogue_titles.OTHER_LANGUAGES:
        shown = titles.get(code) or name
        for other in others:
            if other.name_in(code).lower() == shown.lower():
                raise AdminError(
                    _("Another specialization is already called %(name)s in this language.", name=shown),
                    f"name_{code}" if code in titles else "name",
                )


def _clean_spec_data(data: dict) -> dict:
    return {
        "code": (data["code"] or "").strip().upper(),
        "name": " ".join((data["name"] or "").split()),
        "description": (data.get("description") or "").strip(),
        "max_level": int(data["max_level"]),
        "min_age": int(data.get("min_age") or 0),
        "validity_months": data.get("validity_months") or None,
        "auto_issue": bool(data.get("auto_issue")),
        "titles": catalogue_titles.clean(data.get("titles")),
    }


def create_specialization(data: dict, actor: User) -> Specialization:
    """Create a specialization with levels 1..max_level. Raises AdminError for a taken
    code or name."""
    data = _clean_spec_data(data)
    _check_unique(data["code"], data["name"], None)
    _check_titles_unique(data["name"], data["titles"], None)
    spec = Specialization(**data, created_at=utcnow())
    for number in range(1, data["max_level"] + 1):
        spec.levels.append(Level(number=number, title=Level.numbered_title(number), description=""))
    db.session.add(spec)
    db.session.flush()
    record(actor, actions.SPECIALIZATION_CREATED, spec, after=snapshot(spec))
    return spec


def highest_level_held(spec: Specialization) -> int:
    """The highest level of ``spec`` anyone holds or has asked for (0 when none)."""
    held = db.session.scalar(
        sa.select(sa.func.max(License.level)).where(License.specialization_id == spec.id)
    ) or 0
    asked = db.session.scalar(
        sa.select(sa.func.max(UpgradeRequest.to_level)).where(
            UpgradeRequest.specialization_id == spec.id,
            UpgradeRequest.status == RequestStatus.PENDING,
        )
    ) or 0
    return max(held, asked)


def _resize_levels(spec: Specialization, new_max: int) -> None:
    current = max((lv.number for lv in spec.levels), default=0)
    if new_max < current:
        reached = highest_level_held(spec)
        if reached > new_max:
            raise AdminError(
                _("Holders have reached (or asked for) level %(level)s; "
                  "it cannot have fewer than %(level)s levels.", level=reached),
                "max_level",
            )
        for level in [lv for lv in spec.levels if lv.number > new_max]:
            spec.levels.remove(level)
    for number in range(current + 1, new_max + 1):
        spec.levels.append(Level(number=number, title=Level.numbered_title(number), description=""))
    spec.max_level = new_max


def update_specialization(spec: Specialization, data: dict, actor: User) -> Specialization:
    """Edit a specialization; changing the number of levels adds or removes the top
    levels. Raises AdminError for a taken code/name, a code change once licenses carry
    it, or removing levels that holders have reached."""
    data = _clean_spec_data(data)
    before = snapshot(spec)
    _check_unique(data["code"], data["name"], spec.id)
    _check_titles_unique(data["name"], data["titles"], spec.id)
    if data["code"] != spec.code and licenses_in(spec):
        raise AdminError(_("The code is part of issued license codes and cannot change."), "code")
    _resize_levels(spec, data.pop("max_level"))
    for name, value in data.items():
        setattr(spec, name, value)
    after = snapshot(spec)
    changed = {k: [before[k], after[k]] for k in _SPEC_FIELDS if before[k] != after[k]}
    if not changed:
        return spec
    db.session.flush()
    record(actor, actions.SPECIALIZATION_UPDATED, spec, before=before, after=after,
           changed=sorted(changed))
    return spec


def archive_specialization(spec: Specialization, actor: User) -> None:
    """Stop offering a specialization: no new licenses; existing ones stay valid."""
    if spec.archived_at is not None:
        raise AdminError(_("%(name)s is already archived.", name=spec.local_name))
    spec.archived_at = utcnow()
    record(actor, actions.SPECIALIZATION_ARCHIVED, spec, before={"archived": False},
           after={"archived": True})


def restore_specialization(spec: Specialization, actor: User) -> None:
    if spec.archived_at is None:
        raise AdminError(_("%(name)s is not archived.", name=spec.local_name))
    spec.archived_at = None
    record(actor, actions.SPECIALIZATION_UPDATED, spec, before={"archived": True},
           after={"archived": False}, changed=["archived"])


def delete_specialization(spec: Specialization, actor: User) -> None:
    """Delete a specialization nobody uses. Raises AdminError when licenses, requests
    or classes refer to it: archive it instead."""
    if licenses_in(spec):
        raise AdminError(_("%(name)s has licenses, so it cannot be deleted. Archive it instead.",
                           name=spec.local_name))
    used = db.session.scalar(
        sa.select(sa.func.count(Klass.id)).where(Klass.specialization_id == spec.id)
    ) or db.session.scalar(
        sa.select(sa.func.count(UpgradeRequest.id)).where(UpgradeRequest.specialization_id == spec.id)
    )
    if used:
        raise AdminError(_("Classes or requests refer to %(name)s. Archive it instead.",
                           name=spec.local_name))
    record(actor, actions.SPECIALIZATION_DELETED, spec, before=snapshot(spec))
    db.session.delete(spec)


def _level_changed(spec: Specialization, actor: User, change: str, **details) -> None:
    record(actor, actions.SPECIALIZATION_UPDATED, spec, change=change, **details)


def add_level(spec: Specialization, title: str, description: str, actor: User,
              titles: dict[str, str] | None = None) -> Level:
    """Add a level above the current top level; ``titles`` are its title in other
    languages ({"es": ..., "hu": ...})."""
    number = max((lv.number for lv in spec.levels), default=0) + 1
    level = Level(number=number, title=title.strip(), description=(description or "").strip(),
                  titles=catalogue_titles.clean(titles))
    spec.levels.append(level)
    spec.max_level = number
    db.session.flush()
    _level_changed(spec, actor, "level_added", level=number,
                   after={"title": level.title, "titles": level.titles}, max_level=[number - 1, number])
    return level


def update_level(level: Level, title: str, description: str, actor: User,
                 titles: dict[str, str] | None = None) -> Level:
    """Edit a level; ``titles`` (other languages) replace the old ones unless None."""
    before = {"title": level.title, "titles": level.titles or {}, "description": level.description}
    level.title = title.strip()
    level.description = (description or "").strip()
    if titles is not None:
        level.titles = catalogue_titles.clean(titles)
    after = {"title": level.title, "titles": level.titles or {}, "description": level.description}
    if before != after:
        _level_changed(level.specialization, actor, "level_updated", level=level.number,
                       before=before, after=after)
    return level


def remove_level(level: Level, actor: User) -> None:
    """Remove the top level. Raises AdminError for any other level, the only level, or a
    level that holders have reached (or asked for)."""
    spec = level.specialization
    top = max(lv.number for lv in spec.levels)
    if level.number != top:
        raise AdminError(_("Only the highest level can be removed, so levels stay numbered 1, 2, 3 ..."))
    if top == 1:
        raise AdminError(_("A specialization needs at least one level."))
    if highest_level_held(spec) >= level.number:
        raise AdminError(_("Holders have reached or asked for level %(number)s; it cannot be removed.",
                           number=level.number))
    spec.levels.remove(level)
    spec.max_level = top - 1
    _level_changed(spec, actor, "level_removed", level=level.number,
                   before={"title": level.title}, max_level=[top, top - 1])


def _renumber(level: Level) -> None:
    for position, requirement in enumerate(level.requirements):
        requirement.position = position


def add_requirement(level: Level, title: str, description: str, actor: User) -> Requirement:
    _renumber(level)
    requirement = Requirement(position=len(level.requirements), title=title.strip(),
                              description=(description or "").strip())
    level.requirements.append(requirement)
    db.session.flush()
    _level_changed(level.specialization, actor, "requirement_added", level=level.number,
                   requirement_id=requirement.id, after={"title": requirement.title})
    return requirement


def update_requirement(requirement: Requirement, title: str, description: str, actor: User) -> None:
    before = {"title": requirement.title, "description": requirement.description}
    requirement.title = title.strip()
    requirement.description = (description or "").strip()
    after = {"title": requirement.title, "description": requirement.description}
    if before != after:
        level = requirement.level
        _level_changed(level.specialization, actor, "requirement_updated", level=level.number,
                       requirement_id=requirement.id, before=before, after=after)


def remove_requirement(requirement: Requirement, actor: User) -> None:
    level = requirement.level
    level.requirements.remove(requirement)
    _renumber(level)
    _level_changed(level.specialization, actor, "requirement_removed", level=level.number,
                   requirement_id=requirement.id, before={"title": requirement.title})


def move_requirement(requirement: Requirement, direction: str, actor: User) -> None:
    """Move a requirement one place up or down within its level."""
    level = requirement.level
    items = list(level.requirements)
    index = items.index(requirement)
    target = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= target < len(items):
        raise AdminError(_("It cannot move further that way."))
    items[index], items[target] = items[target], items[index]
    for position, item in enumerate(items):
        item.position = position
    _level_changed(level.specialization, actor, "requirements_reordered", level=level.number,
                   order=[item.id for item in items])


# --- licenses ---------------------------------------------------------------------


def issue_to(email: str, spec: Specialization, level: int, actor: User) -> License:
    """Issue a license to the student with this e-mail. Raises AdminError (with the
    field) for an unknown e-mail, a non-student, a minor without guardian consent, a
    student under the minimum age, or what the lifecycle service refuses."""
    holder = accounts.find_user_by_email(email)
    if holder is None:
        raise AdminError(_("No account has this e-mail address."), "email")
    if holder.role != Role.STUDENT:
        raise AdminError(_("%(name)s is not a student; licenses are held by students.", name=holder.name),
                         "email")
    problem = rules.eligibility_problem(holder, spec)
    if problem:
        raise AdminError(problem.to_staff(), "email")
    # The lifecycle's refusals name their own field (level or specialization).
    return lifecycle.issue_license(holder, spec, level, actor)


# --- bulk jobs ------------------------------------------------------------------------


def class_student_ids(klass: Klass) -> list[int]:
    return list(db.session.scalars(
        sa.select(ClassMembership.user_id)
        .join(User, User.id == ClassMembership.user_id)
        .where(ClassMembership.class_id == klass.id, User.role == Role.STUDENT)
        .order_by(ClassMembership.user_id)
    ))


@dataclass(frozen=True)
class BulkPreview:
    """Who a bulk job over a class would move and who not, and why (``rules.bulk_verdicts``)."""

    klass: Klass
    action: str
    rows: list[tuple[rules.BulkVerdict, str]]  # (verdict, student's name), by name

    @property
    def moved(self) -> list[tuple[rules.BulkVerdict, str]]:
        return [(v, name) for v, name in self.rows if v.moves]

    @property
    def held(self) -> list[tuple[rules.BulkVerdict, str]]:
        return [(v, name) for v, name in self.rows if not v.moves]

    @property
    def overridable(self) -> list[tuple[rules.BulkVerdict, str]]:
        return [(v, name) for v, name in self.rows if v.overridable]

    @property
    def digest(self) -> str:
        """A fingerprint of the verdicts: the job starts only from the preview it was shown."""
        text = "|".join(
            f"{v.student_id}:{v.from_level}:{v.to_level}:{','.join(v.blockers)}" for v, _ in self.rows
        )
        return hashlib.sha256(f"{self.klass.id}:{self.action}:{text}".encode()).hexdigest()[:32]


def bulk_preview(klass: Klass, action: str) -> BulkPreview:
    """What a bulk ``action`` over the class's students would do now. Raises AdminError when
    the action is unknown or the class has no students."""
    if action not in BULK_ACTIONS:
        raise AdminError(_("Choose what to do."), "action")
    students = class_student_ids(klass)
    if not students:
        raise AdminError(_("%(class_name)s has no students yet.", class_name=klass.name), "klass")
    spec = db.session.get(Specialization, klass.specialization_id)
    verdicts = rules.bulk_verdicts(action, spec, students)
    names = dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(students))).all())
    rows = sorted(((verdicts[sid], names.get(sid, f"#{sid}")) for sid in students),
                  key=lambda row: (row[1].casefold(), row[0].student_id))
    return BulkPreview(klass, action, rows)


def start_bulk(klass: Klass, action: str, prerender: bool, actor: User, *,
               preview: str | None = None, override_reason: str | None = None) -> Job:
    """Queue one bulk job over the class's students; the caller commits, then dispatches.

    ``preview`` is the digest of the preview the admin confirmed: when the verdicts have
    changed since, nothing starts (PreviewChanged). ``override_reason`` moves, too, the
    students held back only by missing requirements or a recent rejection; the reason is
    audited and written into each of their history rows. The job asks the rules again for
    each student when it reaches them.

    For an upgrade, each student's current level is noted now, so the job (resumed or
    re-run) raises each license exactly one level. Raises AdminError when the action
    is unknown, the class is empty, or the same job for the class is still under way.
    """
    current = bulk_preview(klass, action)
    override_reason = " ".join((override_reason or "").split()) or None
    if preview is not None and preview != current.digest:
        raise PreviewChanged(
            _("Something changed since the preview was made; check the new preview and confirm again.")
        )
    students = [v.student_id for v, _ in current.rows]
    students.sort()
    busy = db.session.scalars(
        sa.select(Job).where(Job.kind == BULK_KIND,
                             Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING)))
    ).all()
    for job in busy:
        if job.params.get("class_id") == klass.id and job.params.get("action") == action:
            raise AdminError(_("Job %(id)s is already doing this for %(class_name)s; wait for it to finish.",
                               id=job.id, class_name=klass.name), "klass")
    params = {
        "class_id": klass.id,
        "class_name": klass.name,
        "specialization_id": klass.specialization_id,
        "action": action,
        "prerender": bool(prerender),
        "students": students,
        "expected": {"moved": len(current.moved), "held": len(current.held)},
    }
    if override_reason:
        params["override_reason"] = override_reason[:500]
    if action == "upgrade":
        levels = dict(db.session.execute(
            sa.select(License.holder_id, License.level).where(
                License.specialization_id == klass.specialization_id,
                License.holder_id.in_(students),
            )
        ).all())
        params["from_levels"] = {str(uid): level for uid, level in levels.items()}
    job = jobs.enqueue(BULK_KIND, params, actor)
    if override_reason:
        record(actor, actions.JOB_OVERRIDE, job, kind=BULK_KIND, class_id=klass.id, bulk_action=action,
               reason=params["override_reason"],
               students=[v.student_id for v, _ in current.overridable])
    return job


def resume_job(job: Job, actor: User) -> None:
    """Mark a stopped job for another run; the caller commits, then dispatches.
    Raises AdminError for a finished job, or a queued one (it has not started)."""
    if job.status == JobStatus.FINISHED:
        raise AdminError(_("This job has finished; there is nothing to resume."))
    if job.status == JobStatus.QUEUED:
        raise AdminError(_("This job is waiting for a worker and has not started yet; "
                           "there is nothing to resume."))
    record(actor, actions.JOB_RESUMED, job, kind=job.kind, status_before=job.status,
           done=job.done, total=job.total)
