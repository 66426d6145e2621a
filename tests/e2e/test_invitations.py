"""An instructor invites two people to a class: an existing student joins from the mailed
link after logging in; a new address creates its account from the link and joins."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models import ClassMembership, User
from tests.support.journeys import JOURNEY_PASSWORD, log_in
from tests.support.mail import link_in, wait_for_mail

SUBJECT = "You are invited to a class"


def _invite(tab, class_id: int, emails: str) -> None:
    page = tab.page
    tab.goto(f"/dashboard/classes/{class_id}")
    with page.expect_navigation():
        page.get_by_role("button", name="Invite students").click()
    tab.check()
    page.fill("#emails", emails)
    with page.expect_navigation():
        page.get_by_role("button", name="Check the list").click()
    tab.check()
    assert "will get an invitation" in page.inner_text("#invite-preview")
    tab.shot("invite-preview")
    with page.expect_navigation():
        page.get_by_role("button", name=re.compile(r"Send \d+ invitation")).click()
    tab.check()
    assert "on its way" in page.inner_text("main") or "on their way" in page.inner_text("main")


def _members(app, class_id: int) -> set[int]:
    with app.app_context():
        return set(db.session.scalars(
            sa.select(ClassMembership.user_id).where(ClassMembership.class_id == class_id)))


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_existing_student_joins_from_the_invitation(portal, browse, app, make_user, make_specialization,
                                                    make_class, js):
    spec = make_specialization("PLY", "Player", max_level=3)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    student = make_user("student", name="Alex Moreno", email="alex@example.org", password=JOURNEY_PASSWORD)
    klass = make_class(coach, spec, "Saturday squad")
    teacher = browse("instructor", js=js)
    log_in(teacher, "carla@example.org")
    _invite(teacher, klass.id, "alex@example.org")
    assert "alex@example.org" in teacher.page.inner_text("#invitation-list")

    [(_, text)] = wait_for_mail(portal.instance_path / "outbox", "alex@example.org", subject=SUBJECT)
    link = link_in(text, "/dashboard/join/")
    tab = browse("student", js=js)
    tab.page.goto(link)  # not logged in: the login page, then back to the link
    tab.wait_for_path("/auth/login")
    tab.check()
    tab.page.fill("#email", "alex@example.org")
    tab.page.fill("#password", JOURNEY_PASSWORD)
    with tab.page.expect_navigation(url=re.compile(r"/dashboard")):
        tab.page.locator("main form button[type=submit]").click()
    tab.wait_for_path("/dashboard")
    tab.check()
    assert "Welcome to Saturday squad" in tab.page.inner_text("body")
    assert student.id in _members(app, klass.id)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_new_address_registers_from_the_invitation(portal, browse, app, make_user, make_specialization,
                                                   make_class, js):
    spec = make_specialization("PLY", "Player", max_level=3)
    coach = make_user("instructor", name="Carla Rivera", email="carla@example.org", password=JOURNEY_PASSWORD)
    klass = make_class(coach, spec, "Saturday squad")
    teacher = browse("instructor", js=js)
    log_in(teacher, "carla@example.org")
    _invite(teacher, klass.id, "nia@example.org")

    [(_, text)] = wait_for_mail(portal.instance_path / "outbox", "nia@example.org", subject=SUBJECT)
    tab = browse("newcomer", js=js)
    tab.page.goto(link_in(text, "/dashboard/join/"))
    tab.check()
    assert "nia@example.org" in tab.page.inner_text("#invitation")
    tab.shot("invitation-register")
    tab.page.fill("#name", "Nia Newcomer")
    tab.page.fill("#password", JOURNEY_PASSWORD)
    tab.page.fill("#confirm_password", JOURNEY_PASSWORD)
    tab.page.fill("#date_of_birth", "2000-01-02")
    with tab.page.expect_navigation(url=re.compile(r"/dashboard")):
        tab.page.get_by_role("button", name="Create my account and join").click()
    tab.check()
    assert "Welcome to Saturday squad" in tab.page.inner_text("body")
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == "nia@example.org"))
        assert user.email_confirmed
    assert user.id in _members(app, klass.id)
    # The instructor's list says the invitation was used.
    teacher.goto(f"/dashboard/classes/{klass.id}")
    assert "Joined" in teacher.page.inner_text("#invitation-list")
