"""Server-side login sessions.

The cookie (through Flask-Login) carries only a random token; the database keeps
its SHA-256, so a copied cookie dies the moment its session is revoked.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm.attributes import set_committed_value

from portal.db import utcnow
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
    user.session_token = token
    return record


def find(token: str | None) -> UserSession | None:
    if not token:
        return None
    return db.session.scalar(
        sa.select(UserSession).where(UserSession.token_hash == hash_token(token))
    )


def is_live(record: UserSession) -> bool:
    cfg = current_app.config
    now = utcnow()
    if record.revoked_at is not None or record.expires_at <= now:
        return False
    if not record.remember:
        idle = timedelta(minutes=cfg["SESSION_IDLE_MINUTES"])
        if record.last_seen_at + idle <= now:
            return False
    return True


def revoke(record: UserSession, reason: str) -> None:
    if record.revoked_at is None:
        record.revoked_at = utcnow()
        record.revoked_reason = reason


def revoke_all(user_id: int, reason: str, *, except_id: int | None = None) -> int:
    """End every live session of a user (but one, if given); returns how many."""
    stmt = (
        sa.update(UserSession)
        .where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoked_reason=reason)
    )
    if except_id is not None:
        stmt = stmt.where(UserSession.id != except_id)
    return db.session.execute(stmt).rowcount


def _touch(record: UserSession) -> None:
    """Update last-seen at most once a minute, outside the request's transaction."""
    now = utcnow()
    if now - record.last_seen_at < TOUCH_EVERY:
        return
    with db.engine.begin() as conn:
        conn.execute(
            sa.update(UserSession).where(UserSession.id == record.id).values(last_seen_at=now)
        )
    set_committed_value(record, "last_seen_at", now)


@login_manager.user_loader
def load_user(token: str) -> User | None:
    record = find(token)
    if record is None or not is_live(record):
        return None
    user = db.session.get(User, record.user_id)
    if user is None or user.status != UserStatus.ACTIVE:
        return None
    _touch(record)
    user.session_token = token
    user.current_session_id = record.id
    return user
