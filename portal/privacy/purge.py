"""Retention: ``flask --app wsgi privacy purge`` removes what is kept no longer (cron).

Idempotent: a second run finds nothing more to remove (and still records its event, with
zero counts, so the trail shows the purge ran). What goes, and after how long, is what the
README's "What Portal keeps, and for how long" says (``portal.privacy.classification``):

- ended sessions (ended or expired) after 30 days;
- login-throttle rows with no lock in force and no activity for 30 days;
- sent mail in the outbox after 30 days;
- data exports 7 days after they were made (the file; the job stays without its result);
- IP addresses and user agents in the audit trail older than ``PORTAL_RETENTION_IP_DAYS``
  (180 by default): emptied in place, the chain verifies (``portal.audit.privacy``);
- unconfirmed accounts after 7 days (``portal.auth.registration.purge_unconfirmed``).

Password-reset and confirmation links are signed tokens that are not stored: nothing to purge.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from portal.audit import actions
from portal.audit.services import record
from portal.auth import registration
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.user import LoginThrottle, TrustedDevice, UserSession
from portal.privacy import export

ENDED_SESSIONS = timedelta(days=30)
STALE_THROTTLES = timedelta(days=30)
SENT_MAIL = timedelta(days=30)


def purge(now: datetime | None = None) -> dict[str, int]:
    """Remove what is past its retention period and record one ``privacy.purged`` event
    with the counts; the caller commits. Returns the counts."""
    now = now or utcnow()
    counts: dict[str, int] = {}
    cutoff = now - ENDED_SESSIONS
    counts["sessions"] = db.session.execute(sa.delete(UserSession).where(sa.or_(
        UserSession.revoked_at <= cutoff, UserSession.expires_at <= cutoff))).rowcount
    counts["remembered_devices"] = db.session.execute(sa.delete(TrustedDevice).where(sa.or_(
        TrustedDevice.revoked_at <= cutoff, TrustedDevice.expires_at <= cutoff))).rowcount
    stale = now - STALE_THROTTLES
    counts["login_throttles"] = db.session.execute(sa.delete(LoginThrottle).where(
        sa.or_(LoginThrottle.locked_until.is_(None), LoginThrottle.locked_until <= now),
        LoginThrottle.updated_at <= stale)).rowcount
    days = int(current_app.config["RETENTION_IP_DAYS"])
    counts["audit_addresses"] = db.session.execute(
        sa.update(AuditEvent).where(
            AuditEvent.at < now - timedelta(days=days),
            sa.or_(AuditEvent.ip.is_not(None), AuditEvent.user_agent.is_not(None)))
        .values(ip=None, user_agent=None).execution_options(synchronize_session=False)).rowcount
    counts["exports"] = export.purge_expired(now)
    counts["mail"] = _old_mail(now - SENT_MAIL)
    counts["unconfirmed_accounts"] = len(registration.purge_unconfirmed(now=now))
    record(None, actions.PRIVACY_PURGED, None, retention_ip_days=days, **counts)
    return counts


def _old_mail(before: datetime) -> int:
    folder = Path(current_app.config["MAIL_OUTBOX"])
    if not folder.is_dir():
        return 0
    count = 0
    for path in folder.glob("*.eml"):
        if path.stat().st_mtime <= before.timestamp():
            path.unlink(missing_ok=True)
            count += 1
    return count
