"""A year of scale audit events: skewed actors (a few busy accounts, many quiet ones),
actions and times (weekdays, daytime), sealed onto the audit chain in order."""
from __future__ import annotations

import random
from bisect import bisect_right
from datetime import datetime, timedelta

from portal.audit import actions
from portal.extensions import db
from portal.models.audit import Outcome
from portal.models.user import UserStatus
from portal.seed.audit_events import insert_chained
from portal.seed.scale.base import BATCH, BROWSERS, FIRST, Builder, zipf_cum


def audit(b: Builder) -> None:
    rng, now, n = b.rng, b.now, b.size.audit_events
    if n <= 0:
        return
    start = now - timedelta(days=365)
    times = _times(rng, start, now, n)
    students = [s[0] for s in b.students if s[3] != UserStatus.PENDING]
    rng.shuffle(students)
    instructors = list(b.instructors)
    rng.shuffle(instructors)
    groups = [  # (share, actors, cumulative weights, action mix)
        (0.72, students, zipf_cum(len(students), 0.9), _STUDENT_MIX),
        (0.14, instructors, zipf_cum(len(instructors), 0.7), _INSTRUCTOR_MIX),
        (0.07, b.admins, zipf_cum(len(b.admins), 1.0), _ADMIN_MIX),
        (0.07, [None], [1.0], _ANONYMOUS_MIX),
    ]
    group_cum = []
    total = 0.0
    for share, *_ in groups:
        total += share
        group_cum.append(total)
    mixes = [([a for a, *_ in mix], _cum([w for *_, w in mix])) for *_, mix in groups]
    spec_codes = [s.code for s in b.specs]
    class_ids = [k.id for k in b.klasses]
    attackers = [f"203.0.113.{rng.randrange(1, 255)}" for _ in range(12)]

    def rows():
        for at in times:
            g = _pick(group_cum, rng.random() * total)
            _, actors, cum, _ = groups[g]
            actor = actors[_pick(cum, rng.random() * cum[-1])]
            names, action_cum = mixes[g]
            action = names[_pick(action_cum, rng.random() * action_cum[-1])]
            yield _event_values(b, action, actor, at, spec_codes, class_ids, attackers)

    def on_batch(written: int) -> None:
        if written % 100_000 == 0:
            db.session.commit()
            b.echo(f"  … {written:,} audit events")

    written = insert_chained(db.session, rows(), batch=BATCH * 2, on_batch=on_batch)
    db.session.commit()
    b.counts["audit_events"] = written
    b.echo(f"  {written:,} audit events over the past year")


def _event_values(b: Builder, action, actor, at, spec_codes, class_ids, attackers) -> dict:
    rng = b.rng
    ip = (f"198.51.{(actor >> 8) & 255}.{actor & 255}" if actor else rng.choice(attackers))
    if actor and rng.random() < 0.15:  # on the move: a phone network
        ip = f"100.{64 + rng.randrange(64)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
    outcome, status, method = Outcome.SUCCESS, 200, "POST"
    resource_type = resource_id = None
    details: dict = {}
    label = b.emails.get(actor) if actor else None
    path = "/"
    if action in (actions.LOGIN, actions.LOGOUT, actions.PASSWORD_CHANGED):
        resource_type, resource_id, status = "user", actor, 303
        path = {"auth.login": "/auth/login", "auth.logout": "/auth/logout"}.get(
            action, "/auth/change-password")
    elif action == actions.LOGIN_FAILED:
        outcome, status, path = Outcome.FAILURE, 422, "/auth/login"
        if actor:
            resource_type, resource_id = "user", actor
            details = {"reason": "wrong_password"}
        else:
            label = f"{rng.choice(FIRST).lower()}.{rng.randrange(100)}@example.org"
            details = {"reason": "unknown_email", "email": label}
    elif action == actions.ACCESS_DENIED:
        outcome, status, method = Outcome.DENIED, rng.choice((403, 404)), "GET"
        path = rng.choice(("/admin/", "/audit/", "/admin/users", f"/licenses/{rng.randrange(1, 10**5)}"))
        details = {"http_status": status, "reason": "forbidden" if status == 403 else "not_yours"}
    elif action.startswith("license."):
        owned = b.licenses_by_holder.get(actor) if actor else None
        pool = owned or b.license_ids or [0]
        license_id = rng.choice(pool)
        resource_type, resource_id = "license", license_id
        method = "GET" if action == actions.LICENSE_CERTIFICATE_DOWNLOADED else "POST"
        path = (f"/licenses/{license_id}/certificate.pdf" if method == "GET"
                else f"/licenses/{license_id}")
        status = 200 if method == "GET" else 303
        details = {"specialization": rng.choice(spec_codes)}
        if action != actions.LICENSE_CERTIFICATE_DOWNLOADED:
            details["level"] = rng.randint(1, 4)
    elif action in (actions.CLASS_JOINED, actions.CLASS_LEFT, actions.CLASS_CREATED,
                    actions.CLASS_CODE_ROTATED):
        class_id = rng.choice(class_ids) if class_ids else 0
        resource_type, resource_id, status = "class", class_id, 303
        path = "/dashboard/join" if action == actions.CLASS_JOINED else f"/dashboard/classes/{class_id}"
    elif action in (actions.REQUIREMENT_CONFIRMED, actions.REQUIREMENT_UNCONFIRMED):
        student = rng.choice(b.students)[0]
        resource_type, resource_id, status = "user", student, 303
        class_id = rng.choice(class_ids) if class_ids else 0
        path = f"/dashboard/classes/{class_id}/students/{student}/requirements"
        details = {"requirement_id": rng.randrange(1, 60)}
    elif action.startswith("user."):
        target = rng.choice(b.students)[0]
        resource_type, resource_id, status = "user", target, 303
        path = f"/admin/users/{target}"
        details = {"fields": ["name"]} if action == actions.USER_UPDATED else {}
    elif action == actions.AUDIT_EXPORTED:
        method, path, details = "GET", "/audit/export.csv", {"filters": {"action": "auth.login_failed"}}
    elif action == actions.JOB_STARTED:
        resource_type, resource_id, path = "job", rng.randrange(1, 500), "/admin/licenses/bulk"
    return {
        "at": at, "actor_id": actor, "actor_label": label, "action": action,
        "resource_type": resource_type, "resource_id": None if resource_id is None else str(resource_id),
        "details": details, "ip": ip, "user_agent": BROWSERS[(actor or rng.randrange(5)) % len(BROWSERS)],
        "method": method, "path": path, "status": status, "outcome": outcome,
    }


