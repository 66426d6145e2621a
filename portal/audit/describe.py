"""Audit events in words: one sentence per action, for the people the events are about.

"Recent activity" on the dashboard and "My activity" show these instead of the raw
action names. Each action constant of :mod:`portal.audit.actions` has a sentence
builder here (a test makes sure none is forgotten); an unknown action still gets a
readable fallback.

Every sentence is a whole message in the catalog with named placeholders,
``_("...{name}...").format(name=...)``, translated when it is built (the builders'
texts are lazy). A sentence whose subject is the reader ("You logged in") is a message of
its own, not "{who}" filled with "You": other languages conjugate the verb for it.
Values that are words (a status, a role, a reason) are shown translated (``word``);
machine values (action names, codes) never reach a sentence raw.
"""
# The sentences stay ``"...{name}...".format(name=...)`` (not f-strings): that is the
# shape gettext needs, ``_("...{name}...").format(name=...)``.
# ruff: noqa: UP032
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext

from portal.admin.services import BULK_KIND
from portal.audit import actions as a
from portal.audit.integrity import JOB_KIND as AUDIT_CHECK_KIND
from portal.auth.sessions import describe as describe_device
from portal.extensions import db
from portal.i18n import LANGUAGES
from portal.models.achievement import Achievement
from portal.models.audit import AuditEvent, Outcome
from portal.models.catalogue import Specialization
from portal.models.job import Job
from portal.models.klass import INVITATIONS_JOB_KIND as INVITATIONS_KIND
from portal.models.klass import Klass
from portal.models.license import License, UpgradeRequest
from portal.models.user import User

# -- values that are words --------------------------------------------------------

# Stored values (statuses, roles, outcomes, reasons ...) as the words a reader sees.
# One table for the audit pages: a value in two columns (a user's and a job's "active")
# reads the same. An unknown value is shown as it is (it is data, not a word we wrote).
WORDS: dict[str, Any] = {
    # outcomes
    "success": _l("success"),
    "failure": _l("failure"),
    "denied": _l("denied"),
    # user statuses
    "active": _l("active"),
    "suspended": _l("suspended"),
    "pending": _l("pending"),
    # roles
    "student": _l("student"),
    "instructor": _l("instructor"),
    "admin": _l("admin"),
    # job statuses
    "queued": _l("queued"),
    "running": _l("running"),
    "finished": _l("finished"),
    "failed": _l("failed"),
    # reasons: refused requests and failed logins
    "csrf": _l("expired or missing form token"),
    "not_owner": _l("someone else's page"),
    "role": _l("not allowed for the role"),
    "rate_limited": _l("too many requests"),
    "server_error": _l("server error"),
    "join_code": _l("wrong join code"),
    "wrong_password": _l("wrong password"),
    "unknown_email": _l("unknown e-mail address"),
    "locked": _l("account locked"),
    "email_unconfirmed": _l("e-mail address not confirmed"),
    "status_suspended": _l("account suspended"),
    "status_pending": _l("account not yet active"),
    "passkey_challenge": _l("passkey request expired or already used"),
    "passkey_origin": _l("passkey answered for another website"),
    "passkey_rp_id": _l("passkey of another website"),
    "passkey_user_verification": _l("passkey without user verification"),
    "passkey_signature": _l("passkey signature not valid"),
    "passkey_malformed": _l("passkey answer not readable"),
    "passkey_unknown": _l("passkey not registered"),
    "passkey_counter": _l("passkey counter went backwards (possibly copied)"),
    "passkey_user_handle": _l("passkey of another account"),
    "passkey_account": _l("account cannot log in"),
    "passkey_duplicate": _l("passkey already registered"),
    "unknown": _l("unknown"),
    # resource types
    "user": _l("user"),
    "license": _l("license"),
    "class": _l("class"),
    "specialization": _l("specialization"),
    "request": _l("request"),
    "job": _l("job"),
    "session": _l("session"),
    "achievement": _l("achievement"),
    "trusted_device": _l("remembered device"),
    "wrong_code": _l("wrong code"),
    "replayed_code": _l("code already used"),
    "passkey": _l("passkey"),
}


def word(value: Any) -> str:
    """A stored value as the reader's word ("suspended" -> "felfüggesztve"); other
    values as they are."""
    if value is None:
        return "?"
    found = WORDS.get(value) if isinstance(value, str) else None
    return str(found) if found is not None else str(value)


class PageWords(dict):
    """``word`` for the many rows of one page: each stored value translated once
    (``words[event.outcome]``)."""

    def __missing__(self, value):
        found = self[value] = word(value)
        return found


def device(user_agent: str | None) -> str:
    """A browser and system in words ("Firefox 128 on Linux"), from a User-Agent header."""
    found = describe_device(user_agent)
    if found.browser and found.system:
        return _("{browser} on {system}").format(browser=found.browser, system=found.system)
    if found.browser:
        return _("{browser} on an unknown system").format(browser=found.browser)
    if found.system:
        return _("an unknown browser on {system}").format(system=found.system)
    return _("an unknown device")


