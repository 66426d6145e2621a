"""Open Badges credentials issued for licenses, and their places in the status lists."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import utcnow
from portal.extensions import db
from portal.models.license import License

# Entries in each Bitstring Status List: the W3C minimum, so that a list says nothing about
# how many credentials exist (herd privacy).
STATUS_LIST_SIZE = 131_072


class Credential(db.Model):
    """One credential of a license: made when the license is issued, and again at each level
    change or renewal, when the previous one is superseded (its revocation bit is set).

    ``status_index`` is a random place, unused by any other credential, in both status lists
    (revocation and suspension). Its bits are these columns: revoked when ``revoked_at`` or
    ``superseded_at`` is set, suspended when ``suspended``."""

    __tablename__ = "credentials"
    audit_type = "credential"

    id: Mapped[int] = mapped_column(primary_key=True)
    uuid: Mapped[str] = mapped_column(sa.String(36), unique=True)
    license_id: Mapped[int] = mapped_column(sa.ForeignKey("licenses.id", ondelete="CASCADE"), index=True)
    level: Mapped[int]
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_until: Mapped[datetime | None]
    status_index: Mapped[int] = mapped_column(unique=True)
    revoked_at: Mapped[datetime | None]
    suspended: Mapped[bool] = mapped_column(default=False)
    superseded_at: Mapped[datetime | None]
    status_changed_at: Mapped[datetime] = mapped_column(default=utcnow)

    license: Mapped[License] = relationship()

    __table_args__ = (
        sa.CheckConstraint(f"status_index >= 0 AND status_index < {STATUS_LIST_SIZE}", name="status_index"),
    )

    @property
    def audit_label(self) -> str:
        return f"urn:uuid:{self.uuid}"

    @property
    def revoked_bit(self) -> bool:
        return self.revoked_at is not None or self.superseded_at is not None
