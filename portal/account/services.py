"""My account: the profile a person keeps right, and the change of their e-mail address.

Plain functions with the acting user explicit; they record their audit events and never
commit. A refused change raises ``AccountError`` with the field it belongs beside.

A change of address is two links: one to the new address (opening it makes the change,
once, within 24 hours) and a "this was not me" link to the old one (it cancels the change
and ends every session). Both are signed tokens whose fingerprint holds the address and
the pending change, so a newer request, a cancel or the change itself kills them.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app, render_template
from flask_babel import force_locale, lazy_gettext
from flask_babel import gettext as _
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from portal import dates, i18n, mail, names
from portal.audit import actions
from portal.audit.services import record
from portal.auth import services as accounts
from portal.auth import sessions
from portal.auth.tokens import absolute_url
from portal.db import apply_changes, utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses import services as lifecycle
from portal.models.audit import Outcome
from portal.models.notification import Category
from portal.models.user import User, UserStatus
from portal.notifications.services import notify

EMAIL_CHANGE_MAX_AGE = timedelta(hours=24)
_SALT = "portal.account.email-change"
CONFIRM = "confirm"
CANCEL = "cancel"


class AccountError(PortalError):
    """A refused account change; ``field`` names the form field."""


class LinkError(AccountError):
    """A change-of-address link that is expired, used, replaced or tampered with."""

    def __init__(self, message: str, expired: bool = False):
        super().__init__(message)
        self.expired = expired


# -- profile ------------------------------------------------------------------------


def validate_name(name: str) -> str:
    """The tidied name; raises AccountError (field ``name``) when it is empty, only
    invisible characters, over 120 characters, or not printable on a certificate."""
    tidy = names.tidy(name)
    # Zero-width and other format characters print nothing: a name of only those is empty.
    if not "".join(ch for ch in tidy if ch.isalnum()):
        raise AccountError(_("Enter a name."), "name")
    if len(tidy) > 120:
        raise AccountError(_("Keep the name to 120 characters or fewer."), "name")
    try:
        return accounts.validate_name(tidy)
    except accounts.AuthError:
        raise AccountError(
            _("The certificate cannot print some characters of this name; please leave them out."),
            "name") from None


# The columns' length (migration 0012).
NAME_PART_MAX = 80


def validate_name_part(value: str | None, field: str) -> str | None:
    """An optional given or family name, tidied like the name; None when it is empty (or
    only invisible characters): the part is unknown. Raises AccountError (``field``) when
    it is over 80 characters or not printable on a certificate."""
    tidy = names.tidy(value)
    if not "".join(ch for ch in tidy if ch.isalnum()):
        return None
    if len(tidy) > NAME_PART_MAX:
        raise AccountError(_("Keep this part of the name to %(max)d characters or fewer.", max=NAME_PART_MAX),
                           field)
    try:
        return accounts.validate_name(tidy)
    except accounts.AuthError:
        raise AccountError(
            _("The certificate cannot print some characters of this name; please leave them out."),
            field) from None


def update_profile(user: User, *, name: str, timezone: str, locale: str, actor: User,
                   given_name: str | None = None, family_name: str | None = None) -> list[str]:
    """Change the user's name, its optional given and family parts (empty: unknown), time
    zone and language; returns the fields that changed.

    A new name on a license holder writes a ``holder_renamed`` row in each license's
    history (its signature follows the name); nothing is re-issued. New parts change only
    the order a language writes the name in (the certificate's next render). Raises
    AccountError for an empty or unprintable name or part, an unknown time zone or language."""
    name = validate_name(name)
    given_name = validate_name_part(given_name, "given_name")
    family_name = validate_name_part(family_name, "family_name")
    timezone = (timezone or "").strip()
    if not dates.valid_zone(timezone):
        raise AccountError(_("Choose a time zone from the list, such as Europe/Budapest."), "timezone")
    if locale not in i18n.LANGUAGES:
        raise AccountError(_("Choose one of the languages listed."), "locale")
    before, after = apply_changes(user, {"name": name, "given_name": given_name, "family_name": family_name,
                                         "timezone": timezone, "locale": locale})
    changed = list(after)
    if not changed:
        return []
    record(actor, actions.USER_PROFILE_UPDATED, user, changed=changed, before=before, after=after)
    if "name" in changed:
        lifecycle.rename_holder(user, actor)
    return changed


# -- change of e-mail address -------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def _fingerprint(user: User, purpose: str) -> str:
    requested = user.pending_email_requested_at.isoformat() if user.pending_email_requested_at else ""
    material = f"{purpose}:{user.id}:{user.email}:{user.pending_email or ''}:{requested}:{user.status}"
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, material.encode(), hashlib.sha256).hexdigest()[:32]


def make_link(user: User, purpose: str) -> str:
    token = _serializer().dumps({"u": user.id, "p": purpose, "f": _fingerprint(user, purpose)})
    endpoint = "account.confirm_email" if purpose == CONFIRM else "account.cancel_email"
    return absolute_url(endpoint, token=token)


def user_for_link(token: str, purpose: str) -> User:
    """The account a change-of-address link belongs to. Raises LinkError."""
    try:
        payload = _serializer().loads(token, max_age=int(EMAIL_CHANGE_MAX_AGE.total_seconds()))
    except SignatureExpired:
        raise LinkError(_("This link has expired: links to change an e-mail address work for 24 hours."),
                        expired=True) from None
    except BadSignature:
        raise LinkError(_("This link is not valid.")) from None
    if not isinstance(payload, dict) or payload.get("p") != purpose or not isinstance(payload.get("u"), int):
        raise LinkError(_("This link is not valid."))
    user = db.session.get(User, payload["u"])
    if user is None or user.status in (UserStatus.SUSPENDED, UserStatus.ARCHIVED):
        raise LinkError(_("This link is not valid."))
    if not hmac.compare_digest(str(payload.get("f", "")), _fingerprint(user, purpose)):
        raise LinkError(_("This link was already used, or a newer change of address replaced it."))
    return user


@dataclass(frozen=True)
class Outgoing:
    to: str
    subject: str
    text: str

    def send(self) -> bool:
        return mail.send(self.to, self.subject, self.text)


SUBJECTS = {
    "email_change_confirm": lazy_gettext("Confirm your new e-mail address"),
    "email_change_notice": lazy_gettext("Your e-mail address is about to change"),
    "email_change_taken": lazy_gettext("Someone tried to use your e-mail address"),
    "consent_withdrawn": lazy_gettext("The guardian's consent for your account was withdrawn"),
}


def mail_to(user: User, to: str, template: str, **context) -> Outgoing:
    """A message in the recipient's language (``user`` is who it is about and to)."""
    with force_locale(user.locale or "en"):
        return Outgoing(to, str(SUBJECTS[template]), render_template(
            f"mail/{template}.txt", academy_name=current_app.config["PORTAL_ACADEMY_NAME"],
            user=user, **context))


def request_email_change(user: User, new_email: str, current_password: str, *,
                         ip: str | None = None) -> list[Outgoing]:
    """Ask to change the address to ``new_email``: the new address gets a link that makes
    the change, the old one a notice with a link that cancels it. An address that already
    has an account gets the same answer and no change (its owner gets a notice). Returns
    the mail to send; the caller sends it before committing, and rolls back if it cannot.

    Raises AccountError (field ``new_email``), or AuthError / AccountLocked (field
    ``current_password``): a wrong password counts toward the lockout as at login."""
    accounts.check_current_password(user, current_password, ip=ip,
                                    action=actions.USER_EMAIL_CHANGE_REQUESTED)
    new_email = accounts.normalise_email(new_email)
    if new_email == user.email:
        raise AccountError(_("This is already your e-mail address."), "new_email")
    owner = accounts.find_user_by_email(new_email)
    if owner is not None:
        record(user, actions.USER_EMAIL_CHANGE_REQUESTED, user, outcome=Outcome.FAILURE,
               reason="address_taken")
        return [mail_to(owner, owner.email, "email_change_taken")]
    user.pending_email = new_email
    user.pending_email_requested_at = utcnow()
    record(user, actions.USER_EMAIL_CHANGE_REQUESTED, user, new_email=new_email)
    hours = int(EMAIL_CHANGE_MAX_AGE.total_seconds() // 3600)
    return [
        mail_to(user, new_email, "email_change_confirm",
              link=make_link(user, CONFIRM), new_email=new_email, hours=hours),
        mail_to(user, user.email, "email_change_notice",
              link=make_link(user, CANCEL), new_email=new_email, hours=hours),
    ]


def confirm_email_change(token: str) -> User:
    """Open the link mailed to the new address: the address changes (once). Raises
    LinkError, or AccountError when the address was taken by another account meanwhile."""
    user = user_for_link(token, CONFIRM)
    new_email = user.pending_email
    if accounts.find_user_by_email(new_email) is not None:
        raise AccountError(_("Another account uses this address now, so it cannot become yours."))
    before = user.email
    user.email = new_email
    user.email_confirmed_at = utcnow()
    user.pending_email = None
    user.pending_email_requested_at = None
    record(user, actions.USER_EMAIL_CHANGED, user, before=before, after=new_email)
    notify(user, Category.SECURITY, "email_changed", email=new_email)
    return user


def cancel_email_change(token: str) -> User:
    """"This was not me": the pending change is dropped and every session ends. Raises
    LinkError."""
    user = user_for_link(token, CANCEL)
    dropped = user.pending_email
    user.pending_email = None
    user.pending_email_requested_at = None
    ended = sessions.revoke_all(user.id, "email_change_cancelled")
    record(None, actions.USER_EMAIL_CHANGE_CANCELLED, user, dropped=dropped, sessions_ended=len(ended))
    return user


def tell_consent_withdrawn(student: User, suspended) -> bool:
    """Mail the student (in their language) that their guardian's consent was withdrawn
    and which licenses are suspended; the caller has committed. The account page shows
    the same. Returns whether the mail went out."""
    return mail_to(student, student.email, "consent_withdrawn", licenses=suspended).send()
