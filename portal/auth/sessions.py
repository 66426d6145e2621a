"""Server-side login sessions.

The cookie (through Flask-Login, also the remember-me cookie) carries only a random
token; the database keeps its SHA-256, so a copied cookie dies the moment its
session is revoked, expires or sits idle too long. Every request checks it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from ua_parser import parse

from portal.db import utcnow, write_intended
from portal.extensions import db, login_manager
from portal.models.user import User, UserSession, UserStatus

TOUCH_EVERY = timedelta(seconds=60)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, *, remember: bool, ip: str | None, user_agent: str | None) -> UserSession:
    """Create a session record for a login; ``user.session_token`` is set for the cookie."""
    cfg = current_app.config
    now = utcnow()
    lifetime = (
        timedelta(days=cfg["SESSION_REMEMBER_DAYS"])
        if remember
        else timedelta(hours=cfg["SESSION_ABSOLUTE_HOURS"])
    )
    token = secrets.token_urlsafe(32)
    record = UserSession(
        token_hash=hash_token(token),
        user_id=user.id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + lifetime,
        remember=remember,
        ip=ip,
        user_agent=(user_agent or "")[:512] or None,
    )
    db.session.add(record)
    db.session.flush()
    user.session_token = token
    user.current_session_id = record.id
    return record


def known_device(user: User, user_agent: str | None) -> bool:
    """Whether a login from ``user_agent`` is from a device the account used before: any
    earlier session with the same browser string. A first login ever is not "new"."""
    agent = (user_agent or "")[:512] or None
    earlier = db.session.execute(
        sa.select(sa.func.count(), sa.func.count().filter(UserSession.user_agent == agent))
        .where(UserSession.user_id == user.id)).one()
    return earlier[0] == 0 or earlier[1] > 0


def find(token: str | None) -> UserSession | None:
    if not token:
        return None
    return db.session.scalar(sa.select(UserSession).where(UserSession.token_hash == hash_token(token)))


def _idle_limit() -> timedelta:
    return timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def is_live(record, now: datetime | None = None) -> bool:
    """Whether a session (its record, or a row of its columns) would still be accepted."""
    now = now or utcnow()
    if record.revoked_at is not None or record.expires_at <= now:
        return False
    # "Keep me logged in" sessions have no idle limit, only their (longer) lifetime.
    return record.remember or record.last_seen_at + _idle_limit() > now


def live_sessions(user_id: int) -> list[UserSession]:
    """The user's sessions that would still be accepted, most recently used first."""
    now = utcnow()
    stmt = (
        sa.select(UserSession)
        .where(
            UserSession.user_id == user_id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            sa.or_(UserSession.remember.is_(True), UserSession.last_seen_at > now - _idle_limit()),
        )
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())
    )
    return list(db.session.scalars(stmt))


def revoke(record: UserSession, reason: str) -> bool:
    """End one session; False when it had already ended."""
    if record.revoked_at is not None:
        return False
    record.revoked_at = utcnow()
    record.revoked_reason = reason[:64]
    return True


def revoke_all(user_id: int, reason: str, *, except_id: int | None = None) -> list[int]:
    """End every session of a user (but one, if given); returns the ids of those ended."""
    conditions = [UserSession.user_id == user_id, UserSession.revoked_at.is_(None)]
    if except_id is not None:
        conditions.append(UserSession.id != except_id)
    ids = list(db.session.scalars(sa.select(UserSession.id).where(*conditions)))
    if ids:
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.id.in_(ids), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow(), revoked_reason=reason[:64]),
            execution_options={"synchronize_session": False},
        )
        # Objects already loaded in this session must not keep their old state.
        for obj in list(db.session.identity_map.values()):
            if isinstance(obj, UserSession) and obj.id in ids:
                db.session.expire(obj)
    return ids


def _touch(session_id: int, last_seen_at: datetime) -> None:
    """Update last-seen at most once a minute (``TOUCH_EVERY``), never per request.

    In a read request this is a small transaction of its own, so the page stays a
    reader. In a write request on SQLite the request's transaction already holds the
    write lock, so the change rides along with it instead of waiting for itself.
    """
    now = utcnow()
    if now - last_seen_at < TOUCH_EVERY:
        return
    change = sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=now)
    if db.engine.dialect.name == "sqlite" and write_intended():
        db.session.execute(change, execution_options={"synchronize_session": False})
        return
    with db.engine.begin() as conn:
        conn.execute(change)


# The session check and the user load in one statement on the unique token index: the
# user as the object every page reads, the session as a few plain columns (no session
# object in the ORM's identity map to build, track or flush).
# Built once: a prepared statement's cache key is computed once, not per request.
_LOAD = (
    sa.select(User, UserSession.id, UserSession.last_seen_at, UserSession.expires_at,
              UserSession.revoked_at, UserSession.remember)
    .join(UserSession, UserSession.user_id == User.id)
    .where(UserSession.token_hash == sa.bindparam("token_hash"))
)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    if not token:
        return None
    row = db.session.execute(_LOAD, {"token_hash": hash_token(token)}).first()
    if row is None or not is_live(row):
        return None
    user = row[0]
    if user.status != UserStatus.ACTIVE:
        return None
    _touch(row.id, row.last_seen_at)
    user.session_token = token
    user.current_session_id = row.id
    return user


# -- describing a session in words ------------------------------------------------


@dataclass(frozen=True)
class Device:
    browser: str
    system: str
    kind: str  # "phone or tablet", "computer", "unknown"

    def __str__(self) -> str:
        if self.browser and self.system:
            return _("%(browser)s on %(system)s", browser=self.browser, system=self.system)
        if self.browser:
            return _("%(browser)s on an unknown system", browser=self.browser)
        if self.system:
            return _("An unknown browser on %(system)s", system=self.system)
        return _("Unknown device")


@lru_cache(maxsize=512)
def describe(user_agent: str | None) -> Device:
    """Browser and system in words, from a User-Agent header."""
    if not user_agent:
        return Device("", "", "unknown")
    result = parse(user_agent)
    browser = system = ""
    if result.user_agent and result.user_agent.family != "Other":
        browser = " ".join(p for p in (result.user_agent.family, result.user_agent.major) if p)
    if result.os and result.os.family != "Other":
        system = " ".join(p for p in (result.os.family, result.os.major) if p)
    device = result.device.family if result.device and result.device.family != "Other" else ""
    if device and device not in {"Mac", "Generic Smartphone"} and system:
        system = f"{system} ({device})"
    mobile = bool(result.os and result.os.family in {"Android", "iOS", "iPadOS"})
    kind = "phone or tablet" if mobile else ("computer" if system else "unknown")
    if not browser and not system:
        browser = user_agent.split("/", 1)[0][:40]
    return Device(browser, system, kind)
