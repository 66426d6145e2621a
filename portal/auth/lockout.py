"""Lockout: wrong passwords are counted per account *and source*, and lock that pair.

The rule (README, "Accounts and sessions"):

- The source of an attempt is the client's IPv4 address, or the /64 block of an IPv6
  address (what one subscriber gets, so walking through it is one source).
- ``LOCKOUT_THRESHOLD`` wrong passwords from one source lock the account *from that
  source* for ``LOCKOUT_MINUTES``. Each further lock of the same pair lasts twice as long
  as the one before, up to ``LOCKOUT_MAX_MINUTES``. Other sources are not affected, so
  an attacker cannot lock the owner out of their usual device.
- All sources together (the ``*`` row): ``LOCKOUT_ACCOUNT_THRESHOLD`` wrong passwords
  lock the account, with the same backoff, for every source that has never logged in to
  it. This answers a guess spread over many addresses; the owner's known devices and
  networks keep working, a new one waits or resets the password.
- A pair's count and backoff are forgotten after ``LOCKOUT_WINDOW_HOURS`` without a
  failure or a lock. A successful login clears its own pair and makes the source known;
  a new password (changed or reset) and an admin's unlock lift every lock of the account.

The callers hold the account's row lock (``services._for_password_check``), so the
attempts on one account take turns and each sees the counts the one before it left.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal.audit import actions
from portal.audit.services import record
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.user import LoginThrottle, User

ACCOUNT_WIDE = "*"
UNKNOWN_SOURCE = "ip:unknown"


@dataclass(frozen=True)
class Lock:
    """A lock in force: from ``source`` (or ``*``, every source never used to log in)."""

    source: str
    until: datetime
    minutes: int = 0
    lock_count: int = 0

    @property
    def account_wide(self) -> bool:
        return self.source == ACCOUNT_WIDE


@dataclass(frozen=True)
class Notice:
    """A lock the owner is mailed about, once the refusal that started it is committed."""

    email: str
    name: str
    lock: Lock
    locale: str | None = None  # the owner's language and zone: the mail is in them
    timezone: str | None = None


@dataclass
class Failure:
    """What counting one wrong password did: the lock that now applies to the source it
    came from (if any), and the locks it started (the owner is told of each)."""

    applies: Lock | None = None
    started: tuple[Lock, ...] = ()


def source_for(ip: str | None) -> str:
    """The source an attempt from ``ip`` counts against."""
    try:
        address = ipaddress.ip_address((ip or "").strip())
    except ValueError:
        return UNKNOWN_SOURCE
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return f"ip:{address.ipv4_mapped}"
        return f"ip:{ipaddress.ip_network((address, 64), strict=False)}"
    return f"ip:{address}"


def describe(source: str) -> str:
    """The source in words, for mail and the admin page."""
    if source == ACCOUNT_WIDE:
        return _("every device and network that has not logged in before")
    if source == UNKNOWN_SOURCE:
        return _("an unknown address")
    return source.removeprefix("ip:")


def _rows(user_id: int, sources) -> dict[str, LoginThrottle]:
    rows = db.session.scalars(
        sa.select(LoginThrottle)
        .where(LoginThrottle.user_id == user_id, LoginThrottle.source.in_(list(sources)))
        .execution_options(populate_existing=True)
    )
    return {row.source: row for row in rows}


def _row(rows: dict[str, LoginThrottle], user: User, source: str, now: datetime) -> LoginThrottle:
    row = rows.get(source)
    if row is None:
        row = LoginThrottle(user_id=user.id, source=source, failures=0, lock_count=0, updated_at=now)
        db.session.add(row)
        rows[source] = row
    return row


def _locked(row: LoginThrottle | None, now: datetime) -> bool:
    return row is not None and row.locked_until is not None and row.locked_until > now


def lock_for(user: User, source: str) -> Lock | None:
    """The lock that keeps ``source`` from trying a password on ``user``, if any."""
    now = utcnow()
    rows = _rows(user.id, (source, ACCOUNT_WIDE))
    own, whole = rows.get(source), rows.get(ACCOUNT_WIDE)
    if _locked(own, now):
        return Lock(source, own.locked_until, lock_count=own.lock_count)
    if _locked(whole, now) and not (own is not None and own.last_success_at is not None):
        return Lock(ACCOUNT_WIDE, whole.locked_until, lock_count=whole.lock_count)
    return None


def backoff_minutes(lock_count: int) -> int:
    """How long the ``lock_count``-th lock in a row lasts: doubling, capped."""
    cfg = current_app.config
    base, cap = cfg["LOCKOUT_MINUTES"], cfg["LOCKOUT_MAX_MINUTES"]
    return min(cap, base * 2 ** min(max(lock_count, 1) - 1, 20))


def _forget_if_quiet(row: LoginThrottle, now: datetime) -> None:
    window = timedelta(hours=current_app.config["LOCKOUT_WINDOW_HOURS"])
    last = max((t for t in (row.last_failure_at, row.locked_until) if t is not None), default=None)
    if last is not None and now - last > window:
        row.failures = 0
        row.lock_count = 0


def count_failure(user: User, source: str) -> Failure:
    """Count a wrong password from ``source`` (login or change-password), against the
    source's own count and the account's; lock whichever reaches its threshold.

    Records ``auth.lockout`` for each lock started. The caller holds the account's row lock."""
    cfg = current_app.config
    now = utcnow()
    rows = _rows(user.id, (source, ACCOUNT_WIDE))
    result = Failure()
    started = []
    for key, threshold in ((source, cfg["LOCKOUT_THRESHOLD"]),
                           (ACCOUNT_WIDE, cfg["LOCKOUT_ACCOUNT_THRESHOLD"])):
        row = _row(rows, user, key, now)
        if _locked(row, now):
            # Only a known source gets here during an account-wide lock; its own row counts.
            continue
        _forget_if_quiet(row, now)
        row.failures += 1
        row.last_failure_at = row.updated_at = now
        if row.failures < threshold:
            continue
        failures, row.failures = row.failures, 0
        row.lock_count += 1
        minutes = backoff_minutes(row.lock_count)
        row.locked_until = now + timedelta(minutes=minutes)
        lock = Lock(key, row.locked_until, minutes, row.lock_count)
        started.append(lock)
        record(user, actions.LOCKOUT, user, outcome=Outcome.FAILURE, source=key,
               until=row.locked_until, minutes=minutes, lock_count=row.lock_count,
               failures=failures, scope="account" if lock.account_wide else "source")
    result.started = tuple(started)
    result.applies = lock_for(user, source)
    return result


