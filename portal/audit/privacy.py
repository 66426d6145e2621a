"""Personal data in the audit trail that can be forgotten while the chain verifies.

An audit event's personal fields are ``actor_label``, ``details``, ``ip`` and
``user_agent``. The chain (``portal.audit.chain``) does not hash them directly. It hashes
two HMAC-SHA256 digests of them, made with the secret of the event's key
(``AuditKey``), and the key's id:

- ``identity_digest`` = HMAC(secret, canonical JSON of {actor_label, details})
- ``network_digest``  = HMAC(secret, canonical JSON of {ip, user_agent})

The key belongs to the person the event is about (:func:`subject_id`), or, for an event
about nobody in particular, to its month. While the key lives, ``audit verify`` recomputes
both digests from the stored fields, so changing a detail, a label or an address is caught
exactly as before. Forgetting is then two steps that never touch a hashed value:

- **Erasure** (``portal.privacy.erasure``) empties the person's events' personal fields
  and destroys their key. The digests stay in the chain, so it verifies; without the
  secret they can no longer be matched to a guessed e-mail or IP address
  ("crypto-shredding"): nothing that could identify the person is left.
- **Retention** (``privacy purge``) empties ``ip`` and ``user_agent`` of old events; an
  event whose two network fields are both empty skips the network check (emptying them
  is the only change allowed, and it reveals nothing).

On PostgreSQL the append-only trigger lets an UPDATE through only when it leaves every
hashed column as it was (migration 0019).

Filtering by actor or IP stays as fast as before: the plain columns keep their indexes
for as long as the data may be kept, so no blind index is needed; an erased person's
events are found by their key (``ix_audit_events_key_id``).
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

import sqlalchemy as sa

from portal.db import utcnow
from portal.hashchain import canonical_json
from portal.models.audit import AuditEvent
from portal.models.privacy import AuditKey

# Detail keys that name the person an event is about when the resource is not a user.
_SUBJECT_KEYS = ("student_id", "holder_id", "user_id")


def subject_id(actor_id: int | None, resource_type: str | None, resource_id: str | None,
               details: dict | None) -> int | None:
    """Whose key seals an event: the user it is about, else the one named in its details,
    else its actor; None for events about nobody (anonymous visitors, the system)."""
    if resource_type == "user" and resource_id and str(resource_id).isdigit():
        return int(resource_id)
    for key in _SUBJECT_KEYS:
        value = (details or {}).get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.isdigit():
            return int(value)
    return actor_id


def period_of(at) -> str:
    return f"{at.year:04d}-{at.month:02d}"


def _digest(secret: str, content: dict) -> str:
    return hmac.new(bytes.fromhex(secret), canonical_json(content), hashlib.sha256).hexdigest()


def identity_digest(secret: str, actor_label: str | None, details: Any) -> str:
    return _digest(secret, {"actor_label": actor_label, "details": details or {}})


def network_digest(secret: str, ip: str | None, user_agent: str | None) -> str:
    return _digest(secret, {"ip": ip, "user_agent": user_agent})


_keys = AuditKey.__table__
# Built once (a statement's cache key is computed once): the newest live key of a person,
# or of a month for events about nobody in particular.
_KEY_OF_USER = (
    sa.select(_keys.c.id, _keys.c.secret)
    .where(_keys.c.secret.is_not(None), _keys.c.user_id == sa.bindparam("key_user"))
    .order_by(_keys.c.id.desc()).limit(1)
)
_KEY_OF_PERIOD = (
    sa.select(_keys.c.id, _keys.c.secret)
    .where(_keys.c.secret.is_not(None), _keys.c.user_id.is_(None),
           _keys.c.period == sa.bindparam("key_period"))
    .order_by(_keys.c.id.desc()).limit(1)
)
# ``KeyCache.key_for(found=...)``: nothing looked up yet.
LOOK_UP = object()


def owner_of(event) -> int | None:
    """Whose key seals ``event`` (see :func:`subject_id`)."""
    return subject_id(event.actor_id, event.resource_type, event.resource_id, event.details)


def key_lookup(owner: int | None, at) -> tuple[sa.Select, dict]:
    """The statement that finds the live key sealing an event of ``owner`` at ``at`` (its
    columns: id, secret), and its parameters; a caller may run it inside a statement of its
    own and hand the row to :meth:`KeyCache.key_for`."""
    if owner is not None:
        return _KEY_OF_USER, {"key_user": owner}
    return _KEY_OF_PERIOD, {"key_period": period_of(at)}


class KeyCache:
    """The live key for each subject, looked up or made once per transaction (or bulk run)."""

    def __init__(self, session):
        self.session = session
        self.by_owner: dict[tuple, tuple[int, str]] = {}

    def key_for(self, owner: int | None, at, found=LOOK_UP) -> tuple[int, str]:
        """(id, secret) of the key; ``found``: the row of :func:`key_lookup` when the caller
        ran it already (None or an empty row: there is no live key; one is made)."""
        marker = (owner, None) if owner is not None else (None, period_of(at))
        known = self.by_owner.get(marker)
        if known:
            return known
        if found is LOOK_UP:
            stmt, params = key_lookup(owner, at)
            found = self.session.execute(stmt, params).first()
        if found is None or found[0] is None:
            key = AuditKey(user_id=owner, period=marker[1], secret=secrets.token_hex(32),
                           created_at=utcnow())
            self.session.add(key)
            self.session.flush()
            found = (key.id, key.secret)
        self.by_owner[marker] = (found[0], found[1])
        return self.by_owner[marker]


def seal_personal(cache: KeyCache, event, found=LOOK_UP) -> None:
    """Set ``key_id`` and both digests on ``event`` (an AuditEvent or a namespace of values);
    ``found`` as in :meth:`KeyCache.key_for`."""
    event.key_id, secret = cache.key_for(owner_of(event), event.at, found)
    event.identity_digest = identity_digest(secret, event.actor_label, event.details)
    event.network_digest = network_digest(secret, event.ip, event.user_agent)


_IPAD = bytes(x ^ 0x36 for x in range(256))
_OPAD = bytes(x ^ 0x5C for x in range(256))


class VerifyKey:
    """One key's secret made ready for the digests of many events (``audit verify``).

    The same HMAC-SHA256 as :func:`_digest` (RFC 2104, as ``hmac`` computes it), with the
    hash states of the padded key made once instead of for every digest: a third of the cost.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, secret: str):
        key = bytes.fromhex(secret)
        if len(key) > 64:  # SHA-256's block size
            key = hashlib.sha256(key).digest()
        key = key.ljust(64, b"\0")
        self._inner = hashlib.sha256(key.translate(_IPAD))
        self._outer = hashlib.sha256(key.translate(_OPAD))

    def digest(self, content: dict) -> str:
        inner = self._inner.copy()
        inner.update(canonical_json(content))
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.hexdigest()