# -- jobs -----------------------------------------------------------------------------


def job_title(job: Job | None, kind: str | None = None, params: dict[str, Any] | None = None) -> str:
    """A job in words: "Bulk issue: Saturday squad", "Full audit check"."""
    kind = job.kind if job is not None else kind
    params = (job.params if job is not None else params) or {}
    if kind == BULK_KIND:
        name = params.get("class_name")
        if params.get("action") == "upgrade":
            return _("Bulk upgrade: {name}").format(name=name) if name else _("Bulk upgrade")
        return _("Bulk issue: {name}").format(name=name) if name else _("Bulk issue")
    if kind == AUDIT_CHECK_KIND:
        return _("Full audit check")
    if kind == INVITATIONS_KIND:
        name = params.get("class_name")
        return _("Invitations: {name}").format(name=name) if name else _("Invitations")
    if kind == "privacy_export":
        return _("Data export")
    return _("Background job ({kind})").format(kind=kind or _("unknown"))


# -- what a sentence is about -----------------------------------------------------------


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
        """The subject of a sentence about someone else: the actor's e-mail, or "Portal"."""
        return self.event.actor_label or "Portal"

    @property
    def device(self) -> str:
        return device(self.event.user_agent)

    def _rid(self) -> int | None:
        try:
            return int(self.event.resource_id)
        except (TypeError, ValueError):
            return None

    def _get(self, model):
        rid = self._rid()
        return db.session.get(model, rid) if rid is not None else None

    @property
    def own_account(self) -> bool:
        """The event is about the reader's own account."""
        return (self.event.resource_type == "user" and self.viewer_id is not None
                and self._rid() == self.viewer_id)

    def account(self) -> str:
        """The account a user event is about: "your account" or "the account of Sam Lee"."""
        if self.own_account:
            return _("your account")
        user = self._get(User) if self.event.resource_type == "user" else None
        if user is not None:
            return _("the account of {name}").format(name=user.name)
        return _("an account")

    def spec_name(self, code: str | None = None) -> str:
        code = code or self.d.get("specialization")
        if self.event.resource_type == "specialization":
            spec = self._get(Specialization)
            if spec is not None:
                return spec.local_name
        if code:
            spec = db.session.scalar(sa.select(Specialization).where(Specialization.code == code))
            return spec.local_name if spec is not None else code
        return _("a specialization")

    def license_spec(self) -> str:
        """The specialization of the license (or request) the event is about."""
        if self.event.resource_type == "request":
            req = self._get(UpgradeRequest)
            if req is not None:
                return req.specialization.local_name
        if self.event.resource_type == "license":
            lic = self._get(License)
            if lic is not None:
                return lic.specialization.local_name
        return self.spec_name()

    def license_text(self, level: Any = None) -> str:
        """ "Player level 2" for the license resource (or the license of a request)."""
        lic = None
        if self.event.resource_type == "license":
            lic = self._get(License)
        elif self.event.resource_type == "request":
            req = self._get(UpgradeRequest)
            if req is not None:
                return _("{spec} level {level}").format(spec=req.specialization.local_name,
                                                        level=level or req.to_level)
        if lic is not None:
            return _("{spec} level {level}").format(spec=lic.specialization.local_name,
                                                    level=level or lic.level)
        if level:
            return _("{spec} level {level}").format(spec=self.spec_name(), level=level)
        return _("a license")

    def holder_id(self) -> int | None:
        lic = self._get(License) if self.event.resource_type == "license" else None
        return lic.holder_id if lic is not None else self.d.get("holder_id")

    @property
    def readers_license(self) -> bool:
        holder_id = self.holder_id()
        return holder_id is not None and holder_id == self.viewer_id

    def license(self, level: Any = None) -> str:
        """The license with its holder: "your Player level 2 license", "Sam Lee's ..."."""
        lic = self.license_text(level)
        if lic == _("a license"):  # nothing more is known of it: say no more than that
            return lic
        if self.readers_license:
            return _("your {lic} license").format(lic=lic)
        holder_id = self.holder_id()
        user = db.session.get(User, holder_id) if holder_id else None
        if user is not None:
            return _("{name}'s {lic} license").format(name=user.name, lic=lic)
        return _("a {lic} license").format(lic=lic)

    @property
    def student_is_reader(self) -> bool:
        sid = self.d.get("student_id")
        return sid is not None and sid == self.viewer_id

    def student(self) -> str:
        sid = self.d.get("student_id")
        user = db.session.get(User, sid) if sid else None
        return user.name if user is not None else _("a student")

    def class_name(self) -> str:
        klass = self._get(Klass) if self.event.resource_type == "class" else None
        if klass is not None:
            return klass.name
        return self.d.get("name") or _("a class")

    def job(self) -> str:
        job = self._get(Job) if self.event.resource_type == "job" else None
        if job is not None:
            return job_title(job)
        return job_title(None, self.d.get("kind"), self.d.get("params"))


