"""A new student: registers, confirms the address with the mailed link, starts a
specialization, joins a class, asks for level 2.

The JavaScript variant is done with the keyboard only (Tab, typing, Enter); the other
one clicks through plain forms with JavaScript disabled.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal.extensions import db
from portal.models.license import License, UpgradeRequest
from portal.models.user import User
from tests.support.journeys import JOURNEY_PASSWORD, keyboard_to
from tests.support.mail import link_in, wait_for_mail


@pytest.mark.parametrize("js", [True, False], ids=["keyboard-js", "nojs"])
def test_new_student_registers_selects_joins_and_requests_upgrade(
    portal, browse, app, make_user, make_specialization, make_class, js
):
    spec = make_specialization("PLY", "Player", max_level=3)
    coach = make_user("instructor", name="Carla Rivera")
    code = make_class(coach, spec, "Saturday squad").join_code

    tab = browse("student", js=js)
    page = tab.page
    keys = js  # the JavaScript variant uses only the keyboard

    def type_into(selector: str, text: str) -> None:
        if keys:
            keyboard_to(tab, selector)
            page.keyboard.type(text)
        else:
            page.fill(selector, text)

    def press(selector: str) -> None:
        """Activate a link or submit button; each one here leads to a new page."""
        if keys:
            keyboard_to(tab, selector)
        with page.expect_navigation():
            if keys:
                page.keyboard.press("Enter")
            else:
                page.click(selector)

    # Register.
    tab.goto("/")
    press("a[href='/auth/register'][role=button]")
    tab.wait_for_path("/auth/register")
    tab.check()
    type_into("#name", "Alex Moreno")
    type_into("#email", "alex@example.org")
    type_into("#password", JOURNEY_PASSWORD)
    type_into("#confirm_password", JOURNEY_PASSWORD)
    if keys:
        keyboard_to(tab, "#date_of_birth")
        page.keyboard.type("17052001")  # a date input takes the digits of its parts
    else:
        page.fill("#date_of_birth", "2001-05-17")
    submit = "form[action='/auth/register'] button[type=submit]"
    if keys:  # htmx puts the answer in place of the form: no new page
        keyboard_to(tab, submit)
        page.keyboard.press("Enter")
    else:
        with page.expect_navigation():
            page.click(submit)
    page.get_by_role("heading", name="Check your inbox").wait_for()
    tab.check()
    tab.shot("register-check-inbox")

    # Confirm the address with the link from the mail (the outbox: no mail server is set).
    [(_, text)] = wait_for_mail(portal.instance_path / "outbox", "alex@example.org")
    link = link_in(text, "/auth/verify-email/")
    assert link.startswith(portal.url)
    page.goto(link)
    tab.wait_for_path("/dashboard")
    tab.check()
    assert "Welcome, Alex Moreno" in page.inner_text("h1")
    tab.shot("student-dashboard-new")

    # Start the Player specialization: the level-1 license is issued at once.
    press("form.select-spec button[type=submit]")
    tab.check()
    with app.app_context():
        student = db.session.scalar(sa.select(User).where(User.email == "alex@example.org"))
        license = db.session.scalar(sa.select(License).where(License.holder_id == student.id))
        assert license is not None and license.level == 1 and license.status == "active"
        license_id = license.id

    # Join the class with the code the instructor gave (typed in lower case, without dashes).
    tab.goto("/dashboard")
    press("a[href='/dashboard/join']")
    tab.wait_for_path("/dashboard/join")
    tab.check()
    type_into("#join_code", code.replace("-", "").lower())
    press("#join-form button[type=submit]")
    tab.check()
    if tab.path != "/dashboard":
        tab.goto("/dashboard")
    assert "Saturday squad" in page.inner_text("#classes-heading + *")

    # Ask for level 2 from the license page.
    tab.goto(f"/licenses/{license_id}")
    tab.shot("license-page")
    tab.goto(f"/licenses/{license_id}/upgrade")
    type_into("#reason", "I played a full season and passed the fitness test.")
    press("#upgrade-form button[type=submit]")
    tab.wait_for_path(f"/licenses/{license_id}")
    tab.check()
    assert "sent for review" in page.inner_text("#flashes")

    with app.app_context():
        request = db.session.scalar(sa.select(UpgradeRequest).where(UpgradeRequest.user_id == student.id))
        assert request.status == "pending" and request.to_level == 2
    tab.goto("/dashboard")
    assert "Pending" in page.inner_text("main")
    tab.shot("student-dashboard")
