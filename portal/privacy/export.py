"""A person's data export: a ZIP of JSON documents, their JSON Schemas, and certificates.

``POST /account/export`` queues a job (``portal.jobs``, kind ``privacy_export``). The job
writes each document as its own file in a staging folder (atomically), one job item per
document, so a job killed halfway resumes where it stopped; only when every part is there
is the ZIP written, to a temporary name, and renamed into place. A ZIP under its final name
is therefore always whole, and the download is offered only for a finished job whose file
exists and has not expired (7 days).

Each document's columns are the ones ``portal.privacy.classification`` puts in the export,
and its JSON Schema is made from the same columns, so a new column classified ``export``
appears in both. A new document (another feature's table) is one entry in
:data:`DOCUMENTS`: a name and a function returning (data, schema).
"""
from __future__ import annotations

import json
import os
import shutil
import zipfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from portal import jobs
from portal.audit import actions, describe
from portal.audit.services import record
from portal.credentials import issuing
from portal.db import utcnow
from portal.exceptions import PortalError
from portal.extensions import db
from portal.licenses import certificates
from portal.models.audit import AuditEvent
from portal.models.job import Job, JobStatus
from portal.models.license import License
from portal.models.privacy import AuditKey
from portal.models.user import User
from portal.privacy import classification

JOB_KIND = "privacy_export"
EXPIRES_AFTER = timedelta(days=7)
SCHEMA_DRAFT = "https://json-schema.org/draft/2020-12/schema"


class ExportError(PortalError):
    """No such export for this person, or it is not ready or has expired."""


# -- rows and schemas from the classification ---------------------------------------


def _value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_type(column: sa.Column) -> dict:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        out = {"type": "boolean"}
    elif isinstance(kind, sa.Integer):
        out = {"type": "integer"}
    elif isinstance(kind, sa.DateTime):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(kind, sa.Date):
        out = {"type": "string", "format": "date"}
    elif isinstance(kind, sa.JSON):
        out = {"type": ["object", "array"]}
    else:
        out = {"type": "string"}
    if column.nullable:
        types = out["type"] if isinstance(out["type"], list) else [out["type"]]
        out["type"] = [*types, "null"]
    return out


def row_schema(table: str, extra: dict | None = None) -> dict:
    columns = db.metadata.tables[table].columns
    names = classification.exported_columns(table)
    props = {name: _json_type(columns[name]) for name in names}
    props.update(extra or {})
    return {"type": "object", "properties": props, "required": sorted(props),
            "additionalProperties": False}


def rows(table: str, *where) -> list[dict]:
    t = db.metadata.tables[table]
    names = classification.exported_columns(table)
    stmt = sa.select(*[t.c[n] for n in names]).where(*where).order_by(*t.primary_key.columns)
    return [{n: _value(v) for n, v in zip(names, row, strict=True)} for row in db.session.execute(stmt)]


def _document(title: str, **parts: dict) -> dict:
    return {"$schema": SCHEMA_DRAFT, "title": title, "type": "object",
            "properties": parts, "required": sorted(parts), "additionalProperties": False}


def _list(item: dict) -> dict:
    return {"type": "array", "items": item}


# -- the documents ------------------------------------------------------------------


def profile(user: User) -> tuple[dict, dict]:
    t = db.metadata.tables
    data = {"account": rows("users", t["users"].c.id == user.id)[0],
            "guardian_consents": rows("consent_records", t["consent_records"].c.user_id == user.id)}
    return data, _document("profile.json", account=row_schema("users"),
                           guardian_consents=_list(row_schema("consent_records")))


def licenses(user: User) -> tuple[dict, dict]:
    t = db.metadata.tables
    items = rows("licenses", t["licenses"].c.holder_id == user.id)
    ids = [r["id"] for r in items]
    history: dict[int, list] = {}
    for event in rows("license_events", t["license_events"].c.license_id.in_(ids or [-1])):
        history.setdefault(event["license_id"], []).append(event)
    for item in items:
        item["history"] = history.get(item["id"], [])
    schema = row_schema("licenses", {"history": _list(row_schema("license_events"))})
    return {"licenses": items}, _document("licenses.json", licenses=_list(schema))


