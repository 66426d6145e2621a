from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db


class DashboardCount(db.Model):
    """One number of the admin overview, kept up to date by the change that moves it
    (portal/stats/summary.py): ``kind`` names the figure, ``key_a`` and ``key_b`` its cell
    (role and status; specialization and level; the Monday of a week)."""

    __tablename__ = "dashboard_counts"

    kind: Mapped[str] = mapped_column(sa.String(24), primary_key=True)
    key_a: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    key_b: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    n: Mapped[int] = mapped_column(sa.BigInteger, default=0)
