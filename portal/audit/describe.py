"""Audit events in words: one sentence per action, for the people the events are about.

"Recent activity" on the dashboard and "My activity" show these instead of the raw
action names. Each action constant of :mod:`portal.audit.actions` has a sentence
builder here (a test makes sure none is forgotten); an unknown action still gets a
readable fallback. The sentences are plain format strings with named placeholders so
they can be wrapped for translation without changing their shape.
"""
# The sentences stay ``"...{name}...".format(name=...)`` (not f-strings): that is the
# shape gettext needs, ``_("...{name}...").format(name=...)``.
# ruff: noqa: UP032
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from portal.admin.services import BULK_KIND
from portal.audit import actions as a
from portal.audit.integrity import JOB_KIND as AUDIT_CHECK_KIND
from portal.auth.sessions import describe as describe_device
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.models.audit import AuditEvent, Outcome
from portal.models.catalogue import Specialization
from portal.models.job import Job
from portal.models.klass import Klass
from portal.models.license import License, UpgradeRequest
from portal.models.user import User


def job_title(job: Job | None, kind: str | None = None, params: dict[str, Any] | None = None) -> str:
    """A job in words: "Bulk issue: Saturday squad", "Full audit check"."""
    kind = job.kind if job is not None else kind
    params = (job.params if job is not None else params) or {}
    if kind == BULK_KIND:
        label = "Bulk upgrade" if params.get("action") == "upgrade" else "Bulk issue"
        name = params.get("class_name")
        return "{label}: {name}".format(label=label, name=name) if name else label
    if kind == AUDIT_CHECK_KIND:
        return "Full audit check"
    return "Background job ({kind})".format(kind=kind or "unknown")


@dataclass
class Context:
    """What a sentence builder may use: the event, who reads it, and lookups."""

    event: AuditEvent
    viewer_id: int | None

    @property
    def d(self) -> dict[str, Any]:
        return self.event.details or {}

    @property
    def mine(self) -> bool:
        return self.viewer_id is not None and self.event.actor_id == self.viewer_id

    @property
    def who(self) -> str:
        """The subject of the sentence: "You", the actor's e-mail, or "Portal"."""
        if self.mine:
            return "You"
        return self.event.actor_label or "Portal"

    @property
    def device(self) -> str:
        return str(describe_device(self.event.user_agent))

    def _rid(self) -> int | None:
        try:
            return int(self.event.resource_id)
        except (TypeError, ValueError):
            return None

    def _get(self, model):
        rid = self._rid()
        return db.session.get(model, rid) if rid is not None else None

    def account(self) -> str:
        """The account a user event is about: "your account" or "sam@x's account"."""
        if (self.event.resource_type == "user" and self.viewer_id is not None
                and self._rid() == self.viewer_id):
            return "your account"
        user = self._get(User) if self.event.resource_type == "user" else None
        if user is not None:
            return "the account of {name}".format(name=user.name)
        return "an account"

    def spec_name(self, code: str | None = None) -> str:
        code = code or self.d.get("specialization")
        if self.event.resource_type == "specialization":
            spec = self._get(Specialization)
            if spec is not None:
                return spec.name
        if code:
            name = db.session.scalar(sa.select(Specialization.name).where(Specialization.code == code))
            return name or code
        return "a specialization"

    def license_text(self, level: Any = None) -> str:
        """ "Player level 2" for the license resource (or the license of a request)."""
        lic = None
        if self.event.resource_type == "license":
            lic = self._get(License)
        elif self.event.resource_type == "request":
            req = self._get(UpgradeRequest)
            if req is not None:
                name = req.specialization.name
                return "{spec} level {level}".format(spec=name, level=level or req.to_level)
        if lic is not None:
            return "{spec} level {level}".format(spec=lic.specialization.name, level=level or lic.level)
        name = self.spec_name()
        if level:
            return "{spec} level {level}".format(spec=name, level=level)
        return "a license"

    def holder(self) -> str:
        """Whose license: "your" or "Sam's" (for staff reading their own activity)."""
        lic = self._get(License) if self.event.resource_type == "license" else None
        holder_id = lic.holder_id if lic is not None else self.d.get("holder_id")
        if holder_id is not None and holder_id == self.viewer_id:
            return "your"
        user = db.session.get(User, holder_id) if holder_id else None
        return "{name}'s".format(name=user.name) if user is not None else "a"

    def student(self) -> str:
        sid = self.d.get("student_id")
        if sid is not None and sid == self.viewer_id:
            return "you"
        user = db.session.get(User, sid) if sid else None
        return user.name if user is not None else "a student"

    def class_name(self) -> str:
        klass = self._get(Klass) if self.event.resource_type == "class" else None
        if klass is not None:
            return klass.name
        return self.d.get("name") or "a class"

    def job(self) -> str:
        job = self._get(Job) if self.event.resource_type == "job" else None
        if job is not None:
            return job_title(job)
        return job_title(None, self.d.get("kind"), self.d.get("params"))


