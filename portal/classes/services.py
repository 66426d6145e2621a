"""Class services: plain functions, the acting user explicit, no commits.

Join codes look like ``PLY-4KDQ-9XTR-M7CA``: the specialization's code and twelve
characters, in groups of four, from an alphabet without look-alikes (no 0/O, 1/I/L,
2/Z, 5/S, 8/B), so a code can be read aloud or copied from a whiteboard without
mistakes. Twelve of 25 symbols are 55 bits: with the limits on refused codes
(``portal.limits``), guessing one is out of reach. Codes handed out before had six
characters (``PLY-4KD-9QX``, 28 bits); they keep working until the class's code is
renewed.
"""
from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from portal.achievements import awarding
from portal.achievements import rules as achievement_rules
from portal.audit import actions
from portal.audit.services import record
from portal.db import apply_changes, utcnow
from portal.exceptions import NotAllowed, NotYours, PortalError
from portal.extensions import db
from portal.licenses import rules
from portal.models.catalogue import Level, Requirement, RequirementCompletion, Specialization
from portal.models.klass import ClassMembership, Klass, ReplacedJoinCode
from portal.models.notification import Category
from portal.models.user import Role, User
from portal.notifications.services import notify

CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_GROUPS = (4, 4, 4)
LEGACY_CODE_GROUPS = (3, 3)
_CODE_ATTEMPTS = 8
CODE_EXAMPLE = "PLY-4KDQ-9XTR-M7CA"
# One answer for a code no class has and for one that was replaced: a guess learns nothing.
UNKNOWN_CODE = _l(
    "This join code does not work. Check it with your instructor, who may have given out a new one."
)


def _pattern(groups: tuple[int, ...]) -> re.Pattern:
    body = "".join(f"-[{CODE_ALPHABET}]{{{n}}}" for n in groups)
    return re.compile(rf"^[A-Z]{{3}}{body}$")


CODE_PATTERN = _pattern(CODE_GROUPS)
LEGACY_CODE_PATTERN = _pattern(LEGACY_CODE_GROUPS)


class ClassError(PortalError):
    """A refused class action; the message is safe to show to the user."""


class NotMember(ClassError, NotYours):
    """The student is not in the class: answered like a class that is not there."""


# -- join codes ---------------------------------------------------------------------------


def _grouped(prefix: str, body: str, groups: tuple[int, ...]) -> str:
    parts, start = [prefix], 0
    for size in groups:
        parts.append(body[start:start + size])
        start += size
    return "-".join(parts)


def new_join_code(spec: Specialization) -> str:
    body = "".join(secrets.choice(CODE_ALPHABET) for _ in range(sum(CODE_GROUPS)))
    return _grouped(spec.code.upper(), body, CODE_GROUPS)


def normalise_join_code(typed: str) -> str:
    """The display form of what a student typed: case, spaces and dashes forgiven.
    Current codes and the shorter ones handed out before both come out grouped."""
    compact = re.sub(r"[^A-Za-z0-9]", "", typed or "").upper()
    for groups in (CODE_GROUPS, LEGACY_CODE_GROUPS):
        if len(compact) == 3 + sum(groups):
            return _grouped(compact[:3], compact[3:], groups)
    return compact


def is_join_code(display: str) -> bool:
    return bool(CODE_PATTERN.match(display) or LEGACY_CODE_PATTERN.match(display))


def _code_taken(code: str) -> bool:
    """In use, or replaced once: a replaced code is never handed out again, so a student
    holding an old code is refused instead of joining another class."""
    return (
        db.session.scalar(sa.select(Klass.id).where(Klass.join_code == code)) is not None
        or db.session.get(ReplacedJoinCode, code) is not None
    )


def _assign_code(klass: Klass) -> None:
    """Give the class a fresh unique code; retry on the rare collision."""
    for _attempt in range(_CODE_ATTEMPTS):
        code = new_join_code(klass.specialization)
        if _code_taken(code):
            continue
        klass.join_code = code
        try:
            with db.session.begin_nested():
                db.session.flush()
            return
        except IntegrityError:  # someone took the same code in the meantime
            continue
    raise ClassError(_("Could not find a free join code. Please try again."))


# -- classes ------------------------------------------------------------------------------


