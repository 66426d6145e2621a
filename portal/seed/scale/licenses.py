"""Scale licenses in every state, each with a valid hash-chained history and a signature,
with the class memberships, upgrade requests and requirement confirmations behind them."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from portal import signing
from portal.extensions import db
from portal.hashchain import GENESIS
from portal.licenses import chain as license_chain
from portal.licenses import codes, state
from portal.licenses.services import REVOKE_REASONS, add_months
from portal.models.catalogue import RequirementCompletion, Specialization
from portal.models.klass import ClassMembership
from portal.models.license import License, LicenseEvent, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import UserStatus
from portal.seed.scale.base import Builder, insert, move_sequence, unique
from portal.transparency import log as transparency_log


def licenses(b: Builder) -> None:
    rng, now, size = b.rng, b.now, b.size
    by_spec: dict[int, list] = {}
    for k in b.klasses:
        if k.archived_at is None:
            by_spec.setdefault(k.specialization_id, []).append(k)
    offered = [s for s in b.specs if s.id in by_spec]
    weights = [b.spec_weights[b.specs.index(s)] for s in offered]

    # Each student studies one specialization (in a class), some two; minors are kept out
    # of specializations with a higher minimum age.
    eligible = [s for s in b.students if s[3] != UserStatus.PENDING]
    holdings: list[tuple[int, Specialization]] = []
    memberships: list[dict] = []
    b.instructor_of: dict[tuple[int, int], int] = {}  # (student, spec) → instructor
    per_student: dict[int, set[int]] = {}

    def enrol(student, spec) -> None:
        sid, _, age, _ = student
        klass = rng.choice(by_spec[spec.id])
        memberships.append({"class_id": klass.id, "user_id": sid,
                            "joined_at": now - timedelta(days=rng.uniform(1, 300))})
        b.instructor_of[(sid, spec.id)] = klass.instructor_id
        per_student.setdefault(sid, set()).add(spec.id)

    for student in eligible:
        choices = [(s, w) for s, w in zip(offered, weights, strict=True) if s.min_age <= student[2]]
        if not choices:
            continue
        spec = rng.choices([c[0] for c in choices], weights=[c[1] for c in choices])[0]
        enrol(student, spec)
        holdings.append((student[0], spec))
    target = min(size.licenses, len(eligible) * len(offered))
    spins = 0
    while len(holdings) < target and spins < target * 5:
        spins += 1
        student = rng.choice(eligible)
        spec = rng.choice(offered)
        if spec.id in per_student.get(student[0], ()) or spec.min_age > student[2]:
            continue
        enrol(student, spec)
        holdings.append((student[0], spec))
    holdings = holdings[: size.licenses]
    insert(ClassMembership, unique(memberships, ("class_id", "user_id")))
    db.session.commit()
    b.counts["memberships"] = len(memberships)

    taken = set(db.session.scalars(sa.select(License.code)))
    # Ids are given here, so each history row can name its license before anything is
    # written and the license row goes in once, signed (the sequence is moved on after).
    next_id = (db.session.scalar(sa.select(sa.func.max(License.id))) or 0) + 1
    plans, events, completions, requests = [], [], [], []
    for license_id, (holder_id, spec) in enumerate(holdings, start=next_id):
        plan = _plan_license(b, holder_id, spec, taken)
        plans.append(plan)
        row = plan["row"]
        row["id"] = license_id
        prev = GENESIS
        for seq, ev in enumerate(plan["events"], start=1):
            ev.update(license_id=license_id, seq=seq, prev_hash=prev)
            ev["hash"] = prev = license_chain.compute_hash(SimpleNamespace(**ev))
            events.append(ev)
        row["head_hash"] = prev
        fields = {
            "code": row["code"], "holder": b.names[holder_id], "specialization": spec.code,
            "level": row["level"], "status": row["status"],
            "issued_at": state.iso_z(row["issued_at"]), "expires_at": state.iso_z(row["expires_at"]),
            "chain_head": prev,
        }
        assert tuple(fields) == state.FIELDS[state.CURRENT_VERSION]
        row["signature_version"] = state.CURRENT_VERSION
        row["key_id"], row["signature"] = signing.sign(signing.LICENSE_STATE, state.payload(fields))
        for req in plan["requests"]:
            req["license_id"] = license_id
            requests.append(req)
        completions.extend(plan["completions"])
    insert(License, [p["row"] for p in plans])
    move_sequence(License)
    insert(LicenseEvent, events)
    db.session.commit()
    # Every history row is a leaf of the transparency log, as the services would have made it.
    logged = transparency_log.backfill(db.session)
    db.session.commit()
    b.counts["transparency_leaves"] = logged
    b.licenses_by_holder: dict[int, list[int]] = {}
    for plan in plans:
        b.licenses_by_holder.setdefault(plan["row"]["holder_id"], []).append(plan["row"]["id"])
    b.license_ids = [p["row"]["id"] for p in plans]
    b.counts["licenses"] = len(plans)
    b.counts["license_events"] = len(events)
    b.echo(f"  {len(plans):,} licenses with {len(events):,} history rows, "
              f"{len(memberships):,} class memberships")

    # Pending requests for the next level, in the instructors' queues.
    candidates = [p for p in plans if p["row"]["status"] == LicenseStatus.ACTIVE
                  and p["row"]["level"] < p["spec"].max_level]
    rng.shuffle(candidates)
    pending = candidates[: size.pending]
    for plan in pending:
        row, spec = plan["row"], plan["spec"]
        to_level = row["level"] + 1
        requests.append({
            "user_id": row["holder_id"], "specialization_id": spec.id, "license_id": row["id"],
            "from_level": row["level"], "to_level": to_level,
            "reason": "Requirements done; ready for the next level.",
            "status": RequestStatus.PENDING,
            "created_at": now - timedelta(days=rng.uniform(0.1, 30)),
            "decided_at": None, "decided_by_id": None, "decision_note": None,
        })
        confirmer = b.instructor_of[(row["holder_id"], spec.id)]
        reqs = b.requirements.get((spec.id, to_level), [])
        for rid in reqs[: rng.randint(0, len(reqs))]:
            completions.append({"user_id": row["holder_id"], "requirement_id": rid,
                                "confirmed_by_id": confirmer,
                                "confirmed_at": now - timedelta(days=rng.uniform(1, 60))})
    # Some recent rejections of other licenses.
    for plan in candidates[size.pending : size.pending + size.pending // 5]:
        row, spec = plan["row"], plan["spec"]
        created = now - timedelta(days=rng.uniform(5, 200))
        requests.append({
            "user_id": row["holder_id"], "specialization_id": spec.id, "license_id": row["id"],
            "from_level": row["level"], "to_level": row["level"] + 1,
            "reason": "I would like to move up.", "status": RequestStatus.REJECTED,
            "created_at": created, "decided_at": created + timedelta(days=rng.uniform(0.5, 5)),
            "decided_by_id": b.instructor_of.get((row["holder_id"], spec.id), b.admins[0]),
            "decision_note": "Complete the remaining requirements first.",
        })
    # Admissions waiting for an admin (specializations that are not issued automatically).
    manual = [s for s in b.specs if not s.auto_issue]
    admissions = 0
    if manual:
        for sid, _, age, _status in b.rng.sample(eligible, min(len(eligible), size.pending // 10)):
            spec = rng.choice(manual)
            if spec.id in per_student.get(sid, ()) or spec.min_age > age:
                continue
            per_student.setdefault(sid, set()).add(spec.id)
            admissions += 1
            requests.append({
                "user_id": sid, "specialization_id": spec.id, "license_id": None,
                "from_level": 0, "to_level": 1, "reason": "I would like to join.",
                "status": RequestStatus.PENDING,
                "created_at": now - timedelta(days=rng.uniform(0.1, 20)),
                "decided_at": None, "decided_by_id": None, "decision_note": None,
            })
    insert(UpgradeRequest, requests)
    insert(RequirementCompletion, unique(completions, ("user_id", "requirement_id")))
    db.session.commit()
    b.counts["requests"] = len(requests)
    b.counts["pending_requests"] = len(pending) + admissions
    b.counts["completions"] = len(completions)
    b.echo(f"  {len(requests):,} upgrade requests ({len(pending) + admissions:,} pending), "
              f"{len(completions):,} requirement confirmations")


def _plan_license(b: Builder, holder_id: int, spec: Specialization, taken: set[str]) -> dict:
    rng, now = b.rng, b.now
    code = codes.generate(spec.code)
    while code in taken:
        code = codes.generate(spec.code)  # 60 random bits: practically never taken
    taken.add(code)
    # Levels skewed to the bottom: each next level is half as common.
    level = 1
    while level < spec.max_level and rng.random() < 0.45:
        level += 1
    roll = rng.random()
    status = (LicenseStatus.REVOKED if roll < 0.02 else LicenseStatus.SUSPENDED if roll < 0.05
              else LicenseStatus.EXPIRED if roll < 0.10 and spec.validity_months
              else LicenseStatus.ACTIVE)
    months = spec.validity_months
    if status == LicenseStatus.EXPIRED:
        issued = now - timedelta(days=months * 30.5 + rng.uniform(5, 300))
    elif months:
        issued = now - timedelta(days=rng.uniform(3, months * 30.4 - 3))
    else:
        issued = now - timedelta(days=rng.uniform(3, 700))
    expires = add_months(issued, months) if months else None
    instructor = b.instructor_of[(holder_id, spec.id)]
    admin = b.admins[0]
    events = [_event("issued", 1, LicenseStatus.ACTIVE, expires, instructor if spec.auto_issue else admin,
                     issued)]
    requests, completions = [], []
    end = min(now, expires) if expires else now
    at = issued
    for to_level in range(2, level + 1):
        at = at + (end - at) * rng.uniform(0.1, 0.5)
        created = at - timedelta(days=rng.uniform(0.2, 6))
        events.append(_event("upgraded", to_level, LicenseStatus.ACTIVE, expires, instructor, at,
                             note=None))
        requests.append({
            "user_id": holder_id, "specialization_id": spec.id, "from_level": to_level - 1,
            "to_level": to_level, "reason": "Requirements done; ready for the next level.",
            "status": RequestStatus.APPROVED, "created_at": max(issued, created), "decided_at": at,
            "decided_by_id": instructor, "decision_note": None,
        })
    for rid in b.requirements.get((spec.id, level), []):
        completions.append({"user_id": holder_id, "requirement_id": rid, "confirmed_by_id": instructor,
                            "confirmed_at": at - timedelta(days=1)})
    reason = note = None
    changed = None
    if status == LicenseStatus.SUSPENDED:
        note = "Medical certificate out of date; send a new one to reinstate."
        changed = at + (now - at) * rng.uniform(0.2, 0.9)
        events.append(_event("suspended", level, status, expires, admin, changed, note=note))
    elif status == LicenseStatus.REVOKED:
        reason = rng.choice(REVOKE_REASONS)[0]
        note = "Revoked after review by the academy board."
        changed = at + (now - at) * rng.uniform(0.2, 0.9)
        events.append(_event("revoked", level, status, expires, admin, changed, note=note, reason=reason))
    elif status == LicenseStatus.EXPIRED:
        changed = expires + timedelta(minutes=rng.uniform(1, 600))
        events.append(_event("expired", level, status, expires, None, changed))
    last = events[-1]["at"]
    row = {
        "code": code, "holder_id": holder_id, "specialization_id": spec.id, "level": level,
        "status": status, "status_reason": reason, "status_note": note, "status_changed_at": changed,
        "issued_at": issued, "expires_at": expires, "issued_by_id": events[0]["actor_id"],
        "updated_at": last, "version": len(events) + 1,
    }
    return {"row": row, "spec": spec, "events": events, "requests": requests,
            "completions": completions}


def _event(kind, level, status, expires, actor, at, note=None, reason=None) -> dict:
    return {"kind": kind, "level": level, "status": status, "expires_at": expires, "actor_id": actor,
            "at": at, "note": note, "reason": reason}
