"""A small academy with one of everything, and a logged-in client per kind of visitor.

Used by the access matrix, the CSRF and extra-field checks and the fuzzer. Built
through the real services (``build_world(prefix="", visitors=None)``); ids of the
objects fill the URL rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
import sqlalchemy as sa

from portal.achievements import services as achievement_services
from portal.auth import services as auth_services
from portal.auth import two_factor
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent
from portal.models.catalogue import Level, Requirement
from portal.models.job import Job
from portal.models.klass import ClassInvitation
from portal.models.notification import Notification
from portal.models.passkey import Passkey
from portal.models.user import Role, TrustedDevice, User, UserSession, UserStatus
from tests.support.authenticator import b64url
from tests.support.http import login

VISITORS = ["anonymous", "student", "other_student", "other_instructor", "instructor", "admin",
            "suspended", "revoked"]


@dataclass
class World:
    users: dict = field(default_factory=dict)
    ids: dict = field(default_factory=dict)
    clients: dict = field(default_factory=dict)

    def url_values(self) -> dict:
        return dict(self.ids)


def build(app, make_user, make_specialization, make_license, make_request, make_class, join,
          prefix: str = "", visitors: list[str] | None = None) -> World:
    w = World()
    u = w.users
    u["admin"] = make_user(Role.ADMIN, email=f"{prefix}admin.world@example.org")
    u["instructor"] = make_user(Role.INSTRUCTOR, email=f"{prefix}instructor.world@example.org")
    u["other_instructor"] = make_user(Role.INSTRUCTOR, email=f"{prefix}other.instructor@example.org")
    u["student"] = make_user(Role.STUDENT, email=f"{prefix}student.world@example.org")
    u["other_student"] = make_user(Role.STUDENT, email=f"{prefix}other.student@example.org")
    u["suspended"] = make_user(Role.STUDENT, email=f"{prefix}suspended.world@example.org")
    u["revoked"] = make_user(Role.STUDENT, email=f"{prefix}revoked.world@example.org")
    spec = make_specialization(max_level=3)
    license = make_license(u["student"], spec, actor=u["admin"])
    other_license = make_license(u["other_student"], spec, actor=u["admin"])
    request = make_request(license)
    klass = make_class(u["instructor"], spec)
    other_class = make_class(u["other_instructor"], spec)
    join(u["student"], klass)
    join(u["other_student"], other_class)
    # A second session of the student (a phone, say) that the student may revoke.
    phone = app.test_client()
    login(phone, u["student"])

    with app.app_context():
        level = db.session.scalar(
            sa.select(Level).where(Level.specialization_id == spec.id, Level.number == 2))
        requirement = db.session.scalar(sa.select(Requirement).where(Requirement.level_id == level.id))
        phone_session = db.session.scalar(
            sa.select(UserSession).where(UserSession.user_id == u["student"].id)
            .order_by(UserSession.id.desc())
        )
        # A browser the student chose to remember for two-factor sign-in.
        student = db.session.get(User, u["student"].id)
        two_factor.trust_device(student, ip="192.0.2.1", user_agent="Phone")
        device = db.session.scalar(sa.select(TrustedDevice).where(TrustedDevice.user_id == student.id))
        job = Job(kind="licenses.bulk", params={"class_id": klass.id}, actor_id=u["admin"].id,
                  status="finished")
        db.session.add(job)
        db.session.flush()
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.actor_id == u["student"].id).limit(1))
        achievement = achievement_services.create_achievement(
            {"title": "First license", "icon": "shield", "xp": 50, "trigger": "license", "count": 1},
            db.session.get(User, u["admin"].id))
        now = utcnow()
        invitation = ClassInvitation(class_id=klass.id, email=f"{prefix}invitee.world@example.org",
                                     nonce="0" * 32, invited_by_id=u["instructor"].id, sent_at=now,
                                     expires_at=now + timedelta(days=14))
        db.session.add(invitation)
        db.session.flush()
        notification = db.session.scalar(  # the student's: their license was issued by the admin
            sa.select(Notification).where(Notification.user_id == u["student"].id).limit(1))
        w.ids.update(
            license_id=license.id, other_license_id=other_license.id, request_id=request.id,
            class_id=klass.id, other_class_id=other_class.id, user_id=u["student"].id,
            spec_id=spec.id, level_id=level.id, req_id=requirement.id, job_id=job.id,
            event_id=event.id, session_id=phone_session.id, code=license.code, device_id=device.id,
            join_code=klass.join_code, spec_code=spec.code, achievement_id=achievement.id,
            invitation_id=invitation.id,
            notification_id=notification.id,
        )
        db.session.commit()
    for name in visitors or VISITORS:
        client = app.test_client()
        if name != "anonymous":
            login(client, u[name])
        w.clients[name] = client
    # The suspended user's account is suspended after they logged in; the revoked user's
    # session is ended from elsewhere (an admin): both clients still hold their cookies.
    with app.app_context():
        # The student's passkey (its key is never checked by the URL checks), added once the
        # visitors are logged in: a passkey is a second factor, asked for at the next login.
        passkey = Passkey(user_id=u["student"].id, credential_id=b64url(f"{prefix}world".encode()),
                          public_key=b"not-a-key", user_handle=b64url(b"world"), name="World passkey")
        db.session.add(passkey)
        db.session.flush()
        w.ids["passkey_id"] = passkey.id
        admin = db.session.get(User, u["admin"].id)
        suspended = db.session.get(User, u["suspended"].id)
        auth_services.set_status(suspended, UserStatus.SUSPENDED, admin, "Matrix test")
        revoked = db.session.get(User, u["revoked"].id)
        auth_services.end_all_sessions(revoked, admin, "Matrix test")
        db.session.commit()
    return w


@pytest.fixture
def build_world(app, make_user, make_specialization, make_license, make_request, make_class, join):
    """``build_world(prefix="", visitors=None)``: a new world in this test's database."""

    def make(prefix: str = "", visitors: list[str] | None = None) -> World:
        return build(app, make_user, make_specialization, make_license, make_request, make_class, join,
                     prefix=prefix, visitors=visitors)

    return make


