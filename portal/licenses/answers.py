"""Cached answers of the public verification (``/verify/<code>`` and its JSON).

Checking a license in full (its history chain, its Ed25519 signature, its entry in the
public log with an inclusion proof) and writing the page costs milliseconds; a license
changes rarely. So an answer is kept in this process, keyed by what the database says the
license is *now*, read by one indexed lookup on every request (``lookup``):

- every column of the license's row (its history head, signature, status, reason, expiry,
  level: any change, by the application or by hand, gives a new key, and the full check
  runs again);
- the holder's name (a rename or an erasure) and the specialization's code, name and titles;
- the size of the newest signed checkpoint of the public log (a newer checkpoint gives a
  new answer; until then the cached proof stays a correct proof against an older one);
- the expiry phase at this moment (valid / expiring soon with its day count / expired),
  so an answer cached before ``expires_at`` is never served after it;
- the code as typed, the language and time zone of the answer, and a signature presented
  from a certificate's QR link.

An answer is served for at most ``VERIFY_CACHE_SECONDS`` (its "Checked" time is when the
full check ran); then the next request checks in full again. Because the key is made only of
values held in the database, a second server process (with its own cache) never serves an
answer the database has moved past. What a cached answer does not notice, for those seconds
only: a history row changed by hand *without* the license's row changing.

Answers for a signed-in viewer are personal (the page's layout) and are never cached.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.db import utcnow
from portal.extensions import db
from portal.memory import LRU, of_app
from portal.models.license import License

EXPIRING_SOON = timedelta(days=30)
DEFAULT_SECONDS = 60
DEFAULT_SIZE = 4096


@dataclass(frozen=True)
class Version:
    """The license as the database holds it now, as far as an answer depends on it."""

    license_id: int
    holder_id: int
    status: str
    expires_at: datetime | None
    digest: str

    @property
    def id(self) -> int:
        return self.license_id


@dataclass(frozen=True)
class Answer:
    body: bytes
    etag: str
    status_code: int
    cache_control: str
    until: datetime


def _plain(value) -> object:
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    return value


_statement: sa.TextClause | None = None


def _lookup_statement() -> sa.TextClause:
    """Built once: a plain statement costs next to nothing to prepare on each request."""
    global _statement
    if _statement is None:
        licenses = License.__table__
        columns = ", ".join(f"l.{c.name}" for c in licenses.columns)
        _statement = sa.text(
            f"SELECT {columns}, u.name AS _holder_name, s.code AS _spec_code, s.name AS _spec_name, "
            "s.titles AS _spec_titles, "
            "(SELECT max(c.size) FROM transparency_checkpoints c WHERE c.origin = :origin) "
            "AS _checkpoint_size "
            "FROM licenses l JOIN users u ON u.id = l.holder_id "
            "JOIN specializations s ON s.id = l.specialization_id WHERE l.code = :code"
        ).columns(expires_at=licenses.c.expires_at.type)
    return _statement


def lookup(code: str) -> Version | None:
    """One statement: the license's row by its (unique, indexed) code, the holder's name,
    the specialization's names and the newest checkpoint's size."""
    from portal.transparency.checkpoints import origin  # noqa: PLC0415  (imports this package)

    row = db.session.execute(_lookup_statement(), {"code": code, "origin": origin()}).mappings().first()
    if row is None:
        return None
    values = {key: _plain(value) for key, value in row.items()}
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()
    return Version(row["id"], row["holder_id"], row["status"], row["expires_at"], digest)


def phase(expires_at: datetime | None, now: datetime) -> tuple:
    """What the passing of time alone changes in an answer: a key part that changes at
    the moment of expiry and each day of the last 30."""
    if expires_at is None:
        return ("open",)
    if expires_at <= now:
        return ("expired",)
    if expires_at - now <= EXPIRING_SOON:
        return ("soon", (expires_at - now).days)
    return ("valid",)


def phase_ends(expires_at: datetime | None, now: datetime) -> datetime | None:
    """When ``phase`` next changes (None: never)."""
    if expires_at is None or expires_at <= now:
        return None
    left = expires_at - now
    if left > EXPIRING_SOON:
        return expires_at - EXPIRING_SOON
    return expires_at - timedelta(days=left.days)


def key(kind: str, typed: str, version: Version, *context) -> tuple:
    return (kind, typed, version.digest, phase(version.expires_at, utcnow()), *context)


def store() -> LRU[Answer]:
    """This application's answers (one store per app, so two apps in one process never
    share one)."""
    return of_app("portal_verify_answers", lambda: LRU(DEFAULT_SIZE))


def get(cache_key: tuple) -> Answer | None:
    answers = store()
    answer = answers.get(cache_key)
    if answer is not None and answer.until <= utcnow():
        answers.discard(cache_key)  # past its time: the next request checks in full
        return None
    return answer


def put(cache_key: tuple, version: Version, body: bytes, status_code: int, cache_control: str) -> Answer:
    now = utcnow()
    seconds = current_app.config.get("VERIFY_CACHE_SECONDS", DEFAULT_SECONDS)
    until = now + timedelta(seconds=seconds)
    ends = phase_ends(version.expires_at, now)
    if ends is not None:
        until = min(until, ends)
    # The ETag is the answer's own digest: a full check that finds something new (a history
    # row changed by hand, which the key cannot see) gives a new one.
    answer = Answer(body, hashlib.sha256(body).hexdigest()[:32], status_code, cache_control, until)
    if seconds > 0:
        store().put(cache_key, answer, current_app.config.get("VERIFY_CACHE_SIZE", DEFAULT_SIZE))
    return answer