Builder = Callable[[Context], str]


def _cap(text: str) -> str:
    """Capitalise the first letter only ("the account of Sam Lee" -> "The account of Sam Lee")."""
    return text[:1].upper() + text[1:]


def _said(c: Context, mine, other, **values) -> str:
    """``mine`` when the reader did it ("You ..."), else ``other`` with ``{who}``."""
    if c.mine:
        return str(mine).format(**values)
    return str(other).format(who=c.who, **values)


def _pair(mine, other, **fields: Callable[[Context], Any]) -> Builder:
    """A builder of two lazy sentences whose placeholders are filled by ``fields``."""
    return lambda c: _said(c, mine, other, **{name: get(c) for name, get in fields.items()})


def _account(c: Context) -> str:
    return c.account()


def _license_of(c: Context) -> str:
    return c.license()


# -- the sentences ------------------------------------------------------------------------


def _login(c: Context) -> str:
    if c.d.get("via") == "registration":
        return _said(c, _l("You created your account and logged in from {device}"),
                     _l("{who} created an account and logged in from {device}"), device=c.device)
    if c.d.get("method") == "passkey":
        return _said(c, _l("You logged in with a passkey from {device}"),
                     _l("{who} logged in with a passkey from {device}"), device=c.device)
    return _said(c, _l("You logged in from {device}"), _l("{who} logged in from {device}"),
                 device=c.device)


def _login_failed(c: Context) -> str:
    reason = c.d.get("reason")
    if reason == "unknown_email":
        return _("Someone tried to log in with an unknown e-mail address from {device}").format(
            device=c.device)
    if c.own_account:
        if reason == "wrong_password" or not reason:
            return _("Someone tried to log in to your account with a wrong password from {device}").format(
                device=c.device)
        return _("A login to your account from {device} was refused: {reason}").format(
            device=c.device, reason=word(reason))
    if reason == "wrong_password" or not reason:
        return _("Someone tried to log in to {account} with a wrong password from {device}").format(
            account=c.account(), device=c.device)
    return _("A login to {account} from {device} was refused: {reason}").format(
        account=c.account(), device=c.device, reason=word(reason))


def _lockout(c: Context) -> str:
    minutes = c.d.get("minutes")
    failures = c.d.get("failures")
    if minutes and isinstance(failures, int):
        if c.own_account:
            return ngettext("Your account was locked for {minutes} minutes after {n} failed login",
                            "Your account was locked for {minutes} minutes after {n} failed logins",
                            failures).format(minutes=minutes, n=failures)
        return ngettext("{account} was locked for {minutes} minutes after {n} failed login",
                        "{account} was locked for {minutes} minutes after {n} failed logins",
                        failures).format(account=_cap(c.account()), minutes=minutes, n=failures)
    if minutes:
        if c.own_account:
            return _("Your account was locked for {minutes} minutes after several failed logins").format(
                minutes=minutes)
        return _("{account} was locked for {minutes} minutes after several failed logins").format(
            account=_cap(c.account()), minutes=minutes)
    if c.own_account:
        return _("Your account was locked after failed logins")
    return _("{account} was locked after failed logins").format(account=_cap(c.account()))


def _reset_requested(c: Context) -> str:
    if c.d.get("purpose") == "set":
        return _said(c, _l("You sent a link to choose a password for {account}"),
                     _l("{who} sent a link to choose a password for {account}"), account=c.account())
    if c.event.outcome != Outcome.SUCCESS:
        return _("A password reset was asked for an account that cannot log in")
    return _said(c, _l("You asked for a password reset link"), _l("{who} asked for a password reset link"))


def _password_reset(c: Context) -> str:
    if c.own_account:
        if c.d.get("purpose") == "set":
            return _("A password was chosen for your account")
        return _("The password of your account was reset with an e-mailed link")
    if c.d.get("purpose") == "set":
        return _("A password was chosen for {account}").format(account=c.account())
    return _("The password of {account} was reset with an e-mailed link").format(account=c.account())


def _password_changed(c: Context) -> str:
    if c.event.outcome != Outcome.SUCCESS:
        return _said(c, _l("You tried to change the password; the current password was not accepted"),
                     _l("{who} tried to change the password; the current password was not accepted"))
    return _said(c, _l("You changed the password"), _l("{who} changed the password"))


def _passkey_name(c: Context) -> str:
    return c.d.get("name") or c.d.get("after") or _("a passkey")


def _passkey_renamed(c: Context) -> str:
    before, after = c.d.get("before"), c.d.get("after")
    if before and after:
        return _said(c, _l("You renamed the passkey “{before}” to “{after}”"),
                     _l("{who} renamed the passkey “{before}” to “{after}”"), before=before, after=after)
    return _said(c, _l("You renamed a passkey"), _l("{who} renamed a passkey"))


