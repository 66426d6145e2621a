"""Finding people by any part of their name or e-mail address without reading every row.

The admin user list and the audit viewer's actor filter match a name or an address that
*contains* the text typed. A plain ``LIKE '%text%'`` reads the whole table; here an index
of trigrams answers instead (migration 0024):

- PostgreSQL: ``pg_trgm`` GIN indexes on ``name`` and on ``email`` (stored lower-cased).
  The conditions are ``name ILIKE '%text%'`` (SQLAlchemy's ``icontains``/``ilike``) and
  ``email LIKE '%text%'``, which the planner answers from those indexes itself.
- SQLite: the FTS5 table ``users_search`` (trigram tokenizer, external content over
  ``users``), kept in step by triggers on ``users``, so an insert, a rename or an erasure
  is in the index in the same transaction. The trigram match narrows the rows; the
  ``LIKE`` condition then decides, so the results are those of the plain condition.

Trigrams need three characters: a shorter text cannot be narrowed by the index and is
matched by the plain condition (the list still stops at its first page of rows).
"""
from __future__ import annotations

import sqlalchemy as sa

from portal.extensions import db
from portal.models.user import User

# Objects the migrations create for one database only; the models do not describe them,
# so the comparison of models and migrations leaves them out (``include_name``).
FTS_TABLE = "users_search"
TRIGRAM_INDEXES = ("ix_users_name_trgm", "ix_users_email_trgm")
MIN_INDEXED = 3


def include_name(name, type_, parent_names) -> bool:
    """Alembic's filter: skip the search objects that only one database has."""
    if type_ == "table" and name is not None and (name == FTS_TABLE or name.startswith(FTS_TABLE + "_")):
        return False
    return not (type_ == "index" and name in TRIGRAM_INDEXES)


def _fts_phrase(text: str) -> str:
    """``text`` as one FTS5 phrase: every character literal (quotes doubled)."""
    return '"' + text.replace('"', '""') + '"'


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def narrowing(text: str, columns: str = "name email"):
    """A condition on ``User.id`` that keeps (at least) the users whose ``columns``
    contain ``text`` case-insensitively, answered from the trigram index; None where the
    plain condition is as good (PostgreSQL, whose indexes serve ``LIKE`` directly, or a
    text too short for trigrams)."""
    if _dialect() != "sqlite" or len(text) < MIN_INDEXED:
        return None
    query = "{" + columns + "} : " + _fts_phrase(text)
    hits = sa.select(sa.column("rowid")).select_from(sa.table(FTS_TABLE)).where(
        sa.text(f"{FTS_TABLE} MATCH :fts_query").bindparams(fts_query=query)
    )
    return User.id.in_(hits)