def requests(user: User) -> tuple[dict, dict]:
    t = db.metadata.tables["upgrade_requests"]
    return ({"requests": rows("upgrade_requests", t.c.user_id == user.id)},
            _document("requests.json", requests=_list(row_schema("upgrade_requests"))))


def classes(user: User) -> tuple[dict, dict]:
    t = db.metadata.tables
    members = rows("class_memberships", t["class_memberships"].c.user_id == user.id)
    names = dict(db.session.execute(sa.select(t["classes"].c.id, t["classes"].c.name)).all())
    for item in members:
        item["class_name"] = names.get(item["class_id"])
    done = rows("requirement_completions", t["requirement_completions"].c.user_id == user.id)
    return ({"memberships": members, "requirement_completions": done},
            _document("classes.json",
                      memberships=_list(row_schema("class_memberships",
                                                   {"class_name": {"type": ["string", "null"]}})),
                      requirement_completions=_list(row_schema("requirement_completions"))))


def sessions(user: User) -> tuple[dict, dict]:
    t = db.metadata.tables["user_sessions"]
    devices = db.metadata.tables["trusted_devices"]
    keys = db.metadata.tables["passkeys"]
    return ({"sessions": rows("user_sessions", t.c.user_id == user.id),
             "remembered_devices": rows("trusted_devices", devices.c.user_id == user.id),
             "passkeys": rows("passkeys", keys.c.user_id == user.id)},
            _document("sessions.json", sessions=_list(row_schema("user_sessions")),
                      remembered_devices=_list(row_schema("trusted_devices")),
                      passkeys=_list(row_schema("passkeys"))))


def notifications(user: User) -> tuple[dict, dict]:
    t = db.metadata.tables["notifications"]
    prefs = db.metadata.tables["notification_preferences"]
    return ({"notifications": rows("notifications", t.c.user_id == user.id),
             "email_settings": rows("notification_preferences", prefs.c.user_id == user.id)},
            _document("notifications.json", notifications=_list(row_schema("notifications")),
                      email_settings=_list(row_schema("notification_preferences"))))


_ACTIVITY_ITEM = {"type": "object", "additionalProperties": False,
                  "required": ["at", "action", "description", "outcome", "ip", "user_agent"],
                  "properties": {"at": {"type": "string", "format": "date-time"},
                                 "action": {"type": "string"}, "description": {"type": "string"},
                                 "outcome": {"type": "string"}, "ip": {"type": ["string", "null"]},
                                 "user_agent": {"type": ["string", "null"]}}}


def activity(user: User) -> tuple[dict, dict]:
    """The person's own audit events (sealed with their key, or done by them), in words."""
    keys = sa.select(AuditKey.id).where(AuditKey.user_id == user.id)
    stmt = (sa.select(AuditEvent).where(sa.or_(AuditEvent.key_id.in_(keys), AuditEvent.actor_id == user.id))
            .order_by(AuditEvent.seq))
    items = [{"at": event.at.isoformat(), "action": event.action,
              "description": describe.describe(event, user), "outcome": event.outcome,
              "ip": event.ip, "user_agent": event.user_agent}
             for event in db.session.scalars(stmt)]
    return {"events": items}, _document("activity.json", events=_list(_ACTIVITY_ITEM))


# One entry per document; another feature adds its own (e.g. notifications.json).
DOCUMENTS: dict[str, Callable[[User], tuple[dict, dict]]] = {
    "profile.json": profile,
    "licenses.json": licenses,
    "requests.json": requests,
    "classes.json": classes,
    "sessions.json": sessions,
    "notifications.json": notifications,
    "activity.json": activity,
}
CERTIFICATES = "certificates"
CREDENTIALS = "credentials"


# -- files --------------------------------------------------------------------------