def _passkey_refused(c: Context) -> str:
    return _said(c, _l("A passkey you tried to add was refused: {reason}"),
                 _l("A passkey {who} tried to add was refused: {reason}"), reason=word(c.d.get("reason")))


def _session_revoked(c: Context) -> str:
    if c.d.get("scope") == "others":
        n = c.d.get("count", 0)
        if c.mine:
            return ngettext("You logged out {n} other device", "You logged out {n} other devices",
                            n).format(n=n)
        return ngettext("{who} logged out {n} other device", "{who} logged out {n} other devices",
                        n).format(who=c.who, n=n)
    return _said(c, _l("You logged out one device"), _l("{who} logged out one device"))


def _status_changed(c: Context) -> str:
    return _said(c, _l("You changed the status of {account} from {before} to {after}"),
                 _l("{who} changed the status of {account} from {before} to {after}"),
                 account=c.account(), before=word(c.d.get("before")), after=word(c.d.get("after")))


def _role_changed(c: Context) -> str:
    return _said(c, _l("You changed the role of {account} from {before} to {after}"),
                 _l("{who} changed the role of {account} from {before} to {after}"),
                 account=c.account(), before=word(c.d.get("before")), after=word(c.d.get("after")))


def _specializations_changed(c: Context) -> str:
    taught = ", ".join(c.d.get("after") or []) or _("none")
    return _said(c, _l("You set the specializations {account} teaches: {taught}"),
                 _l("{who} set the specializations {account} teaches: {taught}"),
                 account=c.account(), taught=taught)


def _language_changed(c: Context) -> str:
    code = c.d.get("locale")
    language = LANGUAGES.get(code) or code or _("another language")
    return _said(c, _l("You chose to read Portal in {language}"),
                 _l("{who} chose to read Portal in {language}"), language=language)


def _spec_selected(c: Context) -> str:
    if c.d.get("result") == "issued":
        return _said(c, _l("You started {spec} and got a level-1 license"),
                     _l("{who} started {spec} and got a level-1 license"), spec=c.spec_name())
    return _said(c, _l("You chose to start {spec}"), _l("{who} chose to start {spec}"), spec=c.spec_name())


def _spec(mine, other) -> Builder:
    return _pair(mine, other, spec=Context.spec_name)


def _requirement(mine, other, for_reader) -> Builder:
    def build(c: Context) -> str:
        req = c.d.get("requirement") or _("a requirement")
        if not c.mine and c.student_is_reader:
            return str(for_reader).format(who=c.who, req=req)
        return _said(c, mine, other, req=req, student=c.student())
    return build


def _issued(c: Context) -> str:
    lic = c.license_text(c.d.get("level"))
    if c.readers_license:
        if c.mine:  # started a specialization that issues at once
            return _("Your {lic} license was issued").format(lic=lic)
        return _("{who} issued your {lic} license").format(who=c.who, lic=lic)
    return _said(c, _l("You issued {license}"), _l("{who} issued {license}"),
                 license=c.license(c.d.get("level")))


def _upgrade_requested(c: Context) -> str:
    if c.d.get("from_level") == 0:
        return _said(c, _l("You asked to start {spec} at level 1"),
                     _l("{who} asked to start {spec} at level 1"), spec=c.license_spec())
    return _said(c, _l("You asked for {lic}"), _l("{who} asked for {lic}"),
                 lic=c.license_text(c.d.get("to_level")))


def _request(mine, other) -> Builder:
    return _pair(mine, other, lic=lambda c: c.license_text(c.d.get("to_level")))


def _license(mine, other) -> Builder:
    return _pair(mine, other, license=_license_of)


def _expired(c: Context) -> str:
    return _("{license} expired").format(license=_cap(c.license()))


def _certificate(c: Context) -> str:
    return _said(c, _l("You downloaded the certificate of {license}"),
                 _l("{who} downloaded the certificate of {license}"),
                 license=c.license(c.d.get("level")))


def _credential(c: Context) -> str:
    return _said(c, _l("You downloaded the Open Badges credential of {license}"),
                 _l("{who} downloaded the Open Badges credential of {license}"),
                 license=c.license(c.d.get("level")))


def _class(mine, other) -> Builder:
    return _pair(mine, other, name=Context.class_name)


def _class_invitation(mine, other) -> Builder:
    return _pair(mine, other, name=Context.class_name, email=lambda c: c.d.get("email") or "")


def _class_invited(c: Context) -> str:
    count = int(c.d.get("count") or 0)
    if c.mine:
        text = ngettext("You invited %(num)d person to the class {name}",
                        "You invited %(num)d people to the class {name}", count)
        return text.format(name=c.class_name())
    text = ngettext("{who} invited %(num)d person to the class {name}",
                    "{who} invited %(num)d people to the class {name}", count)
    return text.format(who=c.who, name=c.class_name())


