"""Erasure: a person's data gone from every table, cache and file, every chain still valid.

``erase(user, actor, ...)`` does the database part in the caller's transaction, so it
lands whole or not at all (the route or CLI commits; on any error it rolls back and the
account is as it was). What lives outside the database (certificate PDFs, exports, outbox
mail, Redis keys) is removed by :func:`forget_files` after the commit: files cannot be
rolled back, and a file left behind by a crash is removed by the next ``privacy purge``
or erasure, since nothing points to it any more.

What happens to the person:

- **users**: name and e-mail become a pseudonym (``erased-<id>``, and an address under
  ``erased.invalid`` that can never receive mail), so their address can register anew as
  a new person; given and family name, date of birth, guardian's name, pending address and
  password are emptied; the account is archived with ``erased_at`` set: it can never log
  in and never be restored.
- **sessions**, **login throttles**, **consent records** (the evidence): deleted.
- **licenses**: revoked with the category ``holder_erased`` (``licenses.services
  .revoke_for_erasure``): the history chain gets a row and the signature is made again,
  over the pseudonym, exactly as for a change of name, so ``licenses verify`` passes and
  the public page says "revoked at the holder's request" without a name.
- **upgrade requests**: the student's reasons and the decisions' notes are emptied.
- **audit trail**: the person's key is destroyed and their events' personal fields
  emptied (``portal.audit.privacy``): the events stay, under the pseudonym, and the chain
  verifies.
- **jobs**: their export jobs' files are deleted; item messages that name them are emptied.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from redis import Redis

from portal.audit import actions, privacy
from portal.audit.services import record
from portal.auth import sessions
from portal.auth.passwords import verify_password
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses import services as lifecycle
from portal.models.audit import Outcome
from portal.models.consent import ConsentRecord
from portal.models.job import Job, JobItem
from portal.models.klass import ClassInvitation
from portal.models.license import UpgradeRequest
from portal.models.notification import MailDelivery, Notification, NotificationPreference
from portal.models.passkey import Passkey, PasskeyChallenge
from portal.models.user import (
    LoginThrottle,
    RecoveryCode,
    Role,
    TrustedDevice,
    User,
    UserSession,
    UserStatus,
)
from portal.privacy import export
from portal.transparency import log as transparency_log

log = logging.getLogger(__name__)

CONFIRM_WORD = "DELETE"
ERASED_DOMAIN = "erased.invalid"


class ErasureError(PortalError):
    """The erasure was refused; nothing was erased. ``field`` names the form field."""


@dataclass
class Erased:
    """What an erasure left to remove outside the database (see :func:`forget_files`)."""

    user_id: int
    identifiers: list[str] = field(default_factory=list)
    license_ids: list[int] = field(default_factory=list)
    export_files: list[str] = field(default_factory=list)
    counts: dict = field(default_factory=dict)


def pseudonym(user_id: int) -> str:
    return f"erased-{user_id}"


def check_own_request(user: User, current_password: str, confirm: str) -> None:
    """The checks of ``POST /account/delete``; raises ErasureError with the field."""
    if (confirm or "").strip() != CONFIRM_WORD:
        raise ErasureError(_("Type DELETE to confirm."), "confirm")
    if not verify_password(user.password_hash, current_password or ""):
        raise ErasureError(_("That is not your current password."), "current_password")


def _keep_an_admin(user: User) -> None:
    if user.role != Role.ADMIN or user.status != UserStatus.ACTIVE:
        return
    others = db.session.scalars(
        sa.select(User.id).where(User.role == Role.ADMIN, User.status == UserStatus.ACTIVE,
                                 User.id != user.id).with_for_update()).all()
    if not others:
        raise ErasureError(_("This is the last active admin; make another account an admin first."))


def identifiers_of(user: User) -> list[str]:
    """The strings that identify the person: for the clean-up of files and Redis keys."""
    values = {user.email, user.name, user.given_name, user.family_name, user.pending_email,
              user.guardian_name}
    if user.date_of_birth:
        values.add(user.date_of_birth.isoformat())
    values.update(db.session.scalars(sa.select(UserSession.ip).where(UserSession.user_id == user.id)))
    return sorted(v for v in values if v and len(v) >= 4)


def erase(user: User, actor: User | None, *, reason: str | None = None) -> Erased:
    """Erase ``user``'s personal data (``actor`` is the user themselves, an admin, or None
    for the command line). Raises ErasureError for an account already erased or the last
    active admin. The caller commits, then calls :func:`forget_files` with the result."""
    if user.erased_at is not None:
        raise ErasureError(_("This account's data is already erased."))
    _keep_an_admin(user)
    self_request = actor is not None and actor.id == user.id
    done = Erased(user_id=user.id, identifiers=identifiers_of(user))
    name = pseudonym(user.id)
    now = utcnow()

    # The account: a pseudonym that no one can log in as or restore.
    user.name = name
    user.email = f"{name}@{ERASED_DOMAIN}"
    user.given_name = user.family_name = user.guardian_name = None
    user.date_of_birth = None
    user.pending_email = user.pending_email_requested_at = None
    user.password_hash = None
    user.guardian_consent_at = None
    user.totp_secret = user.totp_enabled_at = user.totp_last_step = None
    user.status = UserStatus.ARCHIVED
    user.erased_at = now
    db.session.flush()

    # Licenses re-signed over the pseudonym and revoked; pending requests withdrawn.
    licenses = lifecycle.revoke_for_erasure(user, actor)
    done.license_ids = [lic.id for lic in licenses]
    # The public log keeps every leaf; without their salts the name commitments stay shut.
    transparency_log.forget_holder(done.license_ids)
    db.session.execute(sa.update(UpgradeRequest).where(UpgradeRequest.user_id == user.id)
                       .values(reason="", decision_note=None))

    # Sessions, lockout counters and the consent evidence.
    sessions.revoke_all(user.id, "erased")
    counts = done.counts
    counts["sessions"] = db.session.execute(
        sa.delete(UserSession).where(UserSession.user_id == user.id)).rowcount
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.user_id == user.id))
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    counts["passkeys"] = db.session.execute(sa.delete(Passkey).where(Passkey.user_id == user.id)).rowcount
    db.session.execute(sa.delete(PasskeyChallenge).where(PasskeyChallenge.user_id == user.id))
    counts["trusted_devices"] = db.session.execute(
        sa.delete(TrustedDevice).where(TrustedDevice.user_id == user.id)).rowcount
    counts["invitations"] = db.session.execute(sa.delete(ClassInvitation).where(sa.or_(
        ClassInvitation.joined_user_id == user.id, ClassInvitation.email.in_(
            [v for v in done.identifiers if "@" in v])))).rowcount
    counts["consent_records"] = db.session.execute(
        sa.delete(ConsentRecord).where(ConsentRecord.user_id == user.id)).rowcount

    # Their notifications go; other people's that name them read the pseudonym.
    counts["notifications"] = db.session.execute(
        sa.delete(Notification).where(Notification.user_id == user.id)).rowcount
    db.session.execute(sa.delete(NotificationPreference).where(NotificationPreference.user_id == user.id))
    db.session.execute(sa.delete(MailDelivery).where(MailDelivery.user_id == user.id))
    _rename_in_notifications(done.identifiers, name)

    # Their exports, and job messages that name them.
    done.export_files = export.forget_exports(user.id)
    for text in done.identifiers:
        db.session.execute(sa.update(JobItem).where(JobItem.message.contains(text)).values(message=""))
    db.session.execute(sa.update(Job).where(Job.actor_id == user.id, Job.kind == export.JOB_KIND)
                       .values(result={}, params={}))

    # The audit trail: the key goes, the events stay under the pseudonym.
    db.session.flush()
    keys = privacy.destroy_keys(db.session, user_id=user.id, reason="erased")
    counts["audit_events"] = privacy.forget_events(db.session, keys, user.id, f"{name}@{ERASED_DOMAIN}")
    counts["licenses"] = len(licenses)
    record(None if self_request else actor, actions.PRIVACY_ERASED, user, without_address=self_request,
           by_request_of="self" if self_request else "admin", reason=reason, **counts)
    return done


def _rename_in_notifications(identifiers: list[str], pseudonym_: str) -> None:
    """Others' notifications that name the person (an instructor's "X joined your class")
    name the pseudonym instead."""
    if not identifiers:
        return
    text = sa.cast(Notification.data, sa.Text)
    needles = set(identifiers) | {json.dumps(i)[1:-1] for i in identifiers}  # as stored in JSON
    naming = sa.select(Notification).where(sa.or_(*[text.contains(n) for n in needles]))
    for note in db.session.scalars(naming):
        note.data = {key: pseudonym_ if isinstance(value, str) and any(i in value for i in identifiers)
                     else value for key, value in note.data.items()}


def refuse(user: User, exc: ErasureError) -> None:
    """Record a refused self-erasure (wrong password, last admin); the caller commits."""
    record(user, actions.PRIVACY_ERASURE_REFUSED, ("user", user.id), outcome=Outcome.FAILURE,
           field=exc.field)


def forget_files(done: Erased) -> dict:
    """After the commit: remove the person's certificate PDFs, export files, outbox mail
    naming them, and Redis keys naming them. Returns what was removed, by kind."""
    removed = {"certificates": 0, "exports": 0, "mail": 0, "redis_keys": 0}
    cert_dir = Path(current_app.config["CERTIFICATE_CACHE_DIR"])
    for license_id in done.license_ids:
        for path in cert_dir.glob(f"{license_id}-*.pdf"):
            path.unlink(missing_ok=True)
            removed["certificates"] += 1
    for name in done.export_files:
        path = Path(name)
        if path.exists():
            path.unlink()
            removed["exports"] += 1
    removed["mail"] = _forget_mail(done.identifiers)
    removed["redis_keys"] = _forget_redis(done.identifiers)
    return removed


def _forget_mail(identifiers: list[str]) -> int:
    folder = Path(current_app.config["MAIL_OUTBOX"])
    if not folder.is_dir() or not identifiers:
        return 0
    needles = [i.encode() for i in identifiers]
    count = 0
    for path in folder.iterdir():
        if not path.is_file():
            continue
        data = path.read_bytes()
        if any(n in data for n in needles):
            path.unlink(missing_ok=True)
            count += 1
    return count


def _forget_redis(identifiers: list[str]) -> int:
    url = current_app.config.get("REDIS_URL")
    if not url:
        return 0
    try:
        client = Redis.from_url(url)
        count = 0
        # Keys naming the person: rate-limit and quota counters by address.
        for key in client.scan_iter(count=1000):
            text = key.decode(errors="replace")
            if any(i in text for i in identifiers):
                count += client.delete(key)
        return count
    except Exception:  # Redis down: the keys expire on their own
        log.warning("could not remove an erased person's Redis keys", exc_info=True)
        return 0