def export_dir() -> Path:
    path = Path(current_app.config["EXPORT_DIR"])
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def zip_path(job_id: int) -> Path:
    return export_dir() / f"export-{job_id}.zip"


def _staging(job_id: int) -> Path:
    return export_dir() / f"export-{job_id}.parts"


def _write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _dump(value: dict) -> bytes:
    return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True).encode()


def run_export(job: Job, run) -> None:
    """The job: each document (and the certificates) a part, then the ZIP."""
    user = db.session.get(User, job.params["user_id"])
    if user is None or user.erased_at is not None:
        raise ExportError("The account no longer exists.")
    staging = _staging(job.id)
    staging.mkdir(parents=True, exist_ok=True)
    parts = [*DOCUMENTS, CERTIFICATES, CREDENTIALS]
    run.set_total(len(parts) + 1)

    def work(name: str) -> tuple[str, str]:
        person = db.session.get(User, job.params["user_id"])
        if name == CERTIFICATES:
            count = _certificates(person, staging / CERTIFICATES)
            return "done", f"{count} certificates"
        if name == CREDENTIALS:
            count = _credentials(person, staging / CREDENTIALS)
            return "done", f"{count} credentials"
        data, schema = DOCUMENTS[name](person)
        _write(staging / name, _dump(data))
        _write(staging / f"{name[:-5]}.schema.json", _dump(schema))
        return "done", ""

    run.each(parts, work)
    run.each(["zip"], lambda _key: _zip(job.id, staging))


def _certificates(user: User, folder: Path) -> int:
    folder.mkdir(exist_ok=True)
    count = 0
    for license in db.session.scalars(sa.select(License).where(License.holder_id == user.id)):
        try:
            data, _cached = certificates.pdf(license)
        except Exception:  # a certificate that cannot be made: the rest of the export is not lost
            continue
        _write(folder / f"{license.code}.pdf", data)
        count += 1
    return count


def _credentials(user: User, folder: Path) -> int:
    """Each license's Open Badges credential, signed, as the holder would download it."""
    folder.mkdir(exist_ok=True)
    count = 0
    for license in db.session.scalars(sa.select(License).where(License.holder_id == user.id)):
        _write(folder / f"{license.code}.json", _dump(issuing.credential_for(license)))
        count += 1
    return count