def url_for_rule(rule, ids: dict) -> str:
    """The rule's URL with the world's objects in it."""
    values = {
        "license_id": ids["license_id"], "request_id": ids["request_id"], "class_id": ids["class_id"],
        "user_id": ids["user_id"], "spec_id": ids["spec_id"], "level_id": ids["level_id"],
        "req_id": ids["req_id"], "job_id": ids["job_id"], "event_id": ids["event_id"],
        "session_id": ids["session_id"], "achievement_id": ids["achievement_id"],
        "invitation_id": ids["invitation_id"],
        "device_id": ids["device_id"],
        "token": "not-a-real-token", "code": ids["code"],
        "notification_id": ids["notification_id"],
        "passkey_id": ids["passkey_id"],
        "resource_type": "license", "resource_id": str(ids["license_id"]), "filename": "css/portal.css",
        "purpose": "revocation",
    }
    path = rule.rule
    for arg in rule.arguments:
        if arg not in values:
            raise KeyError(f"no value for <{arg}> in {rule.rule}")
        path = path.replace(f"<{arg}>", str(values[arg]))
        for converter in ("int", "path", "string"):
            path = path.replace(f"<{converter}:{arg}>", str(values[arg]))
    return path


def method_for_rule(rule) -> str:
    return "GET" if "GET" in rule.methods else "POST"


def outcome(response) -> str:
    """allowed, login, 403, 404, or the odd status (which fails the matrix)."""
    status = response.status_code
    if status in (301, 302, 303) and "/auth/login" in response.headers.get("Location", ""):
        return "login"
    if status in (403, 404):
        return str(status)
    if status == 401:
        return "401"
    if status >= 500:
        return f"error {status}"
    return "allowed"