def _class_student_removed(c: Context) -> str:
    if not c.mine and c.student_is_reader:
        return _("{who} removed you from the class {name}").format(who=c.who, name=c.class_name())
    return _said(c, _l("You removed {student} from the class {name}"),
                 _l("{who} removed {student} from the class {name}"),
                 student=c.student(), name=c.class_name())


def _job(mine, other) -> Builder:
    return _pair(mine, other, job=Context.job)


def _job_finished(c: Context) -> str:
    if c.d.get("status") == "failed":
        return _("The job “{job}” failed").format(job=c.job())
    return _("The job “{job}” finished: {ok} done, {skipped} skipped, {failed} failed").format(
        job=c.job(), ok=c.d.get("succeeded", 0), skipped=c.d.get("skipped", 0), failed=c.d.get("failed", 0))


def _job_override(c: Context) -> str:
    n = len(c.d.get("students") or [])
    if c.mine:
        return ngettext("You overruled the checks for {n} student in the job “{job}”",
                        "You overruled the checks for {n} students in the job “{job}”", n).format(
            n=n, job=c.job())
    return ngettext("{who} overruled the checks for {n} student in the job “{job}”",
                    "{who} overruled the checks for {n} students in the job “{job}”", n).format(
        who=c.who, n=n, job=c.job())


def _audit_verified(c: Context) -> str:
    if c.event.outcome == Outcome.SUCCESS:
        return _("The full audit check found the chain intact")
    return _("The full audit check found a problem in the chain")


def _denied(c: Context) -> str:
    if c.event.status == 429:
        return _("Too many requests were refused for a while")
    if c.event.path:
        return _("Access to {path} was refused").format(path=c.event.path)
    return _("Access to a page was refused")


def _failed(c: Context) -> str:
    if c.event.path:
        return _("A request to {path} failed on the server").format(path=c.event.path)
    return _("A request to a page failed on the server")


def _fixed(mine, other) -> Builder:
    return _pair(mine, other, account=_account)


def _about_account(mine, other, yours) -> Builder:
    """A sentence about an account: its own message when the account is the reader's."""
    def build(c: Context) -> str:
        if not c.mine and c.own_account:
            return str(yours).format(who=c.who)
        return _said(c, mine, other, account=c.account())
    return build


def _no_actor(text, yours=None) -> Builder:
    """A sentence without an actor; ``yours`` when it is about the reader's account."""
    def build(c: Context) -> str:
        if yours is not None and c.own_account:
            return str(yours)
        return str(text).format(account=c.account())
    return build


def _unconfirmed_removed(c: Context) -> str:
    email = c.d.get("email")
    if email:
        return _("An unconfirmed registration ({email}) was removed").format(email=email)
    return _("An unconfirmed registration was removed")


def _achievement_title(c: Context) -> str:
    found = c._get(Achievement) if c.event.resource_type == "achievement" else None
    if found is not None:
        return found.local_title
    return (c.d.get("after") or c.d.get("before") or {}).get("title") or _("an achievement")


def _achievement(mine, other) -> Builder:
    return _pair(mine, other, title=_achievement_title)


def _either(key: str, yes: Builder, no: Builder) -> Builder:
    """One of two builders, by a yes/no detail of the event."""
    return lambda c: (yes if c.d.get(key) else no)(c)


def _recounted(c: Context) -> str:
    count = int(c.d.get("cells") or 0)
    if c.mine:
        return ngettext("You corrected %(num)d figure of the admin overview by a recount",
                        "You corrected %(num)d figures of the admin overview by a recount", count)
    return ngettext("%(who)s corrected %(num)d figure of the admin overview by a recount",
                    "%(who)s corrected %(num)d figures of the admin overview by a recount",
                    count, who=c.who)


def _rebuilt(c: Context) -> str:
    count = int(c.d.get("awarded") or 0)
    if c.mine:
        return ngettext("You gave %(num)d achievement that the history showed was missing",
                        "You gave %(num)d achievements that the history showed were missing", count)
    return ngettext("%(who)s gave %(num)d achievement that the history showed was missing",
                    "%(who)s gave %(num)d achievements that the history showed were missing",
                    count, who=c.who)