def live_keys(session) -> dict[int, VerifyKey]:
    """Every key that still has its secret, by id (for ``audit verify``)."""
    return {key_id: VerifyKey(secret) for key_id, secret in session.execute(
        sa.select(AuditKey.id, AuditKey.secret).where(AuditKey.secret.is_not(None)))}


def personal_problem(key: VerifyKey | None, actor_label: str | None, details: Any, ip: str | None,
                     user_agent: str | None, identity: str | None, network: str | None) -> str | None:
    """Why an event's personal fields do not match its digests (``identity``, ``network``),
    or None when they do (or can no longer be checked: key destroyed)."""
    if key is None:
        return None
    if key.digest({"actor_label": actor_label, "details": details or {}}) != identity:
        return "its actor label or details do not match their digest (changed)"
    if (ip is not None or user_agent is not None) and \
            key.digest({"ip": ip, "user_agent": user_agent}) != network:
        return "its IP address or user agent do not match their digest (changed)"
    return None


def destroy_keys(session, *, user_id: int | None = None, before_period: str | None = None,
                 reason: str) -> list[int]:
    """Destroy the secrets of a person's keys, or of the anonymous keys of months before
    ``before_period``; returns the ids of the keys destroyed."""
    stmt = sa.select(AuditKey.id).where(AuditKey.secret.is_not(None))
    if user_id is not None:
        stmt = stmt.where(AuditKey.user_id == user_id)
    else:
        stmt = stmt.where(AuditKey.user_id.is_(None), AuditKey.period < before_period)
    ids = list(session.scalars(stmt))
    if ids:
        session.execute(sa.update(AuditKey).where(AuditKey.id.in_(ids)).values(
            secret=None, destroyed_at=utcnow(), destroyed_reason=reason))
    return ids


def forget_events(session, key_ids: list[int], user_id: int, pseudonym: str) -> int:
    """Empty the personal fields of every event sealed with ``key_ids``: the label becomes
    ``pseudonym`` where the person acted (empty where someone else did: their id stays),
    details are replaced by a marker, address and agent are removed."""
    if not key_ids:
        return 0
    result = session.execute(
        sa.update(AuditEvent).where(AuditEvent.key_id.in_(key_ids)).values(
            actor_label=sa.case((AuditEvent.actor_id == user_id, pseudonym), else_=None),
            details={"erased": True}, ip=None, user_agent=None)
        .execution_options(synchronize_session=False))
    return result.rowcount
