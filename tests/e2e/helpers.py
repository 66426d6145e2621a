"""Steps the journeys share: logging in through the form, preconditions made with the services."""
from __future__ import annotations

from portal.extensions import db
from portal.models.catalogue import Specialization
from portal.models.user import User

JOURNEY_PASSWORD = "a long journey password"


def log_in(tab, email: str, password: str = JOURNEY_PASSWORD) -> None:
    tab.goto("/auth/login")
    page = tab.page
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name="Log in").click()
    tab.wait_for_path("/dashboard")
    tab.check()


def make_class(app, instructor, spec, name: str = "Saturday squad") -> tuple[int, str]:
    """A class of ``instructor`` in ``spec`` made by the real service; returns (id, join code)."""
    from portal.dashboard import services

    with app.app_context():
        teacher = db.session.get(User, instructor.id)
        klass = services.create_class(
            teacher, name, db.session.get(Specialization, spec.id), actor=teacher
        )
        db.session.commit()
        return klass.id, klass.join_code


def join(app, student, code: str) -> None:
    from portal.dashboard import services

    with app.app_context():
        user = db.session.get(User, student.id)
        services.join_class(user, code, actor=user)
        db.session.commit()


def keyboard_to(tab, selector: str, limit: int = 80) -> None:
    """Press Tab until the element matching ``selector`` has the focus (keyboard only)."""
    page = tab.page
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{selector} cannot be reached with the Tab key on {page.url}")