Builder = Callable[[Context], str]


def _cap(text: str) -> str:
    """Capitalise the first letter only ("the account of Sam Lee" -> "The account of Sam Lee")."""
    return text[:1].upper() + text[1:]


def _login(c: Context) -> str:
    if c.d.get("via") == "registration":
        return "{who} created your account and logged in from {device}".format(who=c.who, device=c.device)
    return "{who} logged in from {device}".format(who=c.who, device=c.device)


def _login_failed(c: Context) -> str:
    return "Someone tried to log in to {account} with a wrong password from {device}".format(
        account=c.account(), device=c.device)


def _lockout(c: Context) -> str:
    minutes = c.d.get("minutes")
    if minutes:
        return "{account} was locked for {minutes} minutes after {n} failed logins".format(
            account=_cap(c.account()), minutes=minutes, n=c.d.get("failures", "several"))
    return "{account} was locked after failed logins".format(account=_cap(c.account()))


def _reset_requested(c: Context) -> str:
    if c.d.get("purpose") == "set":
        return "{who} sent a link to choose a password for {account}".format(who=c.who, account=c.account())
    if c.event.outcome != Outcome.SUCCESS:
        return "A password reset was asked for an account that cannot log in"
    return "{who} asked for a password reset link".format(who=c.who)


def _password_reset(c: Context) -> str:
    if c.d.get("purpose") == "set":
        return "A password was chosen for {account}".format(account=c.account())
    return "The password of {account} was reset with an e-mailed link".format(account=c.account())


def _password_changed(c: Context) -> str:
    if c.event.outcome != Outcome.SUCCESS:
        return "{who} tried to change the password; the current password was not accepted".format(
            who=c.who)
    return "{who} changed the password".format(who=c.who)


def _session_revoked(c: Context) -> str:
    if c.d.get("scope") == "others":
        return "{who} logged out {n} other device(s)".format(who=c.who, n=c.d.get("count", 0))
    return "{who} logged out one device".format(who=c.who)


def _status_changed(c: Context) -> str:
    return "{who} changed the status of {account} from {before} to {after}".format(
        who=c.who, account=c.account(), before=c.d.get("before", "?"), after=c.d.get("after", "?"))


def _role_changed(c: Context) -> str:
    return "{who} changed the role of {account} from {before} to {after}".format(
        who=c.who, account=c.account(), before=c.d.get("before", "?"), after=c.d.get("after", "?"))


def _specializations_changed(c: Context) -> str:
    taught = ", ".join(c.d.get("after") or []) or "none"
    return "{who} set the specializations {account} teaches: {taught}".format(
        who=c.who, account=c.account(), taught=taught)


def _spec_selected(c: Context) -> str:
    if c.d.get("result") == "issued":
        return "{who} started {spec} and got a level-1 license".format(who=c.who, spec=c.spec_name())
    return "{who} chose to start {spec}".format(who=c.who, spec=c.spec_name())


def _spec(verb: str) -> Builder:
    return lambda c: "{who} {verb} the specialization {spec}".format(who=c.who, verb=verb, spec=c.spec_name())


def _requirement(verb: str) -> Builder:
    return lambda c: "{who} {verb} “{req}” for {student}".format(
        who=c.who, verb=verb, req=c.d.get("requirement", "a requirement"), student=c.student())