def succeeded(user: User, source: str) -> None:
    """A right password from ``source``: its count and backoff start again, and it is
    known from now on (it stays open while the account as a whole is locked)."""
    now = utcnow()
    row = _row(_rows(user.id, (source,)), user, source, now)
    row.failures = 0
    row.lock_count = 0
    row.locked_until = None
    row.last_success_at = row.updated_at = now


def clear(user: User) -> bool:
    """Lift every lock of the account and zero its counts (a new password, an admin's
    unlock). The backoff is kept: a source that goes on guessing is locked for longer.
    Returns whether a lock was in force."""
    now = utcnow()
    was_locked = is_locked(user, now)
    db.session.execute(
        sa.update(LoginThrottle)
        .where(LoginThrottle.user_id == user.id,
               sa.or_(LoginThrottle.failures > 0, LoginThrottle.locked_until.is_not(None)))
        .values(failures=0, locked_until=None, updated_at=now),
        execution_options={"synchronize_session": False},
    )
    return was_locked


def is_locked(user: User, now: datetime | None = None) -> bool:
    """True when some source (or the account as a whole) is locked out of ``user``."""
    return bool(db.session.scalar(
        sa.select(sa.func.count()).where(LoginThrottle.user_id == user.id,
                                         LoginThrottle.locked_until > (now or utcnow()))
    ))


def other_lock_in_force(user: User, lock: Lock) -> bool:
    """Another per-source lock of the account is already in force: its owner was told."""
    return bool(db.session.scalar(
        sa.select(sa.func.count()).where(
            LoginThrottle.user_id == user.id,
            LoginThrottle.source != lock.source,
            LoginThrottle.source != ACCOUNT_WIDE,
            LoginThrottle.locked_until > utcnow(),
        )
    ))


def overview(user: User) -> list[LoginThrottle]:
    """The account's counts and locks that matter now (admin page): locks in force first,
    then the sources whose wrong passwords still count (not forgotten yet)."""
    now = utcnow()
    window = timedelta(hours=current_app.config["LOCKOUT_WINDOW_HOURS"])
    rows = db.session.scalars(
        sa.select(LoginThrottle)
        .where(LoginThrottle.user_id == user.id,
               sa.or_(LoginThrottle.locked_until > now,
                      sa.and_(LoginThrottle.failures > 0, LoginThrottle.last_failure_at > now - window)))
        .order_by(LoginThrottle.locked_until.desc().nulls_last(), LoginThrottle.source)
        .limit(50)
    )
    return list(rows)
