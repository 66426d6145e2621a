"""Bulk data for benchmarks: a large academy made in minutes, not hours.

``run(Size(...))`` adds, next to whatever the database already holds:

- students, instructors and a few admins (``@scale.test`` addresses, one password,
  hashed once and shared, so loading is fast and logging in works);
- classes of every specialization, each run by an instructor, with members;
- licenses across specializations and levels (skewed to the low levels), in every
  state, each with a valid hash-chained history and a signature, as the services
  would have left them; requirement confirmations for the current level;
- upgrade requests: approved ones behind every upgrade, some rejected, pending ones
  waiting in the instructors' queues, and level-1 admissions waiting for an admin;
- audit events over the past year with a skewed distribution of actors (a few very
  busy accounts, many quiet ones), actions and times (weekdays, daytime), sealed
  onto the audit chain in order so ``audit verify`` passes.

Rows are built in Python and written with bulk ``INSERT``s in batches. The data is
far too large for one transaction, so each stage commits.
"""
from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa

from portal.extensions import db
from portal.seed.scale import audit, licenses, people
from portal.seed.scale.base import DOMAIN, PASSWORD, Builder, ScaleError, Size, email, has_scale_data, noop
from portal.stats import summary

__all__ = ["DOMAIN", "PASSWORD", "ScaleError", "Size", "email", "has_scale_data", "run"]


def run(size: Size, *, seed: int = 2026, echo: Callable[[str], None] = noop) -> dict[str, int]:
    """Add a large academy to the database; returns what was made. Raises ScaleError when the
    scale accounts already exist. Commits as it goes."""
    if has_scale_data():
        raise ScaleError(f"This database already has scale data (accounts @{DOMAIN}).")
    builder = Builder(size, seed, echo)
    builder.catalogue()
    people.accounts(builder)
    people.classes(builder)
    licenses.licenses(builder)
    audit.audit(builder)
    # The bulk inserts went around the flush hooks that keep the admin overview's figures:
    # count them once, as the migration does.
    summary.recount(db.session, fix=True, audit=False)
    db.session.commit()
    # Fresh statistics, so the query planner knows the tables' new sizes. On PostgreSQL a
    # VACUUM too: it also moves the trigram indexes' pending entries (the bulk inserts')
    # into the indexes, which every name search would otherwise read until autovacuum runs.
    if db.engine.dialect.name == "postgresql":
        db.session.close()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        db.session.execute(sa.text("ANALYZE"))
        db.session.commit()
    return builder.counts
