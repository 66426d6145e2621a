"""Every column of every table, classified once: what export, erasure and retention do.

One entry per table (:class:`Table`), one per column (:func:`export`, :func:`erase`,
:func:`pseudonymise`, :func:`keep`). ``tests/privacy/test_classification.py`` walks the
database's metadata and fails on any column that is missing here, so a new column or table
cannot slip through unclassified. The README's "What Portal keeps, and for how long" table
is made from :data:`TABLES` (``flask --app wsgi privacy table``), and a test checks it.

- ``export``: the person's own data. In their export; emptied or deleted when erased.
- ``erase``: personal data that is not handed out (secrets, security counters); emptied
  or deleted when erased.
- ``pseudonymise``: replaced by the person's pseudonym (``erased-<id>``) when erased, so
  what refers to it still reads; in the export.
- ``keep``: not personal, or needed as it is (a chain's hash, a number other rows refer
  to); the one-line ``why`` says which. ``exported=True`` puts it in the export too.

A table's ``owner`` is the column naming the person a row belongs to (the export selects
by it) and ``document`` the export file its rows go into.
"""
from __future__ import annotations

from dataclasses import dataclass, field

EXPORT, ERASE, PSEUDONYMISE, KEEP = "export", "erase", "pseudonymise", "keep"


@dataclass(frozen=True)
class Column:
    kind: str
    why: str = ""
    exported: bool = False

    @property
    def in_export(self) -> bool:
        return self.exported or self.kind in (EXPORT, PSEUDONYMISE)


def export(why: str = "") -> Column:
    return Column(EXPORT, why)


def erase(why: str = "") -> Column:
    return Column(ERASE, why)


def pseudonymise(why: str = "") -> Column:
    return Column(PSEUDONYMISE, why)


def keep(why: str, exported: bool = False) -> Column:
    return Column(KEEP, why, exported)


@dataclass(frozen=True)
class Table:
    what: str  # one line for the README: what the table holds
    kept: str  # one line for the README: for how long
    columns: dict[str, Column] = field(default_factory=dict)
    owner: str | None = None
    document: str | None = None


_ID = keep("a row number other rows refer to", exported=True)
_WHEN = keep("when it happened", exported=True)


