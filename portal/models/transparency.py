"""The transparency log: its leaves, the hashes of its complete subtrees, its checkpoints."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import utcnow
from portal.extensions import db


class TransparencyLeaf(db.Model):
    """One leaf: the exact bytes (RFC 8785 JSON) of one license history row's public content.

    ``holder_salt`` opens the leaf's salted commitment to the holder's name; it is kept
    beside the log, not in it, so forgetting a holder forgets the salt and the leaf stays.
    """

    __tablename__ = "transparency_leaves"

    idx: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    # No foreign key: the log outlives whatever happens to the rows it recorded (a deleted
    # license leaves its leaves, and `transparency verify` names them).
    license_id: Mapped[int]
    event_seq: Mapped[int]
    leaf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    holder_salt: Mapped[bytes | None] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # Not unique: a deleted license's id may be given again (SQLite reuses row ids).
    __table_args__ = (sa.Index("ix_transparency_leaves_license", "license_id", "event_seq"),)


class TransparencyNode(db.Model):
    """The hash of leaves [idx·2^level, (idx+1)·2^level); level 0 is the leaf hash."""

    __tablename__ = "transparency_nodes"

    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(sa.LargeBinary)


class TransparencyCheckpoint(db.Model):
    """A signed tree head (a C2SP signed note), kept so every one can be checked again."""

    __tablename__ = "transparency_checkpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    origin: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    root: Mapped[bytes] = mapped_column(sa.LargeBinary)
    note: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (sa.UniqueConstraint("origin", "size"),)