# Action mixes: (action, weight).
_STUDENT_MIX = [
    (actions.LOGIN, 40), (actions.LOGOUT, 18), (actions.LOGIN_FAILED, 6),
    (actions.LICENSE_CERTIFICATE_DOWNLOADED, 14), (actions.LICENSE_UPGRADE_REQUESTED, 5),
    (actions.LICENSE_UPGRADE_WITHDRAWN, 1), (actions.CLASS_JOINED, 3), (actions.CLASS_LEFT, 0.5),
    (actions.PASSWORD_CHANGED, 1), (actions.ACCESS_DENIED, 2),
]
_INSTRUCTOR_MIX = [
    (actions.LOGIN, 25), (actions.LOGOUT, 10), (actions.REQUIREMENT_CONFIRMED, 35),
    (actions.REQUIREMENT_UNCONFIRMED, 2), (actions.LICENSE_UPGRADE_APPROVED, 15),
    (actions.LICENSE_UPGRADE_REJECTED, 3), (actions.LICENSE_ISSUED, 4), (actions.CLASS_CREATED, 0.5),
    (actions.CLASS_CODE_ROTATED, 0.5), (actions.LOGIN_FAILED, 1),
]
_ADMIN_MIX = [
    (actions.LOGIN, 15), (actions.LICENSE_ISSUED, 20), (actions.USER_UPDATED, 12),
    (actions.USER_STATUS_CHANGED, 3), (actions.USER_CREATED, 6), (actions.LICENSE_SUSPENDED, 3),
    (actions.LICENSE_REVOKED, 1), (actions.LICENSE_REINSTATED, 1), (actions.LICENSE_RENEWED, 4),
    (actions.LICENSE_UPGRADE_APPROVED, 10), (actions.AUDIT_EXPORTED, 1), (actions.JOB_STARTED, 1),
    (actions.USER_CONSENT_RECORDED, 2), (actions.LOGOUT, 5),
]
_ANONYMOUS_MIX = [(actions.LOGIN_FAILED, 85), (actions.ACCESS_DENIED, 15)]


def _cum(weights) -> list[float]:
    total, out = 0.0, []
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(cum: list[float], x: float) -> int:
    return min(bisect_right(cum, x), len(cum) - 1)


# Busier on weekdays and in the daytime (UTC).
_HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 9, 10, 10, 9, 8, 9, 10, 10, 11, 12, 12, 10, 8, 5, 3, 2]
_DAY_WEIGHTS = [10, 10, 10, 10, 9, 5, 4]  # Monday .. Sunday


def _times(rng: random.Random, start: datetime, end: datetime, n: int) -> list[datetime]:
    """``n`` sorted times between ``start`` and ``end``, weighted by weekday and hour."""
    first = start.replace(hour=0, minute=0, second=0, microsecond=0)
    days = (end - first).days + 1
    slots = [(d, h) for d in range(days) for h in range(24)]
    weights = [_DAY_WEIGHTS[(first + timedelta(days=d)).weekday()] * _HOUR_WEIGHTS[h] for d, h in slots]
    picks = rng.choices(range(len(slots)), weights=weights, k=n)
    offsets = sorted(p * 3600 + rng.random() * 3600 for p in picks)
    out = []
    for offset in offsets:
        at = first + timedelta(seconds=offset)
        out.append(min(max(at, start), end))
    return out