TABLES: dict[str, Table] = {
    "users": Table(
        "Accounts: name, e-mail, date of birth, role, language",
        "Until the account is erased; then only a pseudonym and the dates",
        owner="id", document="profile.json", columns={
            "id": _ID,
            "email": pseudonymise(),
            "name": pseudonymise(),
            "given_name": export(),
            "family_name": export(),
            "password_hash": erase("a secret: never handed out"),
            "role": keep("what the account could do, for the records", exported=True),
            "status": keep("archived at erasure, so it never logs in again", exported=True),
            "date_of_birth": export(),
            "totp_secret": erase("a secret: never handed out"),
            "totp_enabled_at": export(), "totp_last_step": erase("a replay counter"),
            "guardian_consent_at": export(),
            "guardian_consent_by_id": keep("the admin's account number, not the person's data"),
            "guardian_name": export(),
            "timezone": keep("a setting, not identifying", exported=True),
            "locale": keep("a setting, not identifying", exported=True),
            "password_changed_at": export(),
            "email_confirmed_at": export(),
            "pending_email": export(),
            "pending_email_requested_at": export(),
            "last_login_at": export(),
            "show_achievements": keep("a setting, not identifying", exported=True),
            "erased_at": keep("marks the erasure itself"),
            "created_at": _WHEN,
            "updated_at": _WHEN,
        }),
    "user_sessions": Table(
        "Logins: device (user agent), IP address, times",
        "Ended sessions 30 days; all of a person's at erasure",
        owner="user_id", document="sessions.json", columns={
            "id": _ID,
            "token_hash": erase("a secret: never handed out"),
            "user_id": keep("the owner's account number", exported=True),
            "created_at": export(), "last_seen_at": export(), "expires_at": export(),
            "remember": export(), "ip": export(), "user_agent": export(),
            "revoked_at": export(), "revoked_reason": export(),
        }),
    "recovery_codes": Table(
        "Two-factor recovery codes, hashed", "Until replaced, two-factor is turned off, or erasure",
        columns={
            "id": _ID, "user_id": erase(), "code_hash": erase("a secret: never handed out"),
            "created_at": erase(), "used_at": erase(),
        }),
    "trusted_devices": Table(
        "Devices remembered for the second step: browser, IP address, times",
        "Ended ones 30 days; all of a person's at erasure",
        owner="user_id", document="sessions.json", columns={
            "id": _ID, "token_hash": erase("a secret: never handed out"),
            "user_id": keep("the owner's account number", exported=True),
            "created_at": export(), "expires_at": export(), "last_used_at": export(),
            "ip": export(), "user_agent": export(), "revoked_at": export(),
        }),
    "passkeys": Table(
        "Passkeys: name, public key, when added and last used",
        "Until removed, reset by an admin, or erasure",
        owner="user_id", document="sessions.json", columns={
            "id": _ID, "user_id": keep("the owner's account number", exported=True),
            "credential_id": erase("names the key on the person's device"),
            "public_key": erase("checks the device's signatures"),
            "user_handle": erase("the account's random id on the device"),
            "sign_count": erase("a replay counter"),
            "transports": export(), "backed_up": export(), "aaguid": export(), "name": export(),
            "created_at": export(), "last_used_at": export(),
        }),
    "passkey_challenges": Table(
        "Passkey challenges waiting for an answer", "5 minutes",
        columns={
            "id": _ID, "challenge": erase("single-use, five minutes"), "purpose": erase(),
            "user_id": erase(), "expires_at": erase(),
        }),
    "login_throttles": Table(
        "Wrong-password counters per account and network",
        "Until stale (no lock and nothing for 30 days); all at erasure",
        columns={
            "user_id": erase(), "source": erase("a network address"), "failures": erase(),
            "locked_until": erase(), "lock_count": erase(), "last_failure_at": erase(),
            "last_success_at": erase(), "updated_at": erase(),
        }),
    "consent_records": Table(
        "Guardian consent and its evidence",
        "Until the account is erased",
        owner="user_id", document="profile.json", columns={
            "id": _ID, "user_id": keep("the student's account number", exported=True),
            "guardian_name": export(), "relationship": export(), "method": export(), "note": export(),
            "recorded_by_id": keep("the admin's account number"), "recorded_at": export(),
            "withdrawn_at": export(), "withdrawn_by_id": keep("the admin's account number"),
            "withdrawal_reason": export(),
        }),
    "licenses": Table(
        "Licenses: code, level, status, signature",
        "For good, revoked with holder_erased at erasure (the public page shows no name)",
        owner="holder_id", document="licenses.json", columns={
            "id": _ID, "code": keep("public: the certificate's code", exported=True),
            "holder_id": keep("the holder's account number"),
            "specialization_id": keep("the catalogue", exported=True),
            "level": keep("the license's state", exported=True),
            "status": keep("the license's state", exported=True),
            "status_reason": keep("a category, not free text", exported=True),
            "status_note": keep("staff's note about the license"),
            "status_changed_at": _WHEN, "issued_at": _WHEN, "expires_at": _WHEN,
            "issued_by_id": keep("the issuer's account number"), "updated_at": _WHEN,
            "head_hash": keep("the history chain's head", exported=True),
            "signature": keep("the signature, over the pseudonym once erased", exported=True),
            "key_id": keep("which public key checks the signature", exported=True),
            "signature_version": keep("how the signature was made", exported=True),
            "signed_specialization_name": keep("a catalogue name"),
            "version": keep("optimistic locking"),
            "consent_review_at": _WHEN,
        }),
    "license_events": Table(
        "Each license's hash-chained history",
        "For good (it names account numbers, not people)",
        owner="license_id", document="licenses.json", columns={
            "id": _ID, "license_id": keep("the license", exported=True),
            "seq": keep("hashed into the history chain", exported=True),
            "kind": keep("hashed into the history chain", exported=True),
            "level": keep("hashed into the history chain", exported=True),
            "status": keep("hashed into the history chain", exported=True),
            "expires_at": keep("hashed into the history chain", exported=True),
            "actor_id": keep("hashed into the history chain; an account number"),
            "at": keep("hashed into the history chain", exported=True),
            "note": keep("hashed into the history chain; staff's note about the license"),
            "reason": keep("hashed into the history chain; a category", exported=True),
            "prev_hash": keep("the chain", exported=True), "hash": keep("the chain", exported=True),
        }),
    "upgrade_requests": Table(
        "Requests for a level, with the student's reason and the decision",
        "For good; the reason and the decision's note are emptied at erasure",
        owner="user_id", document="requests.json", columns={
            "id": _ID, "user_id": keep("the student's account number"),
            "specialization_id": keep("the catalogue", exported=True),
            "license_id": keep("the license", exported=True),
            "from_level": keep("what was asked", exported=True),
            "to_level": keep("what was asked", exported=True),
            "reason": export(), "status": keep("the decision", exported=True),
            "created_at": _WHEN, "decided_at": _WHEN,
            "decided_by_id": keep("the decider's account number"),
            "decision_note": export(),
        }),
    "classes": Table(
        "Classes: name, instructor, join code", "Until an admin removes them", columns={
            "id": _ID, "name": keep("a class's name, not a person's"),
            "description": keep("about the class"), "specialization_id": keep("the catalogue"),
            "instructor_id": keep("the instructor's account number"),
            "join_code": keep("a code, not personal"), "archived_at": _WHEN, "created_at": _WHEN,
            "achievements_summary": keep("a class setting"),
        }),
    "class_memberships": Table(
        "Who is in which class", "While the student is in the class",
        owner="user_id", document="classes.json", columns={
            "id": _ID, "class_id": keep("the class", exported=True),
            "user_id": keep("the student's account number"), "joined_at": _WHEN,
        }),
    "class_invitations": Table(
        "Invitations to a class, by e-mail address and name",
        "Until the invited person is erased (then deleted)", columns={
            "id": _ID, "class_id": keep("the class"), "email": erase(), "name": erase(),
            "nonce": erase("a secret of the invitation link"),
            "invited_by_id": keep("the instructor's account number"), "created_at": _WHEN,
            "sent_at": _WHEN, "expires_at": _WHEN, "joined_at": _WHEN,
            "joined_user_id": keep("the account that joined; an account number"), "withdrawn_at": _WHEN,
        }),
    "replaced_join_codes": Table(
        "Join codes a class no longer uses", "For good (never reused)", columns={
            "code": keep("a code, not personal"), "class_id": keep("the class"), "replaced_at": _WHEN,
        }),
    "instructor_specializations": Table(
        "What each instructor may teach", "While they teach it", columns={
            "user_id": keep("the instructor's account number"),
            "specialization_id": keep("the catalogue"), "assigned_at": _WHEN,
            "assigned_by_id": keep("the admin's account number"),
        }),
    "requirement_completions": Table(
        "Requirements an instructor confirmed for a student", "For good (account numbers only)",
        owner="user_id", document="classes.json", columns={
            "id": _ID, "user_id": keep("the student's account number"),
            "requirement_id": keep("the catalogue", exported=True),
            "confirmed_by_id": keep("the instructor's account number"), "confirmed_at": _WHEN,
        }),
    "achievements": Table(
        "The catalogue: achievements", "For good (no personal data)", columns={
            name: keep("the catalogue") for name in (
                "id", "title", "description", "titles", "descriptions", "icon", "xp", "trigger", "count",
                "specialization_id", "archived_at", "created_at")}),
    "achievement_awards": Table(
        "Achievements each person earned", "For good (account numbers only)",
        owner="user_id", columns={
            "id": _ID, "user_id": keep("the person's account number"),
            "achievement_id": keep("the catalogue", exported=True), "earned_at": _WHEN,
        }),
    "dashboard_counts": Table(
        "The admin overview's figures: accounts, licenses and requests counted by kind",
        "For good (counts only, no one's data)", columns={
            name: keep("a count, or the cell it counts") for name in ("kind", "key_a", "key_b", "n")}),
    "certificate_verifications": Table(
        "Checks of a license by someone other than its holder",
        "For good; a keyed hash of the checker's network address, never the address", columns={
            "id": _ID, "license_id": keep("the license"),
            "checker": keep("a keyed hash of a visitor's network address, never the address"),
            "at": _WHEN,
        }),
    "transparency_leaves": Table(
        "The public log of license history: each row's public content, the holder's name only "
        "as a salted commitment", "For good; the salts of an erased holder's leaves are dropped",
        columns={
            "idx": keep("the leaf's place in the log"), "license_id": keep("the license"),
            "event_seq": keep("the history row"),
            "leaf": keep("public content; its name is a commitment the salt alone opens"),
            "holder_salt": erase("opens the name's commitment: dropped at erasure"),
            "created_at": _WHEN,
        }),
    "transparency_nodes": Table(
        "The public log's subtree hashes", "For good (no personal data)", columns={
            name: keep("hashes of the public log") for name in ("level", "idx", "hash")}),
    "transparency_checkpoints": Table(
        "The public log's signed checkpoints", "For good (no personal data)", columns={
            name: keep("signed checkpoints of the public log") for name in (
                "id", "origin", "size", "root", "note", "created_at")}),
    "credentials": Table(
        "Each license's Open Badges credentials: ids, dates, status bits", "For good (no personal data)",
        columns={
            name: keep("the credential's public status, made from the license") for name in (
                "id", "uuid", "license_id", "level", "valid_from", "valid_until", "status_index",
                "revoked_at", "suspended", "superseded_at", "status_changed_at")}),
    "notifications": Table(
        "Notifications: what happened to a person, read or not, and its e-mail",
        "Until the account is erased; others' that name the person read the pseudonym",
        owner="user_id", document="notifications.json", columns={
            "id": _ID, "user_id": keep("the recipient's account number", exported=True),
            "category": export(), "kind": export(), "data": export(), "created_at": export(),
            "read_at": export(), "mail": export(),
            "delivery_id": keep("the mail that carried it"),
            "dedupe_key": keep("makes each reminder once; names no one"),
        }),
    "notification_preferences": Table(
        "E-mail settings per category", "Until the account is erased",
        owner="user_id", document="notifications.json", columns={
            "user_id": keep("the person's account number", exported=True),
            "category": export(), "mode": export(), "updated_at": export(),
        }),
    "mail_deliveries": Table(
        "Notification mail to send or sent: state, attempts, last error",
        "Until the account is erased", columns={
            "id": _ID, "key": keep("the mail's idempotency key and Message-ID; names no one"),
            "user_id": erase(), "digest": erase(), "status": erase(), "attempts": erase(),
            "next_attempt_at": erase(), "claimed_at": erase(), "sent_at": erase(),
            "last_error": erase("the mail server's answer; may name the address"),
            "created_at": erase(),
        }),
    "specializations": Table(
        "The catalogue: specializations", "For good (no personal data)", columns={
            name: keep("the catalogue") for name in (
                "id", "code", "name", "description", "max_level", "min_age", "validity_months",
                "auto_issue", "archived_at", "created_at", "titles")}),
    "levels": Table(
        "The catalogue: levels", "For good (no personal data)", columns={
            name: keep("the catalogue") for name in (
                "id", "specialization_id", "number", "title", "description", "titles")}),
    "requirements": Table(
        "The catalogue: requirements", "For good (no personal data)", columns={
            name: keep("the catalogue") for name in ("id", "level_id", "position", "title", "description")}),
    "audit_events": Table(
        "The audit trail: who did what, when, from which IP address and browser",
        "Events for good; IP addresses and user agents 180 days (PORTAL_RETENTION_IP_DAYS); "
        "a person's label, details, IPs and agents until they are erased",
        columns={
            "id": _ID, "seq": keep("the chain"), "at": keep("hashed into the chain"),
            "actor_id": keep("hashed into the chain; an account number"),
            "actor_label": pseudonymise("outside the hash: emptied by erasure, the chain verifies"),
            "action": keep("hashed into the chain"), "resource_type": keep("hashed into the chain"),
            "resource_id": keep("hashed into the chain; a number"),
            "details": export("outside the hash: emptied by erasure"),
            "ip": export("outside the hash: emptied by erasure and after the retention period"),
            "user_agent": export("outside the hash: emptied by erasure and after the retention period"),
            "method": keep("hashed into the chain"), "path": keep("hashed into the chain"),
            "status": keep("hashed into the chain"), "outcome": keep("hashed into the chain"),
            "key_id": keep("which key made the digests"),
            "identity_digest": keep("an HMAC; unlinkable once the key is destroyed"),
            "network_digest": keep("an HMAC; unlinkable once the key is destroyed"),
            "prev_hash": keep("the chain"), "hash": keep("the chain"),
        }),
    "audit_keys": Table(
        "The keys that seal personal data in the audit trail",
        "A person's until they are erased (then destroyed)", columns={
            "id": keep("the key's number"), "user_id": keep("whose key; an account number"),
            "period": keep("the month of an anonymous key"),
            "secret": erase("destroyed at erasure: crypto-shredding"),
            "created_at": keep("when made"), "destroyed_at": keep("when destroyed"),
            "destroyed_reason": keep("why destroyed"),
        }),
    "jobs": Table(
        "Background jobs, data exports among them",
        "Exports 7 days (the file and its job's result); other jobs for good", columns={
            "id": _ID, "kind": keep("what the job does"), "params": erase("may name the person (exports)"),
            "actor_id": keep("who started it; an account number"), "status": keep("progress"),
            "total": keep("progress"), "done": keep("progress"), "succeeded": keep("progress"),
            "skipped": keep("progress"), "failed": keep("progress"),
            "result": erase("an export's file name"), "error": keep("a technical message"),
            "created_at": _WHEN, "started_at": _WHEN, "finished_at": _WHEN,
        }),
    "job_items": Table(
        "What a job did for each item", "For good; messages naming an erased person are emptied",
        columns={
            "id": _ID, "job_id": keep("the job"), "key": keep("an account or license number"),
            "outcome": keep("progress"), "message": erase("may name a person"), "at": _WHEN,
        }),
}


