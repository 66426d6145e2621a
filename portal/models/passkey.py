"""Passkeys (WebAuthn credentials) and the challenges of their ceremonies."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db
from portal.models.user import User


class Passkey(db.Model):
    """One credential a user registered with an authenticator (a phone, a laptop, a security
    key, or a password manager that syncs it). We keep its public key, never a secret.

    ``credential_id`` is the authenticator's id for it, base64url as the browser sends it.
    ``user_handle`` is the random id the authenticator stores for the account (the same for
    every passkey of a user, so a discoverable login names its account without an e-mail
    address). ``sign_count`` is the authenticator's counter: synced passkeys keep it at 0;
    one that was above 0 and goes back is refused (a cloned key)."""

    __tablename__ = "passkeys"
    audit_type = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    credential_id: Mapped[str] = mapped_column(sa.String(1400), unique=True)
    public_key: Mapped[bytes] = mapped_column(sa.LargeBinary)
    user_handle: Mapped[str] = mapped_column(sa.String(128))
    sign_count: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    transports: Mapped[list] = mapped_column(sa.JSON, default=list)
    backed_up: Mapped[bool] = mapped_column(default=False)
    aaguid: Mapped[str | None] = mapped_column(sa.String(36))
    name: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    @property
    def audit_label(self) -> str:
        return self.name


class PasskeyChallenge(db.Model):
    """A challenge handed to a browser for one ceremony: single use (deleted by the one
    conditional DELETE that accepts it) and short-lived. The browser's session says which
    one is its own, so a challenge from one browser cannot be answered in another."""

    __tablename__ = "passkey_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    challenge: Mapped[str] = mapped_column(sa.String(64), unique=True)
    purpose: Mapped[str] = mapped_column(sa.String(16))
    user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
