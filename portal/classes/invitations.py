"""Inviting students to a class by e-mail.

An instructor pastes addresses (one a line) or uploads a CSV file (column ``email``,
optional ``name``; UTF-8 with or without a byte-order mark, comma or semicolon, as
spreadsheets save it). A preview says who will be invited, who is in the class already,
who has an open invitation, which lines are not addresses, which are repeated and which
belong to staff (who cannot be invited). Confirming creates every invitation and one
background job that mails them, in one transaction: all of them are queued, or none.

Each mail carries ``/dashboard/join/<token>``, signed with the secret key, naming the
invitation and its ``nonce``; it works for ``VALID_DAYS`` days and once. Resending gives
a new nonce (the earlier link stops working) and a new period.

Plain functions: they record their audit events and never commit.
"""
from __future__ import annotations

import csv
import io
import json
import secrets
from dataclasses import dataclass, field
from datetime import date, timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from itsdangerous import BadSignature, URLSafeSerializer

from portal import jobs, mail
from portal.achievements import awarding
from portal.achievements import rules as achievement_rules
from portal.audit import actions
from portal.audit.services import record
from portal.auth import services as accounts
from portal.auth import sessions, tokens
from portal.classes.services import ClassError, add_member
from portal.db import utcnow
from portal.exceptions import Conflict, NotAllowed
from portal.extensions import db
from portal.models.job import Job
from portal.models.klass import (
    INVITATIONS_JOB_KIND,
    ClassInvitation,
    ClassMembership,
    InvitationState,
    Klass,
)
from portal.models.notification import Category
from portal.models.user import Role, User
from portal.notifications.services import notify

VALID_DAYS = 14
MAX_ROWS = 500
MAX_BYTES = 1_000_000
JOB_KIND = INVITATIONS_JOB_KIND
_SALT = "portal.class-invitation"

SUBJECT = _l("You are invited to a class")
UNKNOWN = _l("This invitation link is not valid. Ask your instructor for a new one.")
WITHDRAWN = _l("This invitation was withdrawn by the instructor.")
USED = _l("This invitation was already used to join the class.")
EXPIRED = _l("This invitation has expired. Ask your instructor to send it again.")
ARCHIVED = _l("This class has been archived and no longer takes new students.")


class InvitationError(ClassError):
    """An invitation that cannot be used, or a list that cannot be read."""


class WrongAccount(InvitationError, NotAllowed):
    """Someone else is logged in: the message says whose invitation it is."""


# -- reading the list ---------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    email: str
    name: str = ""