def _issued(c: Context) -> str:
    if c.mine and c.holder() == "your":  # started a specialization that issues at once
        return "Your {lic} license was issued".format(lic=c.license_text(c.d.get("level")))
    return "{who} issued {whose} {lic} license".format(
        who=c.who, whose=c.holder(), lic=c.license_text(c.d.get("level")))


def _upgrade_requested(c: Context) -> str:
    if c.d.get("from_level") == 0:
        return "{who} asked to start {spec} at level 1".format(
            who=c.who, spec=c.license_text().rsplit(" level ", 1)[0])
    return "{who} asked for {lic}".format(who=c.who, lic=c.license_text(c.d.get("to_level")))


def _upgrade_approved(c: Context) -> str:
    return "{who} approved the request for {lic}".format(who=c.who, lic=c.license_text(c.d.get("to_level")))


def _upgrade_rejected(c: Context) -> str:
    return "{who} rejected the request for {lic}".format(who=c.who, lic=c.license_text(c.d.get("to_level")))


def _upgrade_withdrawn(c: Context) -> str:
    return "{who} withdrew the request for {lic}".format(who=c.who, lic=c.license_text(c.d.get("to_level")))


def _license(verb: str) -> Builder:
    return lambda c: "{who} {verb} {whose} {lic} license".format(
        who=c.who, verb=verb, whose=c.holder(), lic=c.license_text())


def _expired(c: Context) -> str:
    return "{whose} {lic} license expired".format(whose=_cap(c.holder()), lic=c.license_text())


def _certificate(c: Context) -> str:
    return "{who} downloaded the certificate of {whose} {lic} license".format(
        who=c.who, whose=c.holder(), lic=c.license_text(c.d.get("level")))


def _class(verb: str) -> Builder:
    return lambda c: "{who} {verb} the class {name}".format(who=c.who, verb=verb, name=c.class_name())


def _class_student_removed(c: Context) -> str:
    return "{who} removed {student} from the class {name}".format(
        who=c.who, student=c.student(), name=c.class_name())


def _job(verb: str) -> Builder:
    return lambda c: "{who} {verb} the job “{job}”".format(who=c.who, verb=verb, job=c.job())


def _job_finished(c: Context) -> str:
    if c.d.get("status") == "failed":
        return "The job “{job}” failed".format(job=c.job())
    return "The job “{job}” finished: {ok} done, {skipped} skipped, {failed} failed".format(
        job=c.job(), ok=c.d.get("succeeded", 0), skipped=c.d.get("skipped", 0), failed=c.d.get("failed", 0))


def _audit_verified(c: Context) -> str:
    if c.event.outcome == Outcome.SUCCESS:
        return "The full audit check found the chain intact"
    return "The full audit check found a problem in the chain"


def _denied(c: Context) -> str:
    status = c.event.status
    if status == 429:
        return "Too many requests were refused for a while"
    return "Access to {path} was refused".format(path=c.event.path or "a page")


def _failed(c: Context) -> str:
    return "A request to {path} failed on the server".format(path=c.event.path or "a page")


def _fixed(text: str) -> Builder:
    return lambda c: text.format(who=c.who, account=c.account())


