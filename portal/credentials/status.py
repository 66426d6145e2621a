"""Bitstring Status Lists (W3C): which credentials are revoked or suspended.

Each credential has one random place (``Credential.status_index``) in both lists, unused by
any other. A license's state changes go through ``portal.licenses.services.apply_change``,
which calls :func:`license_changed` in the same transaction: the credential's bits are
columns of its row, so they flip together with the license or not at all. A level change or
a renewal makes a new credential and supersedes the old one (its revocation bit is set).

A list is read as the W3C spec writes it: bit ``i`` is the ``i``-th bit counting from the
most significant bit of the first byte; the bitstring is GZIP-compressed and written as
multibase base64url without padding (``u...``).
"""
from __future__ import annotations

import base64
import gzip
import secrets
import uuid

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from portal.db import utcnow
from portal.extensions import db
from portal.models.credential import STATUS_LIST_SIZE, Credential
from portal.models.license import License, LicenseStatus

PURPOSES = ("revocation", "suspension")


def current(license: License) -> Credential | None:
    """The license's credential in force (not superseded), if one was made."""
    return db.session.scalar(
        sa.select(Credential).where(Credential.license_id == license.id, Credential.superseded_at.is_(None))
        .order_by(Credential.id.desc()).limit(1)
    )


def _new(license: License) -> Credential:
    """A new credential for the license's current level and expiry, at a random unused index."""
    now = utcnow()
    for _attempt in range(20):
        index = secrets.randbelow(STATUS_LIST_SIZE)
        if db.session.scalar(sa.select(Credential.id).where(Credential.status_index == index)) is not None:
            continue
        credential = Credential(uuid=str(uuid.uuid4()), license_id=license.id, level=license.level,
                                valid_from=now, valid_until=license.expires_at, status_index=index,
                                status_changed_at=now)
        try:
            with db.session.begin_nested():
                db.session.add(credential)
                db.session.flush()
        except IntegrityError:
            continue  # taken meanwhile by another transaction
        return credential
    raise RuntimeError("no free status list index found")


def _sync(credential: Credential, license: License) -> None:
    """Set the credential's bits from the license's status."""
    revoked = license.status == LicenseStatus.REVOKED
    suspended = license.status == LicenseStatus.SUSPENDED
    if revoked != (credential.revoked_at is not None) or suspended != credential.suspended:
        since = credential.revoked_at or license.status_changed_at or utcnow()
        credential.revoked_at = since if revoked else None
        credential.suspended = suspended
        credential.status_changed_at = utcnow()


# Built once: a license's credentials not superseded, newest first.
_IN_FORCE = (
    sa.select(Credential)
    .where(Credential.license_id == sa.bindparam("license_id"), Credential.superseded_at.is_(None))
    .order_by(Credential.id.desc())
)


def ensure(license: License) -> Credential:
    """The license's credential in force, made now for a license issued before credentials
    existed, or superseded by a new one when its level or expiry no longer match."""
    # Every one in force, newest first (normally one): the newest is the credential, any
    # other is superseded below. (Read first: a GET that finds nothing to change must not
    # take SQLite's write lock.)
    in_force = list(db.session.scalars(_IN_FORCE, {"license_id": license.id}))
    credential, others = (in_force[0], in_force[1:]) if in_force else (None, [])
    if credential is not None and (credential.level != license.level
                                   or credential.valid_until != license.expires_at):
        credential.superseded_at = credential.status_changed_at = utcnow()
        credential = None
    if credential is None:
        credential = _new(license)
        # Two first downloads at once can each have made one: only the newest stays in force,
        # so no credential of a license is left out of its status changes. (Read again after
        # the insert: one another transaction committed meanwhile is seen.)
        others = db.session.scalars(sa.select(Credential).where(
            Credential.license_id == license.id, Credential.superseded_at.is_(None),
            Credential.id != credential.id)).all()
    _sync(credential, license)
    for other in others:
        other.superseded_at = other.status_changed_at = utcnow()
    return credential


def license_changed(license: License, kind: str) -> None:
    """Hook for every change of a license's state (``apply_change``): keep its credential and
    status bits in step, in the same transaction."""
    ensure(license)


def bits(purpose: str) -> bytes:
    """The list's bitstring (``STATUS_LIST_SIZE`` bits)."""
    if purpose == "revocation":
        condition = sa.or_(Credential.revoked_at.is_not(None), Credential.superseded_at.is_not(None))
    else:
        condition = Credential.suspended.is_(True)
    data = bytearray(STATUS_LIST_SIZE // 8)
    for index in db.session.scalars(sa.select(Credential.status_index).where(condition)):
        data[index // 8] |= 0x80 >> (index % 8)
    return bytes(data)


def last_change() -> sa.DateTime | None:
    return db.session.scalar(sa.select(sa.func.max(Credential.status_changed_at)))


def encode(bitstring: bytes) -> str:
    # mtime=0: the same bits always give the same text (and ETag).
    return "u" + base64.urlsafe_b64encode(gzip.compress(bitstring, mtime=0)).rstrip(b"=").decode()


def decode(encoded: str) -> bytes:
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise ValueError("encodedList is not multibase base64url")
    text = encoded[1:]
    return gzip.decompress(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def bit(bitstring: bytes, index: int) -> bool:
    if not 0 <= index < len(bitstring) * 8:
        raise ValueError("status index outside the list")
    return bool(bitstring[index // 8] & (0x80 >> (index % 8)))