@dataclass
class Preview:
    """What confirming would do; ``invite`` is who gets a mail."""

    invite: list[Entry] = field(default_factory=list)
    members: list[str] = field(default_factory=list)
    open: list[str] = field(default_factory=list)  # an invitation is still waiting
    staff: list[str] = field(default_factory=list)
    not_addresses: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def _address(text: str) -> str | None:
    try:
        return validate_email(text.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def _too_many() -> InvitationError:
    return InvitationError(ngettext("Invite at most %(num)d person at a time.",
                                    "Invite at most %(num)d people at a time.", MAX_ROWS), "emails")


def read_lines(text: str) -> list[tuple[str, str]]:
    """(what was written, name) for every line that is not blank."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if len(lines) > MAX_ROWS:
        raise _too_many()
    return [(line, "") for line in lines]


def read_csv(data: bytes) -> list[tuple[str, str]]:
    """(e-mail cell, name cell) for every row of the file. Raises InvitationError (field
    ``file``) for a file over ``MAX_BYTES`` or ``MAX_ROWS`` rows, one not in UTF-8, or
    one without an ``email`` column."""
    if len(data) > MAX_BYTES:
        raise InvitationError(_("The file is larger than 1 MB."), "file")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvitationError(
            _("The file is not in UTF-8. In your spreadsheet, save it as “CSV UTF-8”."), "file"
        ) from None
    if "\x00" in text:
        raise InvitationError(_("This is not a CSV file."), "file")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error:
        raise InvitationError(_("This is not a CSV file."), "file") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if "email" not in header:
        raise InvitationError(_("The file needs a column named “email” in its first row."), "file")
    if len(rows) - 1 > MAX_ROWS:
        raise _too_many()
    at, name_at = header.index("email"), (header.index("name") if "name" in header else None)

    def cell(row, i):
        return row[i].strip() if i is not None and i < len(row) else ""

    return [(cell(row, at), cell(row, name_at)[:120]) for row in rows[1:]]


def entries_json(entries: list[Entry]) -> str:
    """The list a preview confirms, as one form field (a form of 500 addresses and names
    in fields of their own would pass the limit on a form's parts)."""
    return json.dumps([[e.email, e.name] for e in entries], ensure_ascii=False)


def entries_from_json(text: str) -> list[Entry]:
    """The list back from :func:`entries_json`; anything else is an empty list."""
    try:
        rows = json.loads(text or "[]")
    except ValueError:
        return []
    if not isinstance(rows, list):
        return []
    return [Entry(str(row[0]), str(row[1])[:120]) for row in rows[:MAX_ROWS]
            if isinstance(row, list) and len(row) == 2]


def preview(klass: Klass, written: list[tuple[str, str]]) -> Preview:
    """Sort what was written into who is invited and who is not, and why."""
    result = Preview()
    seen: set[str] = set()
    wanted: list[Entry] = []
    for text, name in written:
        address = _address(text)
        if address is None:
            result.not_addresses.append(text)
        elif address in seen:
            result.duplicates.append(address)
        else:
            seen.add(address)
            wanted.append(Entry(address, " ".join(name.split())))
    if not wanted:
        return result
    emails = [e.email for e in wanted]
    accounts_by_email = dict(db.session.execute(
        sa.select(User.email, User.role).where(User.email.in_(emails))).all())
    members = set(db.session.scalars(
        sa.select(User.email).join(ClassMembership, ClassMembership.user_id == User.id)
        .where(ClassMembership.class_id == klass.id, User.email.in_(emails))))
    now = utcnow()
    waiting = set(db.session.scalars(
        sa.select(ClassInvitation.email).where(
            ClassInvitation.class_id == klass.id, ClassInvitation.email.in_(emails),
            ClassInvitation.joined_at.is_(None), ClassInvitation.withdrawn_at.is_(None),
            ClassInvitation.expires_at > now)))
    for entry in wanted:
        if accounts_by_email.get(entry.email, Role.STUDENT) != Role.STUDENT:
            result.staff.append(entry.email)
        elif entry.email in members:
            result.members.append(entry.email)
        elif entry.email in waiting:
            result.open.append(entry.email)
        else:
            result.invite.append(entry)
    return result


# -- inviting -----------------------------------------------------------------------------


def _check_open(klass: Klass) -> None:
    if klass.archived_at is not None:
        raise InvitationError(_("An archived class takes no new students."))


def invite(klass: Klass, entries: list[Entry], *, actor: User,
           mail_them: bool = True) -> tuple[list[ClassInvitation], Job | None]:
    """Invite every address of ``entries`` (confirmed from a preview) and queue one job
    that mails them all (none with ``mail_them=False``: the demo's past invitations).
    Raises InvitationError when the class is archived, when nobody is left to invite, or
    when the list has an address of a staff account (nothing is invited then)."""
    _check_open(klass)
    checked = preview(klass, [(e.email, e.name) for e in entries])
    if checked.staff:
        raise InvitationError(_("Instructors and admins cannot be invited: %(emails)s.",
                                emails=", ".join(checked.staff)))
    if not checked.invite:
        raise InvitationError(_("Nobody on the list needs an invitation."))
    now = utcnow()
    made = [
        ClassInvitation(class_id=klass.id, email=e.email, name=e.name, nonce=secrets.token_hex(16),
                        invited_by_id=actor.id, created_at=now, sent_at=now,
                        expires_at=now + timedelta(days=VALID_DAYS))
        for e in checked.invite
    ]
    db.session.add_all(made)
    db.session.flush()
    record(actor, actions.CLASS_INVITED, klass, count=len(made), emails=[i.email for i in made])
    # Students who have an account also find the invitation in the portal (its link, with
    # the token, travels only by mail).
    for student in db.session.scalars(sa.select(User).where(
            User.email.in_([i.email for i in made]), User.role == Role.STUDENT)):
        notify(student, Category.CLASSES, "class_invitation", class_id=klass.id, class_name=klass.name)
    return made, (_queue(klass, made, actor) if mail_them else None)


def _queue(klass: Klass, invitations: list[ClassInvitation], actor: User) -> Job:
    return jobs.enqueue(JOB_KIND, {"class_id": klass.id, "class_name": klass.name,
                              "invitation_ids": [i.id for i in invitations]}, actor)


def _changeable(invitation: ClassInvitation) -> None:
    state = invitation.state(utcnow())
    if state == InvitationState.JOINED:
        raise Conflict(str(USED))
    if state == InvitationState.WITHDRAWN:
        raise Conflict(str(WITHDRAWN))


def resend(invitation: ClassInvitation, *, actor: User) -> Job:
    """Mail the invitation again with a new link (the earlier one stops working) valid
    for ``VALID_DAYS`` from now. Raises Conflict once it is used or withdrawn."""
    _changeable(invitation)
    _check_open(invitation.klass)
    now = utcnow()
    invitation.nonce = secrets.token_hex(16)
    invitation.sent_at = now
    invitation.expires_at = now + timedelta(days=VALID_DAYS)
    record(actor, actions.CLASS_INVITATION_RESENT, invitation.klass, email=invitation.email,
           invitation_id=invitation.id)
    return _queue(invitation.klass, [invitation], actor)


def withdraw(invitation: ClassInvitation, *, actor: User) -> None:
    """The link stops working. Raises Conflict once it is used or withdrawn."""
    _changeable(invitation)
    invitation.withdrawn_at = utcnow()
    record(actor, actions.CLASS_INVITATION_WITHDRAWN, invitation.klass, email=invitation.email,
           invitation_id=invitation.id)


def invitations_of(klass: Klass) -> list[ClassInvitation]:
    return list(db.session.scalars(
        sa.select(ClassInvitation).where(ClassInvitation.class_id == klass.id)
        .order_by(ClassInvitation.sent_at.desc(), ClassInvitation.id.desc())))


# -- the mail -----------------------------------------------------------------------------


def _serializer(secret_key: str | None = None) -> URLSafeSerializer:
    return URLSafeSerializer(secret_key or current_app.config["SECRET_KEY"], salt=_SALT)


def token_for(invitation: ClassInvitation, secret_key: str | None = None) -> str:
    """The link's token; ``secret_key``: another server's key (the browser tests' live one)."""
    return _serializer(secret_key).dumps({"i": invitation.id, "n": invitation.nonce})


def link_for(invitation: ClassInvitation) -> str:
    return tokens.absolute_url("invitations.accept", token=token_for(invitation))


def send_invitations(job: Job, run: jobs.JobRun) -> None:
    """The job: one mail per invitation still waiting (each item committed on its own)."""
    ids = [int(i) for i in job.params.get("invitation_ids", [])]
    run.set_total(len(ids))

    def send_one(key: str) -> tuple[str, str]:
        invitation = db.session.get(ClassInvitation, int(key))
        if invitation is None or invitation.state(utcnow()) != InvitationState.SENT:
            return "skipped", "no longer waiting"
        klass = invitation.klass
        reader = accounts.find_user_by_email(invitation.email)
        subject, text = tokens.compose(
            "class_invitation", SUBJECT, reader, klass=klass, instructor=klass.instructor.name,
            name=reader.name if reader else invitation.name, link=link_for(invitation),
            days=VALID_DAYS, specialization=klass.specialization,
        )
        if not mail.send(invitation.email, subject, text):
            raise jobs.JobError("the mail server did not take the message")
        return "done", invitation.email

    run.each([str(i) for i in ids], send_one)


# -- accepting ----------------------------------------------------------------------------


def invitation_for_token(token: str) -> ClassInvitation:
    """The waiting invitation of a link. Raises InvitationError (status 404, or 410 for
    one expired, used or withdrawn) with a message for its reader."""
    try:
        payload = _serializer().loads(token)
    except BadSignature:
        raise InvitationError(UNKNOWN) from None
    invitation = db.session.get(ClassInvitation, payload.get("i")) if isinstance(payload, dict) else None
    if invitation is None or not secrets.compare_digest(str(payload.get("n", "")), invitation.nonce):
        raise InvitationError(UNKNOWN)
    state = invitation.state(utcnow())
    message = {InvitationState.WITHDRAWN: WITHDRAWN, InvitationState.JOINED: USED,
               InvitationState.EXPIRED: EXPIRED}.get(state)
    if message is None and invitation.klass.archived_at is not None:
        message = ARCHIVED
    if message is not None:
        error = InvitationError(message)
        error.status = 410
        raise error
    return invitation


def accept(invitation: ClassInvitation, student: User, *, actor: User) -> Klass:
    """Join the invitation's class as ``student``, whose address must be the invited one.
    Raises WrongAccount (naming the invited address) for anyone else, and Conflict when
    the invitation was used or withdrawn at this moment."""
    if student.role != Role.STUDENT or student.email != invitation.email:
        raise WrongAccount(_(
            "This invitation is for %(email)s, but you are logged in as %(you)s. Log out, "
            "then open the link again.", email=invitation.email, you=student.email))
    now = utcnow()
    # One conditional UPDATE decides a race between two clicks (or a click and a withdrawal).
    taken = db.session.execute(
        sa.update(ClassInvitation)
        .where(ClassInvitation.id == invitation.id, ClassInvitation.joined_at.is_(None),
               ClassInvitation.withdrawn_at.is_(None))
        .values(joined_at=now, joined_user_id=student.id)
    )
    if taken.rowcount != 1:
        raise Conflict(str(USED))
    klass = invitation.klass
    if add_member(klass, student):
        record(actor, actions.CLASS_JOINED, klass, student_id=student.id, via="invitation",
               invitation_id=invitation.id)
        awarding.on_event(student, achievement_rules.CLASS)
    return klass


def register_and_accept(invitation: ClassInvitation, *, name: str, password: str,
                        date_of_birth: date | None, ip: str | None, user_agent: str | None) -> User:
    """A new address: a student account, its address confirmed by the invitation (the
    link was mailed to it), that joins the class and is logged in (its session started).
    Raises AuthError beside its field."""
    accounts.validate_name(name)
    accounts.validate_new_password(password, email=invitation.email, name=name)
    user = accounts.create_user(
        invitation.email, name, Role.STUDENT, password=password, date_of_birth=date_of_birth,
        action=actions.USER_REGISTERED,
    )
    db.session.flush()
    record(user, actions.USER_EMAIL_CONFIRMED, user, via="class_invitation")
    accept(invitation, user, actor=user)
    session_record = sessions.start_session(user, remember=False, ip=ip, user_agent=user_agent)
    user.last_login_at = utcnow()
    record(user, actions.LOGIN, user, session_id=session_record.id, remember=False, via="registration")
    return user