SENTENCES: dict[str, Builder] = {
    a.LOGIN: _login,
    a.LOGIN_FAILED: _login_failed,
    a.LOGOUT: _fixed("{who} logged out"),
    a.LOCKOUT: _lockout,
    a.PASSWORD_RESET_REQUESTED: _reset_requested,
    a.PASSWORD_RESET: _password_reset,
    a.PASSWORD_CHANGED: _password_changed,
    a.SESSION_REVOKED: _session_revoked,
    a.USER_REGISTERED: _fixed("{who} registered"),
    a.USER_CREATED: _fixed("{who} created {account}"),
    a.USER_EMAIL_CONFIRMED: _fixed("{who} confirmed the e-mail address of {account}"),
    a.USER_CONFIRMATION_REQUESTED: _fixed("A confirmation e-mail was asked for {account}"),
    a.USER_REGISTRATION_REPEATED: _fixed("Someone tried to register again with the address of {account}"),
    a.USER_UNCONFIRMED_REMOVED: lambda c: "An unconfirmed registration ({email}) was removed".format(
        email=c.d.get("email") or "unknown address"),
    a.USER_UPDATED: _fixed("{who} updated {account}"),
    a.USER_ROLE_CHANGED: _role_changed,
    a.USER_STATUS_CHANGED: _status_changed,
    a.USER_SPECIALIZATIONS_CHANGED: _specializations_changed,
    a.USER_LANGUAGE_CHANGED: lambda c: "{who} chose to read Portal in {language}".format(
        who=c.who, language=LANGUAGES.get(c.d.get("locale"), c.d.get("locale") or "another language")),
    a.USER_CONSENT_RECORDED: _fixed("{who} recorded the guardian's consent for {account}"),
    a.USER_UNLOCKED: _fixed("{who} unlocked {account}"),
    a.USER_SESSIONS_ENDED: _fixed("{who} logged out every device of {account}"),
    a.SPECIALIZATION_SELECTED: _spec_selected,
    a.SPECIALIZATION_CREATED: _spec("created"),
    a.SPECIALIZATION_UPDATED: _spec("changed"),
    a.SPECIALIZATION_ARCHIVED: _spec("archived"),
    a.SPECIALIZATION_DELETED: _spec("deleted"),
    a.REQUIREMENT_CONFIRMED: _requirement("confirmed"),
    a.REQUIREMENT_UNCONFIRMED: _requirement("took back the confirmation of"),
    a.LICENSE_ISSUED: _issued,
    a.LICENSE_UPGRADE_REQUESTED: _upgrade_requested,
    a.LICENSE_UPGRADE_APPROVED: _upgrade_approved,
    a.LICENSE_UPGRADE_REJECTED: _upgrade_rejected,
    a.LICENSE_UPGRADE_WITHDRAWN: _upgrade_withdrawn,
    a.LICENSE_SUSPENDED: _license("suspended"),
    a.LICENSE_REVOKED: _license("revoked"),
    a.LICENSE_REINSTATED: _license("reinstated"),
    a.LICENSE_RENEWED: _license("renewed"),
    a.LICENSE_EXPIRED: _expired,
    a.LICENSE_CERTIFICATE_DOWNLOADED: _certificate,
    a.KEYS_ROTATED: _fixed("{who} started signing with a new key; the old one stays published"),
    a.CLASS_CREATED: _class("created"),
    a.CLASS_ARCHIVED: _class("archived"),
    a.CLASS_CODE_ROTATED: _class("made a new join code for"),
    a.CLASS_JOINED: _class("joined"),
    a.CLASS_LEFT: _class("left"),
    a.CLASS_STUDENT_REMOVED: _class_student_removed,
    a.CLASS_JOIN_FAILED: _fixed("{who} tried to join a class with a code that did not work"),
    a.JOB_STARTED: _job("started"),
    a.JOB_FINISHED: _job_finished,
    a.JOB_RESUMED: _job("resumed"),
    a.JOB_OVERRIDE: lambda c: "{who} overruled the checks for {n} student(s) in the job “{job}”".format(
        who=c.who, n=len(c.d.get("students") or []), job=c.job()),
    a.AUDIT_EXPORTED: _fixed("{who} exported audit events as CSV"),
    a.AUDIT_VERIFIED: _audit_verified,
    a.AUDIT_CHECKPOINT: _fixed("{who} wrote a signed checkpoint of the audit chain"),
    a.ACCESS_DENIED: _denied,
    a.REQUEST_FAILED: _failed,
}


def fallback(event: AuditEvent) -> str:
    """For an action without a sentence: its name in words ("license upgrade requested")."""
    words = (event.action or "event").replace(".", " ").replace("_", " ")
    return "Recorded: {words}".format(words=words)


def describe(event: AuditEvent, viewer: Any = None) -> str:
    """The event as one sentence, from the point of view of ``viewer`` (a User or None)."""
    builder = SENTENCES.get(event.action)
    if builder is None:
        return fallback(event)
    return builder(Context(event, getattr(viewer, "id", None)))