def _zip(job_id: int, staging: Path) -> tuple[str, str]:
    final = zip_path(job_id)
    tmp = final.with_name(final.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in DOCUMENTS:
            archive.write(staging / name, name)
            archive.write(staging / f"{name[:-5]}.schema.json", f"schema/{name[:-5]}.schema.json")
        for pdf in sorted((staging / CERTIFICATES).glob("*.pdf")):
            archive.write(pdf, f"certificates/{pdf.name}")
        for credential in sorted((staging / CREDENTIALS).glob("*.json")):
            archive.write(credential, f"credentials/{credential.name}")
    os.replace(tmp, final)
    shutil.rmtree(staging, ignore_errors=True)
    job = db.session.get(Job, job_id)
    job.result = {"file": final.name, "size": final.stat().st_size}
    return "done", final.name


# -- the person's exports -------------------------------------------------------------


def start(user: User, actor: User | None = None, reason: str | None = None) -> Job:
    """Queue an export of ``user``'s data, asked for by ``actor``: the person, or an admin
    taking a request received otherwise (a minor's guardian; ``reason`` says which). One at
    a time per asker and person: an unfinished one is returned. The caller commits, then
    ``jobs.dispatch(job.id)``. Raises ExportError for an erased account or an empty reason."""
    actor = actor or user
    if user.erased_at is not None:
        raise ExportError(_("This account's data is already erased."))
    on_behalf = actor.id != user.id
    reason = (reason or "").strip()
    if on_behalf and not reason:
        raise ExportError(_("Say which request this is."), "reason")
    running = db.session.scalar(sa.select(Job).where(
        Job.kind == JOB_KIND, Job.actor_id == actor.id,
        Job.status.in_((JobStatus.QUEUED, JobStatus.RUNNING))).order_by(Job.id.desc()).limit(1))
    if running is not None and running.params.get("user_id") == user.id:
        return running
    params = {"user_id": user.id, **({"reason": reason} if on_behalf else {})}
    job = jobs.enqueue(JOB_KIND, params, actor)
    record(actor, actions.PRIVACY_EXPORT_REQUESTED, job, user_id=user.id, reason=reason or None)
    return job


def owned(job_id: int, user: User) -> Job | None:
    """The export ``job_id`` if ``user`` asked for it, else None (answered as not found):
    the person's own, or one an admin took for a guardian (the admin hands it over)."""
    job = db.session.get(Job, job_id)
    if job is None or job.kind != JOB_KIND or job.actor_id != user.id:
        return None
    if job.params.get("user_id") != user.id and not user.is_admin:
        return None
    return job


def pending_for_admins(limit: int = 20) -> list[tuple[Job, User | None]]:
    """Exports admins took for someone else (a guardian's request) that are not handed
    over yet: still running, or ready and not downloaded, within their 7 days."""
    since = utcnow() - EXPIRES_AFTER
    candidates = db.session.scalars(sa.select(Job).where(
        Job.kind == JOB_KIND, Job.created_at >= since).order_by(Job.id.desc()).limit(200))
    out = []
    for job in candidates:
        subject = job.params.get("user_id")
        if not subject or subject == job.actor_id:
            continue
        downloaded = db.session.scalar(sa.select(AuditEvent.id).where(
            AuditEvent.action == actions.PRIVACY_EXPORT_DOWNLOADED, AuditEvent.resource_type == "job",
            AuditEvent.resource_id == str(job.id)).limit(1))
        if downloaded is None and job.status != JobStatus.FAILED:
            out.append((job, db.session.get(User, subject)))
        if len(out) >= limit:
            break
    return out


def expires_at(job: Job) -> datetime | None:
    return job.finished_at + EXPIRES_AFTER if job.finished_at else None


def expired(job: Job) -> bool:
    return job.finished_at is not None and utcnow() >= expires_at(job)


def ready_file(job: Job) -> Path | None:
    """The ZIP to hand out: the job finished, the file is whole and not expired."""
    if job.status != JobStatus.FINISHED or expired(job) or not job.result.get("file"):
        return None
    path = export_dir() / job.result["file"]
    return path if path.is_file() else None


def downloaded(user: User, job: Job) -> None:
    record(user, actions.PRIVACY_EXPORT_DOWNLOADED, job)


def recent(user: User, limit: int = 5) -> list[Job]:
    """The person's own recent exports (not those an admin took for others)."""
    mine = db.session.scalars(sa.select(Job).where(Job.kind == JOB_KIND, Job.actor_id == user.id)
                              .order_by(Job.id.desc()).limit(50))
    return [job for job in mine if job.params.get("user_id") == user.id][:limit]


def forget_exports(user_id: int) -> list[str]:
    """Every export file of ``user_id`` (to delete after the commit) and their staging."""
    ids = db.session.scalars(sa.select(Job.id).where(Job.kind == JOB_KIND, Job.actor_id == user_id))
    files = []
    for job_id in ids:
        files.append(str(zip_path(job_id)))
        files.append(str(zip_path(job_id)) + ".tmp")
        shutil.rmtree(_staging(job_id), ignore_errors=True)
    return files


def purge_expired(now: datetime) -> int:
    """Delete export files older than 7 days, and leftovers of jobs that are gone; the
    jobs stay, without their result. Returns how many files were removed."""
    count = 0
    old = db.session.scalars(sa.select(Job).where(
        Job.kind == JOB_KIND, Job.finished_at.is_not(None), Job.finished_at <= now - EXPIRES_AFTER))
    for job in old:
        for path in (zip_path(job.id), _staging(job.id)):
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
                count += 1
            elif path.exists():
                path.unlink()
                count += 1
        if job.result:
            job.result = {}
    return count