def create_class(
    instructor: User, name: str, spec: Specialization, description: str = "", *, actor: User
) -> Klass:
    """Create a class run by ``instructor``. Raises ClassError (field ``specialization``)
    for an archived specialization or one an admin has not assigned to the instructor."""
    if instructor.role not in (Role.INSTRUCTOR, Role.ADMIN):
        raise NotAllowed(_("Only instructors can run classes."))
    if spec.archived_at is not None:
        raise ClassError(_("This specialization is archived."), "specialization")
    if instructor.role == Role.INSTRUCTOR and not rules.assigned(instructor, spec.id):
        raise ClassError(
            _("You do not teach %(specialization)s. An admin assigns the specializations you teach.",
              specialization=spec.local_name),
            "specialization",
        )
    name = (name or "").strip()
    if not name:
        raise ClassError(_("Give the class a name."), "name")
    klass = Klass(
        name=name,
        description=(description or "").strip(),
        specialization=spec,
        specialization_id=spec.id,
        instructor_id=instructor.id,
        join_code="",
    )
    db.session.add(klass)
    _assign_code(klass)
    record(
        actor,
        actions.CLASS_CREATED,
        klass,
        name=klass.name,
        specialization=spec.code,
        instructor_id=instructor.id,
    )
    return klass


def rotate_code(klass: Klass, *, actor: User) -> str:
    """Give the class a new join code; the old one stops working at once."""
    if klass.archived_at is not None:
        raise ClassError(_("An archived class has no join code to renew."))
    old = klass.join_code
    _assign_code(klass)
    db.session.add(ReplacedJoinCode(code=old, class_id=klass.id))
    record(actor, actions.CLASS_CODE_ROTATED, klass, old_code=old, new_code=klass.join_code)
    return klass.join_code


def archive_class(klass: Klass, *, actor: User) -> None:
    """Close the class: no one can join any more; the roster stays readable."""
    if klass.archived_at is not None:
        raise ClassError(_("This class is already archived."))
    klass.archived_at = utcnow()
    record(actor, actions.CLASS_ARCHIVED, klass, name=klass.name)


def edit_class(klass: Klass, name: str, description: str, *, actor: User) -> dict:
    """Rename the class or change its description; the join code stays. Returns the
    changed fields' new values (empty when nothing changed). Raises ClassError (field
    ``name``) for an empty name."""
    name = (name or "").strip()
    if not name:
        raise ClassError(_("Give the class a name."), "name")
    before, after = apply_changes(klass, {"name": name, "description": (description or "").strip()})
    if after:
        record(actor, actions.CLASS_UPDATED, klass, before=before, after=after)
    return after


def unarchive_class(klass: Klass, *, actor: User) -> None:
    """Open an archived class again: its join code works again. Raises ClassError when
    the class is not archived, or its specialization is archived."""
    if klass.archived_at is None:
        raise ClassError(_("This class is not archived."))
    if klass.specialization.archived_at is not None:
        raise ClassError(_("This specialization is archived."))
    before, after = apply_changes(klass, {"archived_at": None})
    record(actor, actions.CLASS_UNARCHIVED, klass, before=before, after=after)


def join_class(student: User, code: str, *, actor: User) -> tuple[Klass, bool]:
    """Join the class with this code. Returns (class, joined_now).

    Joining twice is harmless (joined_now is False). Raises NotAllowed unless the actor is
    a student whose e-mail address is confirmed, and ClassError with a message for the
    student when the code is malformed, unknown or replaced (one message for both), or the
    class is archived.
    """
    if student.role != Role.STUDENT:
        raise NotAllowed(_("Only students join classes."))
    if not student.email_confirmed:
        raise NotAllowed(_("Confirm your e-mail address before you join a class."), "join_code")
    display = normalise_join_code(code)
    if not is_join_code(display):
        raise ClassError(
            _("A join code has three letters and twelve letters and digits, like %(example)s.",
              example=CODE_EXAMPLE),
            "join_code",
        )
    klass = db.session.scalar(sa.select(Klass).where(Klass.join_code == display))
    if klass is None:
        raise ClassError(UNKNOWN_CODE, "join_code")
    if klass.archived_at is not None:
        raise ClassError(
            _("This class has been archived and no longer takes new students."), "join_code"
        )
    if not add_member(klass, student):
        return klass, False
    record(actor, actions.CLASS_JOINED, klass, student_id=student.id, code=display)
    awarding.on_event(student, achievement_rules.CLASS)  # counts the event just recorded
    return klass, True


def add_member(klass: Klass, student: User) -> bool:
    """Put the student in the class; False when they were in it already (also when a
    simultaneous join of the same student won the race). The caller records the event,
    then calls ``awarding.on_event(student, CLASS)``: achievements count recorded joins."""
    if _membership(klass, student) is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(ClassMembership(class_id=klass.id, user_id=student.id))
            db.session.flush()
    except IntegrityError:  # a simultaneous join of the same student won the race
        return False
    notify(klass.instructor, Category.CLASSES, "student_joined", class_id=klass.id, class_name=klass.name,
           student=student.name)
    return True


def _membership(klass: Klass, student: User) -> ClassMembership | None:
    return db.session.scalar(
        sa.select(ClassMembership).where(
            ClassMembership.class_id == klass.id, ClassMembership.user_id == student.id
        )
    )


