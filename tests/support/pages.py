"""Every page of the portal, opened on the demo academy: the sweeps that check all of them
(the layout at two widths in tests/e2e, the pseudo-locale in tests/test_translations.py)
take their URLs from here.

The pages come from the app's URL map: every GET route (minus the non-HTML ones listed in
``NOT_HTML``), with its ids taken from the demo academy (``portal.seed``). A new page is
swept without being listed here; a page no visitor can open fails the sweeps until a
visitor (or an id) reaches it.
"""
from __future__ import annotations

import sqlalchemy as sa

from portal import jobs, seed
from portal.audit import integrity
from portal.classes import invitations
from portal.db import utcnow
from portal.extensions import db
from portal.models.achievement import Achievement
from portal.models.audit import AuditEvent
from portal.models.job import Job
from portal.models.klass import ClassInvitation, ClassMembership, InvitationState, Klass
from portal.models.license import License
from portal.models.user import Role, User
from portal.privacy import export
from portal.seed.accounts import LOGINS

# GET routes that answer something other than an HTML page, so have no layout to check.
NOT_HTML = {
    "static": "stylesheets, scripts and images",
    "public.healthz": "plain text for the load balancer",
    "public.portal_keys": "the signing keys as JSON",
    "public.verify_json": "a verification as JSON",
    "licenses.certificate": "the certificate PDF",
    "licenses.qr": "the QR code as SVG",
    "audit.export_csv": "the audit trail as CSV",
    "classes.roster_csv": "a class's roster as CSV",
    "transparency.checkpoint": "the log's signed checkpoint as plain text",
    "transparency.inclusion": "an inclusion proof as JSON",
    "transparency.consistency": "a consistency proof as JSON",
    "transparency.leaves": "the log's leaves as JSON",
    "account.export_download": "a data export as a ZIP",
    "credentials.license_json": "a license's credential as JSON-LD",
    "credentials.license_jwt": "a license's credential as a JWT",
    "credentials.public_json": "a license's credential as JSON-LD",
    "credentials.did_json": "the DID document as JSON",
    "credentials.status_list": "a status list credential as JSON-LD",
    "notifications.count": "the header's unread count, a fragment htmx swaps in",
}

def _first(role: str) -> str:
    return next(email for email, r, _note in LOGINS if r == role)


def demo_pages(app) -> dict:
    """Seed the demo academy in this test's database; the ids its pages are opened with,
    and a visitor of each kind."""
    with app.app_context():
        seed.demo()
        db.session.commit()
        admin = db.session.scalar(sa.select(User).where(User.email == _first(Role.ADMIN)))
        # A full audit check, finished, for its job page.
        check, _new = integrity.start_check(admin)
        db.session.commit()
        jobs.run(check.id)
        student = db.session.scalar(sa.select(User).where(User.email == _first(Role.STUDENT)))
        instructor = db.session.scalar(sa.select(User).where(User.email == _first(Role.INSTRUCTOR)))
        license = db.session.scalar(
            sa.select(License).where(License.holder_id == student.id, License.status == "active")
            .order_by(License.id))
        # The instructor's fullest class: the roster with the most to lay out.
        klass = db.session.scalar(
            sa.select(Klass).join(ClassMembership).where(Klass.instructor_id == instructor.id)
            .group_by(Klass.id).order_by(sa.func.count(ClassMembership.user_id).desc(), Klass.id))
        # A student of that class, a minor where there is one: the roster's consent page.
        member = db.session.scalar(
            sa.select(User).join(ClassMembership, ClassMembership.user_id == User.id)
            .where(ClassMembership.class_id == klass.id)
            .order_by(User.date_of_birth.desc().nulls_last(), User.id))
        bulk = db.session.scalar(sa.select(Job).where(Job.kind != integrity.JOB_KIND).order_by(Job.id))
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.resource_type == "license",
                                        AuditEvent.resource_id == str(license.id))
            .order_by(AuditEvent.id.desc()))
        ids = {
            "class_id": klass.id, "license_id": license.id, "user_id": student.id,
            "spec_id": license.specialization_id, "job_id": bulk.id, "event_id": event.id,
            "resource_type": "license", "resource_id": str(license.id), "code": license.code,
            "token": "not-a-real-token",
            "achievement_id": db.session.scalar(sa.select(sa.func.min(Achievement.id))),
        }
        export_job = db.session.scalar(sa.select(Job).where(
            Job.kind == export.JOB_KIND, Job.actor_id == student.id).order_by(Job.id.desc()))
        # The demo's waiting invitation (to an address without an account): its link shows
        # the form that creates the account; a logged-in visitor is told whose it is.
        waiting = next(i for i in db.session.scalars(sa.select(ClassInvitation).order_by(ClassInvitation.id))
                       if i.state(utcnow()) == InvitationState.SENT)
        return {"ids": ids, "integrity_job_id": check.id, "export_job_id": export_job.id,
                "class_member_id": member.id, "invitation_id": waiting.id,
                "student": student.email, "instructor": instructor.email, "admin": admin.email,
                "class_id": klass.id}


def page_urls(app, demo: dict, secret_key: str | None = None) -> dict[str, list[str]]:
    """Each GET route's URL with the demo's ids, by endpoint (a route per rule); signed links
    are signed with ``secret_key`` (the server's that opens them; by default ``app``'s)."""
    ids, integrity_job_id = demo["ids"], demo["integrity_job_id"]
    with app.app_context():
        invitation_token = invitations.token_for(
            db.session.get(ClassInvitation, demo["invitation_id"]), secret_key)
    urls: dict[str, list[tuple[int, str]]] = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint in NOT_HTML:
            continue
        values = dict(ids, job_id=integrity_job_id) if rule.endpoint == "audit.integrity_job" else ids
        if rule.endpoint == "account.export_status":  # the demo student's own export
            values = dict(ids, job_id=demo["export_job_id"])
        if rule.endpoint == "invitations.accept":
            values = dict(ids, token=invitation_token)
        if rule.endpoint in ("classes.consent", "classes.student"):  # a student of the class
            values = dict(ids, user_id=demo["class_member_id"])
        missing = set(rule.arguments) - set(values)
        assert not missing, f"no demo id for {missing} in {rule.rule}: add one to the demo fixture"
        _domain, url = rule.build({k: values[k] for k in rule.arguments}, append_unknown=False)
        urls.setdefault(rule.endpoint, []).append((len(rule.arguments), url))
    # A route's rules most specific first: the password reset link keeps its token in the
    # session and sends the browser on to the form, which then shows.
    return {endpoint: [url for _n, url in sorted(rules, reverse=True)] for endpoint, rules in urls.items()}