SENTENCES: dict[str, Builder] = {
    a.LOGIN: _login,
    a.LOGIN_FAILED: _login_failed,
    a.LOGOUT: _fixed(_l("You logged out"), _l("{who} logged out")),
    a.LOCKOUT: _lockout,
    a.PASSWORD_RESET_REQUESTED: _reset_requested,
    a.PASSWORD_RESET: _password_reset,
    a.PASSWORD_CHANGED: _password_changed,
    a.SESSION_REVOKED: _session_revoked,
    a.SECOND_FACTOR_FAILED: _fixed(_l("You entered a wrong two-factor code"),
                                   _l("{who} entered a wrong two-factor code")),
    a.STEP_UP: _fixed(_l("You confirmed a sensitive action with your second factor"),
                      _l("{who} confirmed a sensitive action with their second factor")),
    a.TWO_FACTOR_ENABLED: _fixed(_l("You turned on two-factor sign-in"),
                                 _l("{who} turned on two-factor sign-in")),
    a.TWO_FACTOR_DISABLED: _fixed(_l("You turned off two-factor sign-in"),
                                  _l("{who} turned off two-factor sign-in")),
    a.TWO_FACTOR_RESET: _about_account(_l("You reset two-factor sign-in of {account}"),
                                       _l("{who} reset two-factor sign-in of {account}"),
                                       _l("{who} reset your two-factor sign-in")),
    a.RECOVERY_CODES_REGENERATED: _fixed(_l("You made new recovery codes"),
                                         _l("{who} made new recovery codes")),
    a.RECOVERY_CODE_USED: _fixed(_l("You used a recovery code"), _l("{who} used a recovery code")),
    a.TRUSTED_DEVICE_ADDED: _fixed(_l("You chose to remember a device for two-factor sign-in"),
                                   _l("{who} chose to remember a device for two-factor sign-in")),
    a.TRUSTED_DEVICE_REVOKED: _fixed(_l("You stopped remembering a device"),
                                     _l("{who} stopped remembering a device")),
    a.PASSKEY_ADDED: _pair(_l("You added the passkey “{name}”"), _l("{who} added the passkey “{name}”"),
                           name=_passkey_name),
    a.PASSKEY_RENAMED: _passkey_renamed,
    a.PASSKEY_REMOVED: _pair(_l("You removed the passkey “{name}”"), _l("{who} removed the passkey “{name}”"),
                             name=_passkey_name),
    a.PASSKEY_REFUSED: _passkey_refused,
    a.USER_REGISTERED: _fixed(_l("You registered"), _l("{who} registered")),
    a.USER_CREATED: _about_account(_l("You created {account}"), _l("{who} created {account}"),
                                   _l("{who} created your account")),
    a.USER_EMAIL_CONFIRMED: _about_account(
        _l("You confirmed the e-mail address of {account}"),
        _l("{who} confirmed the e-mail address of {account}"),
        _l("{who} confirmed the e-mail address of your account")),
    a.USER_CONFIRMATION_REQUESTED: _no_actor(_l("A confirmation e-mail was asked for {account}"),
                                             _l("A confirmation e-mail was asked for your account")),
    a.USER_REGISTRATION_REPEATED: _no_actor(
        _l("Someone tried to register again with the address of {account}"),
        _l("Someone tried to register again with the address of your account")),
    a.USER_UNCONFIRMED_REMOVED: _unconfirmed_removed,
    a.USER_UPDATED: _about_account(_l("You updated {account}"), _l("{who} updated {account}"),
                                   _l("{who} updated your account")),
    a.USER_ROLE_CHANGED: _role_changed,
    a.USER_STATUS_CHANGED: _status_changed,
    a.USER_SPECIALIZATIONS_CHANGED: _specializations_changed,
    a.USER_LANGUAGE_CHANGED: _language_changed,
    a.USER_CONSENT_RECORDED: _about_account(
        _l("You recorded the guardian's consent for {account}"),
        _l("{who} recorded the guardian's consent for {account}"),
        _l("{who} recorded the guardian's consent for your account")),
    a.USER_UNLOCKED: _about_account(_l("You unlocked {account}"), _l("{who} unlocked {account}"),
                                    _l("{who} unlocked your account")),
    a.USER_SESSIONS_ENDED: _about_account(
        _l("You logged out every device of {account}"),
        _l("{who} logged out every device of {account}"),
        _l("{who} logged out every device of your account")),
    a.USER_PROFILE_UPDATED: _about_account(
        _l("You updated the profile of {account}"),
        _l("{who} updated the profile of {account}"),
        _l("{who} updated your profile")),
    a.USER_EMAIL_CHANGE_REQUESTED: _about_account(
        _l("You asked to change the e-mail address of {account}"),
        _l("{who} asked to change the e-mail address of {account}"),
        _l("{who} asked to change the e-mail address of your account")),
    a.USER_EMAIL_CHANGED: _no_actor(
        _l("The e-mail address of {account} was changed through the link sent to it"),
        _l("The e-mail address of your account was changed through the link sent to it")),
    a.USER_EMAIL_CHANGE_CANCELLED: _no_actor(
        _l("A change of the e-mail address of {account} was cancelled and every device logged out"),
        _l("A change of your e-mail address was cancelled and every device logged out")),
    a.USER_DETAILS_CORRECTED: _about_account(
        _l("You corrected the details of {account}"),
        _l("{who} corrected the details of {account}"),
        _l("{who} corrected the details of your account")),
    a.USER_CONSENT_WITHDRAWN: _about_account(
        _l("You withdrew the guardian's consent for {account}"),
        _l("{who} withdrew the guardian's consent for {account}"),
        _l("{who} withdrew the guardian's consent for your account")),
    a.USER_ARCHIVED: _about_account(_l("You archived {account}"), _l("{who} archived {account}"),
                                    _l("{who} archived your account")),
    a.USER_RESTORED: _about_account(
        _l("You restored {account} from the archive"),
        _l("{who} restored {account} from the archive"),
        _l("{who} restored your account from the archive")),
    a.SPECIALIZATION_SELECTED: _spec_selected,
    a.SPECIALIZATION_CREATED: _spec(_l("You created the specialization {spec}"),
                                    _l("{who} created the specialization {spec}")),
    a.SPECIALIZATION_UPDATED: _spec(_l("You changed the specialization {spec}"),
                                    _l("{who} changed the specialization {spec}")),
    a.SPECIALIZATION_ARCHIVED: _spec(_l("You archived the specialization {spec}"),
                                     _l("{who} archived the specialization {spec}")),
    a.SPECIALIZATION_DELETED: _spec(_l("You deleted the specialization {spec}"),
                                    _l("{who} deleted the specialization {spec}")),
    a.REQUIREMENT_CONFIRMED: _requirement(
        _l("You confirmed “{req}” for {student}"), _l("{who} confirmed “{req}” for {student}"),
        _l("{who} confirmed “{req}” for you")),
    a.REQUIREMENT_UNCONFIRMED: _requirement(
        _l("You took back the confirmation of “{req}” for {student}"),
        _l("{who} took back the confirmation of “{req}” for {student}"),
        _l("{who} took back the confirmation of “{req}” for you")),
    a.LICENSE_ISSUED: _issued,
    a.LICENSE_UPGRADE_REQUESTED: _upgrade_requested,
    a.LICENSE_UPGRADE_APPROVED: _request(_l("You approved the request for {lic}"),
                                         _l("{who} approved the request for {lic}")),
    a.LICENSE_UPGRADE_REJECTED: _request(_l("You rejected the request for {lic}"),
                                         _l("{who} rejected the request for {lic}")),
    a.LICENSE_UPGRADE_WITHDRAWN: _request(_l("You withdrew the request for {lic}"),
                                          _l("{who} withdrew the request for {lic}")),
    a.LICENSE_SUSPENDED: _license(_l("You suspended {license}"), _l("{who} suspended {license}")),
    a.LICENSE_REVOKED: _license(_l("You revoked {license}"), _l("{who} revoked {license}")),
    a.LICENSE_REINSTATED: _license(_l("You reinstated {license}"), _l("{who} reinstated {license}")),
    a.LICENSE_RENEWED: _license(_l("You renewed {license}"), _l("{who} renewed {license}")),
    a.LICENSE_LEVEL_SET: _license(_l("You set the level of {license}"),
                                  _l("{who} set the level of {license}")),
    a.LICENSE_EXPIRED: _expired,
    a.LICENSE_HOLDER_RENAMED: lambda c: _("The holder's new name is now on {license}").format(
        license=c.license()),
    a.LICENSE_CONSENT_REVIEW: _license(_l("You flagged {license} for a guardian consent review"),
                                       _l("{who} flagged {license} for a guardian consent review")),
    a.LICENSE_CERTIFICATE_DOWNLOADED: _certificate,
    a.LICENSE_CREDENTIAL_DOWNLOADED: _credential,
    a.KEYS_ROTATED: _fixed(_l("You started signing with a new key; the old one stays published"),
                           _l("{who} started signing with a new key; the old one stays published")),
    a.CLASS_CREATED: _class(_l("You created the class {name}"), _l("{who} created the class {name}")),
    a.CLASS_ARCHIVED: _class(_l("You archived the class {name}"), _l("{who} archived the class {name}")),
    a.CLASS_UPDATED: _class(_l("You edited the class {name}"), _l("{who} edited the class {name}")),
    a.CLASS_UNARCHIVED: _class(_l("You opened the class {name} again"),
                               _l("{who} opened the class {name} again")),
    a.CLASS_INVITED: _class_invited,
    a.CLASS_INVITATION_RESENT: _class_invitation(
        _l("You sent the invitation of {email} to the class {name} again"),
        _l("{who} sent the invitation of {email} to the class {name} again")),
    a.CLASS_INVITATION_WITHDRAWN: _class_invitation(
        _l("You withdrew the invitation of {email} to the class {name}"),
        _l("{who} withdrew the invitation of {email} to the class {name}")),
    a.CLASS_CODE_ROTATED: _class(_l("You made a new join code for the class {name}"),
                                 _l("{who} made a new join code for the class {name}")),
    a.ACHIEVEMENT_CREATED: _achievement(_l("You defined the achievement “{title}”"),
                                        _l("{who} defined the achievement “{title}”")),
    a.ACHIEVEMENT_UPDATED: _achievement(_l("You changed the achievement “{title}”"),
                                        _l("{who} changed the achievement “{title}”")),
    a.ACHIEVEMENT_ARCHIVED: _achievement(_l("You archived the achievement “{title}”"),
                                         _l("{who} archived the achievement “{title}”")),
    a.ACHIEVEMENT_RESTORED: _achievement(_l("You restored the achievement “{title}”"),
                                         _l("{who} restored the achievement “{title}”")),
    a.ACHIEVEMENT_DELETED: _achievement(_l("You deleted the achievement “{title}”"),
                                        _l("{who} deleted the achievement “{title}”")),
    a.ACHIEVEMENTS_REBUILT: _rebuilt,
    a.STATS_RECOUNTED: _recounted,
    a.USER_ACHIEVEMENTS_SHOWN: _either(
        "shown",
        _fixed(_l("You showed your achievements again"), _l("{who} showed their achievements again")),
        _fixed(_l("You hid your achievements"), _l("{who} hid their achievements"))),
    a.CLASS_ACHIEVEMENT_SUMMARY: _either(
        "on",
        _class(_l("You let the instructor of {name} see its achievement summary"),
               _l("{who} let the instructor of {name} see its achievement summary")),
        _class(_l("You turned off the achievement summary of {name}"),
               _l("{who} turned off the achievement summary of {name}"))),
    a.CLASS_JOINED: _class(_l("You joined the class {name}"), _l("{who} joined the class {name}")),
    a.CLASS_LEFT: _class(_l("You left the class {name}"), _l("{who} left the class {name}")),
    a.CLASS_STUDENT_REMOVED: _class_student_removed,
    a.CLASS_JOIN_FAILED: _fixed(_l("You tried to join a class with a code that did not work"),
                                _l("{who} tried to join a class with a code that did not work")),
    a.JOB_STARTED: _job(_l("You started the job “{job}”"), _l("{who} started the job “{job}”")),
    a.JOB_FINISHED: _job_finished,
    a.JOB_RESUMED: _job(_l("You resumed the job “{job}”"), _l("{who} resumed the job “{job}”")),
    a.JOB_OVERRIDE: _job_override,
    a.AUDIT_EXPORTED: _fixed(_l("You exported audit events as CSV"),
                             _l("{who} exported audit events as CSV")),
    a.AUDIT_VERIFIED: _audit_verified,
    a.AUDIT_CHECKPOINT: _fixed(_l("You wrote a signed checkpoint of the audit chain"),
                               _l("{who} wrote a signed checkpoint of the audit chain")),
    a.AUDIT_RESEALED: _fixed(_l("You moved the audit chain to the form whose personal data can be forgotten"),
                             _l("The audit chain moved to the form whose personal data can be forgotten")),
    a.PRIVACY_EXPORT_REQUESTED: _fixed(_l("You asked for a copy of your data"),
                                       _l("{who} asked for a copy of their data")),
    a.PRIVACY_EXPORT_DOWNLOADED: _fixed(_l("You downloaded a copy of your data"),
                                        _l("{who} downloaded a copy of their data")),
    a.PRIVACY_ERASED: _fixed(_l("You erased an account's personal data"),
                             _l("{who} erased an account's personal data")),
    a.PRIVACY_ERASURE_REFUSED: _fixed(_l("Your request to erase an account was refused"),
                                      _l("A request by {who} to erase an account was refused")),
    a.PRIVACY_PURGED: _fixed(_l("You removed data past its retention period"),
                             _l("Data past its retention period was removed")),
    a.NOTIFICATION_PREFERENCE_CHANGED: _about_account(
        _l("You changed the e-mail notification settings of {account}"),
        _l("{who} changed the e-mail notification settings of {account}"),
        _l("{who} changed the e-mail notification settings of your account")),
    a.NOTIFICATION_UNSUBSCRIBED: _no_actor(
        _l("E-mail notifications of {account} were turned off through an unsubscribe link"),
        _l("E-mail notifications of your account were turned off through an unsubscribe link")),
    a.ACCESS_DENIED: _denied,
    a.REQUEST_FAILED: _failed,
}


def fallback(event: AuditEvent) -> str:
    """For an action without a sentence: its name in words ("license upgrade requested")."""
    words = (event.action or "event").replace(".", " ").replace("_", " ")
    return _("Recorded: {words}").format(words=words)


def describe(event: AuditEvent, viewer: Any = None) -> str:
    """The event as one sentence, from the point of view of ``viewer`` (a User or None)."""
    builder = SENTENCES.get(event.action)
    if builder is None:
        return fallback(event)
    return builder(Context(event, getattr(viewer, "id", None)))