def leave_class(student: User, klass: Klass, *, actor: User) -> None:
    """The student leaves the class. Raises NotMember when not a member."""
    membership = _membership(klass, student)
    if membership is None:
        raise NotMember(_("You are not in this class."))
    db.session.delete(membership)
    record(actor, actions.CLASS_LEFT, klass, student_id=student.id)


def remove_student(klass: Klass, student: User, *, actor: User) -> None:
    """Take a student off the roster. Raises ClassError when not a member."""
    membership = _membership(klass, student)
    if membership is None:
        raise ClassError(_("This student is not in the class."))
    db.session.delete(membership)
    record(actor, actions.CLASS_STUDENT_REMOVED, klass, student_id=student.id, student=student.email)


# -- requirements -------------------------------------------------------------------------


def _check_may_confirm(actor: User, student: User, requirement: Requirement) -> int:
    spec_id = db.session.scalar(
        sa.select(Level.specialization_id).where(Level.id == requirement.level_id)
    )
    if actor.role == Role.ADMIN:
        return spec_id
    if actor.role != Role.INSTRUCTOR or not rules.teaches(actor, student, spec_id):
        raise NotAllowed(_(
            "You can confirm requirements only for students of your classes, "
            "in the specializations you teach."
        ))
    return spec_id


def confirm_requirement(student: User, requirement: Requirement, *, actor: User) -> bool:
    """Record that the student met the requirement. Returns False if it already was.

    Raises NotAllowed unless the actor teaches the student in that specialization
    (``rules.teaches``: their open class, a specialization assigned to them) or is an admin.
    """
    _check_may_confirm(actor, student, requirement)
    found = db.session.scalar(
        sa.select(RequirementCompletion.id).where(
            RequirementCompletion.user_id == student.id,
            RequirementCompletion.requirement_id == requirement.id,
        )
    )
    if found is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                RequirementCompletion(
                    user_id=student.id, requirement_id=requirement.id, confirmed_by_id=actor.id
                )
            )
            db.session.flush()
    except IntegrityError:  # confirmed at the same moment by someone else
        return False
    record(
        actor,
        actions.REQUIREMENT_CONFIRMED,
        ("requirement", requirement.id),
        student_id=student.id,
        requirement=requirement.title,
    )
    awarding.on_event(student, achievement_rules.REQUIREMENTS)
    return True


def unconfirm_requirement(student: User, requirement: Requirement, *, actor: User) -> bool:
    """Undo a confirmation. Returns False if there was none. Raises NotAllowed as above."""
    _check_may_confirm(actor, student, requirement)
    completion = db.session.scalar(
        sa.select(RequirementCompletion).where(
            RequirementCompletion.user_id == student.id,
            RequirementCompletion.requirement_id == requirement.id,
        )
    )
    if completion is None:
        return False
    db.session.delete(completion)
    record(
        actor,
        actions.REQUIREMENT_UNCONFIRMED,
        ("requirement", requirement.id),
        student_id=student.id,
        requirement=requirement.title,
    )
    return True


def set_requirements(
    student: User, requirements: list[Requirement], checked_ids: set[int], *, actor: User
) -> tuple[int, int]:
    """Make the confirmations of ``requirements`` match ``checked_ids`` (a form's state).

    Returns (confirmed, unconfirmed) counts. Raises NotAllowed as confirm_requirement.
    """
    confirmed = unconfirmed = 0
    for requirement in requirements:
        if requirement.id in checked_ids:
            confirmed += confirm_requirement(student, requirement, actor=actor)
        else:
            unconfirmed += unconfirm_requirement(student, requirement, actor=actor)
    return confirmed, unconfirmed


def confirm_for_students(
    klass: Klass, requirement: Requirement, students: list[User], *, actor: User
) -> int:
    """Confirm one requirement of the class's specialization for several of its students
    (one ``requirement.confirmed`` event each). Returns how many were newly confirmed.
    Raises ClassError (field ``requirement``) for a requirement of another specialization
    or no student chosen, NotMember for someone not in the class, and NotAllowed as
    confirm_requirement."""
    spec_id = db.session.scalar(
        sa.select(Level.specialization_id).where(Level.id == requirement.level_id)
    )
    if spec_id != klass.specialization_id:
        raise ClassError(_("Choose one of this class's requirements."), "requirement")
    if not students:
        raise ClassError(_("Tick at least one student."), "student")
    members = set(db.session.scalars(
        sa.select(ClassMembership.user_id).where(
            ClassMembership.class_id == klass.id,
            ClassMembership.user_id.in_([s.id for s in students]),
        )
    ))
    if any(s.id not in members for s in students):
        raise NotMember(_("This student is not in the class."))
    return sum(confirm_requirement(s, requirement, actor=actor) for s in students)
