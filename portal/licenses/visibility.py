"""Who sees what of a license's status and history: the one place that decides.

Three readers:

- ``STAFF``: an admin, or an instructor who teaches the holder. They see everything,
  the notes staff type when they issue, approve, suspend, revoke, reinstate or renew
  included.
- ``HOLDER``: the student the license belongs to. They see the status, since when,
  the reason category of a revocation, and the history's kinds, levels, dates and who
  acted; never a staff note.
- ``PUBLIC``: anyone with the code (verification page and JSON, and the certificate,
  which the holder hands to others). They see the status, since when and the reason
  category of a revocation.

Every page, PDF and mail that shows a license's status or history builds what it shows
with :func:`status_for` and :func:`history_for`, so a new field is hidden until it is
given an audience in :data:`AUDIENCE`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask_babel import lazy_gettext

from portal.licenses import rules
from portal.licenses.services import CONSENT_WITHDRAWN, HOLDER_ERASED, REVOKE_REASON_LABELS
from portal.models.license import License, LicenseEvent, LicenseStatus, RequestStatus
from portal.models.user import Role, User

STAFF, HOLDER, PUBLIC = "staff", "holder", "public"

# Per field, the readers who see it. A field missing here is shown to nobody.
AUDIENCE: dict[str, frozenset[str]] = {
    # the license's current state
    "status": frozenset({STAFF, HOLDER, PUBLIC}),
    "changed_at": frozenset({STAFF, HOLDER, PUBLIC}),
    "reason": frozenset({STAFF, HOLDER, PUBLIC}),  # the revocation's category, never free text
    "note": frozenset({STAFF}),  # what staff typed: for staff only
    # one row of the history
    "kind": frozenset({STAFF, HOLDER}),
    "level": frozenset({STAFF, HOLDER}),
    "at": frozenset({STAFF, HOLDER}),
    "actor": frozenset({STAFF, HOLDER}),
    "hash": frozenset({STAFF, HOLDER}),
}


def sees(reader: str, name: str) -> bool:
    return reader in AUDIENCE.get(name, ())


def reader_of(user: User, license: License) -> str:
    """The kind of reader ``user`` is for ``license``: STAFF, HOLDER or PUBLIC."""
    role = getattr(user, "role", None)
    if role == Role.ADMIN:
        return STAFF
    if getattr(user, "id", None) == license.holder_id:
        return HOLDER
    # Only in the specialization they teach the holder: a student's other licenses are
    # none of the instructor's business.
    if role == Role.INSTRUCTOR and rules.teaches(user, license.holder_id, license.specialization_id):
        return STAFF
    return PUBLIC


# Why a license was suspended by the portal itself (not a revocation category).
SUSPENSION_REASON_LABELS = {CONSENT_WITHDRAWN: lazy_gettext("Guardian consent withdrawn"),
                            HOLDER_ERASED: lazy_gettext("Revoked at the holder's request")}


def reason_label(reason: str | None) -> str | None:
    """The revocation's category in the reader's language (the stored value stays English)."""
    if not reason:
        return None
    label = REVOKE_REASON_LABELS.get(reason) or SUSPENSION_REASON_LABELS.get(reason)
    return str(label) if label is not None else reason.replace("_", " ").capitalize()


# The words people read for the machine values of statuses and history kinds (the values
# themselves stay English in the database, the signed payload and the JSON).
LICENSE_STATUS_LABELS = {
    LicenseStatus.ACTIVE: lazy_gettext("Active"),
    LicenseStatus.SUSPENDED: lazy_gettext("Suspended"),
    LicenseStatus.REVOKED: lazy_gettext("Revoked"),
    LicenseStatus.EXPIRED: lazy_gettext("Expired"),
}
REQUEST_STATUS_LABELS = {
    RequestStatus.PENDING: lazy_gettext("Pending"),
    RequestStatus.APPROVED: lazy_gettext("Approved"),
    RequestStatus.REJECTED: lazy_gettext("Rejected"),
    RequestStatus.WITHDRAWN: lazy_gettext("Withdrawn"),
}
HISTORY_KIND_LABELS = {
    "issued": lazy_gettext("Issued"),
    "upgraded": lazy_gettext("Upgraded"),
    "suspended": lazy_gettext("Suspended"),
    "revoked": lazy_gettext("Revoked"),
    "reinstated": lazy_gettext("Reinstated"),
    "renewed": lazy_gettext("Renewed"),
    "expired": lazy_gettext("Expired"),
    "holder_renamed": lazy_gettext("Holder's name changed"),
    "level_set": lazy_gettext("Level corrected"),
}


def _word(labels: dict, value: str | None) -> str:
    if not value:
        return ""
    label = labels.get(value)
    return str(label) if label is not None else value.replace("_", " ").capitalize()


def status_label(status: str | None) -> str:
    """A license status as a word: "Active", "Suspended"..."""
    return _word(LICENSE_STATUS_LABELS, status)


def request_status_label(status: str | None) -> str:
    """An upgrade request's status as a word: "Pending", "Approved"..."""
    return _word(REQUEST_STATUS_LABELS, status)


def history_kind_label(kind: str | None) -> str:
    """What a history row records, as a word: "Issued", "Upgraded"..."""
    return _word(HISTORY_KIND_LABELS, kind)


@dataclass(frozen=True)
class StatusView:
    """A license's current state as one reader may see it (None: not for this reader)."""

    status: str | None
    changed_at: datetime | None
    reason: str | None
    reason_label: str | None
    note: str | None


@dataclass(frozen=True)
class HistoryEntry:
    """One history row as one reader may see it (None: not for this reader)."""

    kind: str | None
    level: int | None
    status: str | None
    at: datetime | None
    actor_name: str | None
    reason: str | None
    reason_label: str | None
    note: str | None
    hash: str | None


def _only(reader: str, name: str, value):
    return value if sees(reader, name) else None


def status_for(license: License, reader: str) -> StatusView:
    reason = _only(reader, "reason", license.status_reason)
    return StatusView(
        status=_only(reader, "status", license.status),
        changed_at=_only(reader, "changed_at", license.status_changed_at),
        reason=reason,
        reason_label=reason_label(reason),
        note=_only(reader, "note", license.status_note),
    )


def _actor_name(row) -> str | None:
    # A row of queries.history_of carries the name; a LicenseEvent has the actor.
    if hasattr(row, "actor_name"):
        return row.actor_name
    return row.actor.name if row.actor else None


def history_for(rows: list[LicenseEvent], reader: str) -> list[HistoryEntry]:
    """The rows (LicenseEvents with their actors, or queries.history_of rows) as ``reader``
    may see them, in the order given."""
    entries = []
    for row in rows:
        reason = _only(reader, "reason", row.reason)
        entries.append(
            HistoryEntry(
                kind=_only(reader, "kind", row.kind),
                level=_only(reader, "level", row.level),
                status=_only(reader, "status", row.status),
                at=_only(reader, "at", row.at),
                actor_name=_only(reader, "actor", _actor_name(row)),
                reason=reason,
                reason_label=reason_label(reason),
                note=_only(reader, "note", row.note),
                hash=_only(reader, "hash", row.hash),
            )
        )
    return entries
