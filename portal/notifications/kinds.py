"""Every kind of notification, in one table: its category, its words and what it links to.

Adding a kind is one entry here and one ``notify(user, category, kind, **data)`` call in
the service that makes the change. The title and body are written with the ``data``
given to ``notify`` (``%(name)s`` placeholders) and read in the reader's language when
shown or mailed, so ``data`` holds plain values (names, codes, levels, ids), never words.
``link(data)`` gives the endpoint and its arguments of the page the notification is
about (None: the notifications page itself).

A staff member's internal note (a suspension's, a revocation's, a consent withdrawal's)
is never put in the words: the holder's pages show the reason category, not the note.
A reviewer's note on a decision is meant for the student and is.

Categories (SPEC §10): ``decisions`` a request approved or rejected; ``license_status``
suspended, revoked, reinstated, renewed, level set (and issued, and guardian consent,
which decides whether licenses can be held); ``expiry`` the 30-, 7- and 0-day reminders;
``security`` new-device login, password, e-mail and two-factor changes (always mailed at
once); ``classes`` a new request or a student who joined (instructors), an invitation
(students); ``achievements`` an achievement earned (in the portal; mail only if asked for).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask_babel import lazy_gettext as _l

from portal import dates
from portal.models.notification import Category, MailMode

Link = Callable[[dict[str, Any]], tuple[str, dict[str, Any]] | None]


def _license(data):
    return ("licenses.detail", {"license_id": data["license_id"]}) if data.get("license_id") else None


def _my_licenses(data):
    return _license(data) or ("licenses.index", {})


def _class(data):
    return ("classes.roster", {"class_id": data["class_id"]}) if data.get("class_id") else None


def _queue(data):
    return ("licenses.requests", {})


def _sessions(data):
    return ("auth.sessions_page", {})


def _account(data):
    return ("account.index", {})


def _achievements(data):
    return ("achievements.index", {})


def _invitation(data):
    return ("classes.join", {})


@dataclass(frozen=True)
class Kind:
    category: str
    title: Any  # a lazy string with %(...)s placeholders from data
    body: Any = None  # an optional second sentence
    link: Link | None = None
    # False where the service that makes the change already mails the person itself (the
    # password and e-mail notices go out before this module existed, with their own links).
    mail: bool = True


KINDS: dict[str, Kind] = {
    # decisions
    "request_approved": Kind(
        Category.DECISIONS,
        _l("Your request for %(specialization)s level %(level)s was approved."),
        _l("Note from the reviewer: %(note)s"), _my_licenses),
    "request_rejected": Kind(
        Category.DECISIONS,
        _l("Your request for %(specialization)s level %(level)s was rejected."),
        _l("Reason: %(note)s"), _my_licenses),
    # license status
    "license_issued": Kind(
        Category.LICENSE_STATUS,
        _l("You have a new license: %(specialization)s level %(level)s (%(code)s)."),
        None, _license),
    "license_suspended": Kind(
        Category.LICENSE_STATUS,
        _l("Your %(specialization)s license %(code)s was suspended."),
        None, _license),
    "license_revoked": Kind(
        Category.LICENSE_STATUS,
        _l("Your %(specialization)s license %(code)s was revoked."),
        None, _license),
    "license_reinstated": Kind(
        Category.LICENSE_STATUS,
        _l("Your %(specialization)s license %(code)s is active again."),
        None, _license),
    "license_renewed": Kind(
        Category.LICENSE_STATUS,
        _l("Your %(specialization)s license %(code)s was renewed."),
        None, _license),
    "license_level_set": Kind(
        Category.LICENSE_STATUS,
        _l("Your %(specialization)s license %(code)s is now level %(level)s."),
        None, _license),
    "consent_recorded": Kind(
        Category.LICENSE_STATUS,
        _l("Your guardian's consent was recorded."),
        _l("Licenses can now be issued to you."), _account),
    "consent_withdrawn": Kind(
        Category.LICENSE_STATUS,
        _l("Your guardian's consent was withdrawn."),
        None, _account, mail=False),
    # expiry
    "license_expiring": Kind(
        Category.EXPIRY,
        _l("Your %(specialization)s license %(code)s expires on %(day)s."),
        _l("Ask the academy to renew it in time."), _license),
    "license_expires_today": Kind(
        Category.EXPIRY,
        _l("Your %(specialization)s license %(code)s expires today."),
        _l("Ask the academy to renew it."), _license),
    # security
    "new_device_login": Kind(
        Category.SECURITY,
        _l("New login to your account from %(device)s."),
        _l("If this was not you, change your password and end that session."), _sessions),
    "password_changed": Kind(
        Category.SECURITY, _l("Your password was changed."), None, _sessions, mail=False),
    "email_changed": Kind(
        Category.SECURITY, _l("Your e-mail address was changed to %(email)s."), None, _account,
        mail=False),
    # Two-factor (SPEC §9): the services that make these changes call notify() with them; each
    # change has its own mail already (portal.auth.two_factor_mail, passkeys.send_notice).
    "two_factor_enabled": Kind(Category.SECURITY, _l("Two-factor authentication was turned on."),
                               None, _account, mail=False),
    "two_factor_disabled": Kind(Category.SECURITY, _l("Two-factor authentication was turned off."),
                                None, _account, mail=False),
    "two_factor_reset": Kind(Category.SECURITY,
                             _l("An administrator reset your two-factor authentication."),
                             None, _account, mail=False),
    "recovery_codes_renewed": Kind(Category.SECURITY, _l("You have new recovery codes; the old ones "
                                                         "no longer work."), None, _account, mail=False),
    "recovery_code_used": Kind(Category.SECURITY, _l("A recovery code was used to log in."),
                               _l("If this was not you, change your password."), _sessions, mail=False),
    "passkey_added": Kind(Category.SECURITY, _l("A passkey was added to your account."), None,
                          _account, mail=False),
    "passkey_removed": Kind(Category.SECURITY, _l("A passkey was removed from your account."), None,
                            _account, mail=False),
    # classes
    "request_waiting": Kind(
        Category.CLASSES,
        _l("%(student)s asks for %(specialization)s level %(level)s."),
        None, _queue),
    "student_joined": Kind(
        Category.CLASSES, _l("%(student)s joined your class %(class_name)s."), None, _class),
    "class_invitation": Kind(  # the invitation's own mail carries its link: no second mail
        Category.CLASSES, _l("You are invited to the class %(class_name)s."),
        _l("The invitation's link is in your e-mail."), _invitation, mail=False),
    # achievements (a student who hides theirs is not told: portal.achievements.awarding)
    "achievement_earned": Kind(
        Category.ACHIEVEMENTS, _l("You earned a new achievement (+%(xp)s XP)."), None, _achievements),
}

# Mail for each category when the person has not chosen (no preference row).
DEFAULT_MODES = {
    Category.DECISIONS: MailMode.INSTANT,
    Category.LICENSE_STATUS: MailMode.INSTANT,
    Category.EXPIRY: MailMode.INSTANT,
    Category.SECURITY: MailMode.INSTANT,
    # A busy instructor hears of each request once a day rather than all day long.
    Category.CLASSES: MailMode.DAILY,
    # Celebrated in the portal; mail only for those who ask for it.
    Category.ACHIEVEMENTS: MailMode.OFF,
}
# Always mailed at once; not switchable, and never carries an unsubscribe link.
FIXED = {Category.SECURITY: MailMode.INSTANT}

CATEGORY_LABELS = {
    Category.DECISIONS: _l("Decisions on your requests"),
    Category.LICENSE_STATUS: _l("Changes to your licenses"),
    Category.EXPIRY: _l("Licenses about to expire"),
    Category.SECURITY: _l("Security of your account"),
    Category.CLASSES: _l("Classes"),
    Category.ACHIEVEMENTS: _l("Achievements"),
}
CATEGORY_HINTS = {
    Category.DECISIONS: _l("A request of yours was approved or rejected."),
    Category.LICENSE_STATUS: _l("A license was issued, suspended, revoked, reinstated, renewed or "
                                "changed level."),
    Category.EXPIRY: _l("30 days and 7 days before a license expires, and on the day."),
    Category.SECURITY: _l("A login from a new device, a new password, e-mail address or two-factor "
                          "setting. Always sent at once."),
    Category.CLASSES: _l("Instructors: a new request, a student joined. Students: an invitation."),
    Category.ACHIEVEMENTS: _l("Students: an achievement earned (unless you hide your achievements)."),
}
MODE_LABELS = {
    MailMode.INSTANT: _l("E-mail at once"),
    MailMode.DAILY: _l("Daily summary"),
    MailMode.OFF: _l("No e-mail"),
}


def kind(name: str) -> Kind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown notification kind {name!r}: add it to "
                         "portal.notifications.kinds") from None


def _present(data: dict[str, Any]) -> dict[str, Any]:
    """The values that are there; a ``day`` (ISO) as the reader writes dates."""
    present = {k: v for k, v in data.items() if v not in (None, "")}
    if isinstance(present.get("day"), str):
        try:
            present["day"] = dates.calendar_date(date.fromisoformat(present["day"]))
        except ValueError:
            pass
    return present


def _filled(text, data: dict[str, Any]) -> str:
    try:
        return str(text) % _present(data)
    except (KeyError, TypeError, ValueError):
        return str(text)


def title(name: str, data: dict[str, Any]) -> str:
    entry = KINDS.get(name)
    if entry is None:
        return name
    return _filled(entry.title, data)


def body(name: str, data: dict[str, Any]) -> str | None:
    """The second sentence, when its values are there (a rejection's note, say)."""
    entry = KINDS.get(name)
    if entry is None or entry.body is None:
        return None
    try:
        return str(entry.body) % _present(data)
    except (KeyError, TypeError, ValueError):
        return None if "%(" in str(entry.body) else str(entry.body)


def link(name: str, data: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    entry = KINDS.get(name)
    if entry is None or entry.link is None:
        return None
    try:
        return entry.link(data)
    except KeyError:
        return None
