"""Audit events in words: every action has a sentence; real events read as people speak."""
from __future__ import annotations

import html
import re

import sqlalchemy as sa

from portal.audit import actions
from portal.audit.describe import SENTENCES, describe, fallback, job_title
from portal.extensions import db
from portal.licenses import reviews, services
from portal.models.audit import AuditEvent
from portal.models.catalogue import Specialization
from portal.models.job import Job
from portal.models.user import Role, User
from tests.support.http import login

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"


def test_every_action_constant_has_a_sentence():
    missing = [name for name in actions.all_actions() if name not in SENTENCES]
    assert missing == [], f"add a sentence to portal/audit/describe.py for {missing}"
    unknown = sorted(set(SENTENCES) - set(actions.all_actions()))
    assert unknown == []


def test_every_sentence_copes_with_an_event_without_details(app):
    with app.app_context():
        for action in actions.all_actions():
            text = describe(AuditEvent(action=action, details={}, resource_type="user",
                                       resource_id="999999"), None)
            assert text and action not in text and "{" not in text, (action, text)


def test_a_license_no_longer_known_reads_as_a_license(app):
    event = AuditEvent(action=actions.LICENSE_CERTIFICATE_DOWNLOADED, details={},
                       resource_type="license", resource_id="999999")
    with app.app_context():
        assert describe(event, None) == "Portal downloaded the certificate of a license"


def test_an_unknown_action_falls_back_to_words(app):
    event = AuditEvent(action="widget.polished", details={})
    assert fallback(event) == "Recorded: widget polished"
    with app.app_context():
        assert describe(event, None) == "Recorded: widget polished"


def _events(app, user_id, action):
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.actor_id == user_id, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        ).all()
        user = db.session.get(User, user_id)
        return [describe(e, user) for e in rows], [describe(e, None) for e in rows]


def test_login_names_browser_and_system(app, client, make_user):
    student = make_user(Role.STUDENT)
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX_LINUX
    login(client, student)
    mine, staff = _events(app, student.id, actions.LOGIN)
    assert mine == ["You logged in from Firefox 128 on Linux"]
    assert staff == [f"{student.email} logged in from Firefox 128 on Linux"]


def test_upgrade_request_names_specialization_and_level(app, make_user, make_specialization,
                                                        make_license, make_request):
    student = make_user(Role.STUDENT)
    spec = make_specialization(name="Player")
    lic = make_license(student, spec, 1)
    make_request(lic)
    mine, _ = _events(app, student.id, actions.LICENSE_UPGRADE_REQUESTED)
    assert mine == ["You asked for Player level 2"]


def test_start_request_and_decisions(app, make_user, make_specialization, make_license):
    student = make_user(Role.STUDENT)
    admin = make_user(Role.ADMIN, name="Ada Admin")
    spec = make_specialization(name="Referee", auto_issue=False)
    with app.app_context():
        s = db.session.get(User, student.id)
        selection = services.select_specialization(s, db.session.get(Specialization, spec.id), s)
        db.session.commit()
        reviews.reject_request(selection.request, db.session.get(User, admin.id), "Not yet")
        db.session.commit()
    mine, _ = _events(app, student.id, actions.LICENSE_UPGRADE_REQUESTED)
    assert mine == ["You asked to start Referee at level 1"]
    by_admin, _ = _events(app, admin.id, actions.LICENSE_UPGRADE_REJECTED)
    assert by_admin == ["You rejected the request for Referee level 1"]


def test_bulk_job_title():
    job = Job(kind="licenses.bulk", params={"class_name": "Saturday squad", "action": "issue"})
    assert job_title(job) == "Bulk issue: Saturday squad"
    job.params = {"class_name": "Saturday squad", "action": "upgrade"}
    assert job_title(job) == "Bulk upgrade: Saturday squad"
    assert job_title(Job(kind="audit_verify", params={})) == "Full audit check"


def _texts(page: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", page))


def test_dashboard_and_my_activity_show_sentences_not_action_names(app, client, make_user,
                                                                   make_specialization,
                                                                   make_license, make_request):
    student = make_user(Role.STUDENT)
    spec = make_specialization(name="Player")
    lic = make_license(student, spec, 1)
    make_request(lic)
    client.environ_base["HTTP_USER_AGENT"] = FIREFOX_LINUX
    login(client, student)
    for url in ("/dashboard", "/audit/mine"):
        page = _texts(client.get(url).get_data(as_text=True))
        assert "You logged in from Firefox 128 on Linux" in page, url
        assert "You asked for Player level 2" in page, url
        assert "auth.login" not in page and "license.upgrade_requested" not in page, url


def test_issue_and_lockout_read_naturally(app, make_user, make_specialization, make_license):
    student = make_user(Role.STUDENT, name="Sam Lee")
    admin = make_user(Role.ADMIN)
    spec = make_specialization(name="Player")
    make_license(student, spec, 1, actor=student)
    make_license(student, make_specialization(name="Coach"), 1, actor=admin)
    mine, _ = _events(app, student.id, actions.LICENSE_ISSUED)
    assert mine == ["Your Player level 1 license was issued"]
    by_admin, _ = _events(app, admin.id, actions.LICENSE_ISSUED)
    assert by_admin == ["You issued Sam Lee's Coach level 1 license"]
    with app.app_context():
        event = AuditEvent(action=actions.LOCKOUT, resource_type="user", resource_id=str(student.id),
                           details={"failures": 5, "minutes": 15})
        assert describe(event, None) == (
            "The account of Sam Lee was locked for 15 minutes after 5 failed logins")
        assert describe(event, db.session.get(User, student.id)) == (
            "Your account was locked for 15 minutes after 5 failed logins")