def unclassified(metadata) -> list[str]:
    """What is missing, one instruction per column or table."""
    problems = []
    for table in metadata.sorted_tables:
        entry = TABLES.get(table.name)
        if entry is None:
            problems.append(
                f"table {table.name!r}: add TABLES[{table.name!r}] = Table(what, kept, columns={{...}}) "
                f"to portal/privacy/classification.py, with an entry for each of its columns "
                f"({', '.join(c.name for c in table.columns)})")
            continue
        for column in table.columns:
            if column.name not in entry.columns:
                problems.append(
                    f"column {table.name}.{column.name}: add {column.name!r}: export() / erase() / "
                    f"pseudonymise() / keep(\"why\") to TABLES[{table.name!r}].columns in "
                    "portal/privacy/classification.py")
        for name in entry.columns:
            if name not in table.columns:
                problems.append(f"column {table.name}.{name} is classified but does not exist: remove it "
                                "from portal/privacy/classification.py")
    return problems


def exported_columns(table: str) -> list[str]:
    return [name for name, col in TABLES[table].columns.items() if col.in_export]


README_START = "<!-- privacy-table: generated by `flask --app wsgi privacy table`; do not edit -->"
README_END = "<!-- /privacy-table -->"


def readme_table() -> str:
    """The README's "What Portal keeps, and for how long" table, in Markdown."""
    lines = [README_START, "", "| Table | What it holds | Kept | Personal columns and what erasure does |",
             "|---|---|---|---|"]
    for name in sorted(TABLES):
        entry = TABLES[name]
        personal = [f"{col} ({c.kind})" for col, c in entry.columns.items() if c.kind != KEEP]
        lines.append(f"| `{name}` | {entry.what} | {entry.kept} | {', '.join(personal) or '—'} |")
    lines += ["", README_END]
    return "\n".join(lines)
