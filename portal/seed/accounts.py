"""Demo accounts: an admin, two instructors and a handful of students."""
from __future__ import annotations

from datetime import date, timedelta

from portal.audit import actions
from portal.auth import services
from portal.models.user import Role

# (e-mail, role, note): printed by `seed demo` and shown in the README.
LOGINS = [
    ("admin@demo.academy", Role.ADMIN, "Ada Admin"),
    ("coach.rivera@demo.academy", Role.INSTRUCTOR, "Instructor teaching Player"),
    ("coach.okafor@demo.academy", Role.INSTRUCTOR, "Instructor teaching Coach and Internship"),
    ("maya@demo.academy", Role.STUDENT, "Student, several licenses"),
    ("liam@demo.academy", Role.STUDENT, "Student, pending upgrade"),
    ("sofia@demo.academy", Role.STUDENT, "Student, aged 16 (guardian consent)"),
    ("noah@demo.academy", Role.STUDENT, "Student, brand new"),
    ("emma@demo.academy", Role.STUDENT, "Student, request rejected yesterday"),
]

# e-mail: (name, date of birth, joined how many days ago)
_PEOPLE = {
    "admin@demo.academy": ("Ada Admin", date(1985, 3, 14), 428),
    "coach.rivera@demo.academy": ("Carla Rivera", date(1982, 7, 2), 425),
    "coach.okafor@demo.academy": ("Daniel Okafor", date(1979, 11, 23), 424),
    "maya@demo.academy": ("Maya Lindqvist", date(2001, 5, 9), 420),
    "liam@demo.academy": ("Liam O'Connor", date(1999, 1, 30), 400),
    "sofia@demo.academy": ("Sofía Martínez", None, 300),
    "noah@demo.academy": ("Noah Becker", date(2003, 9, 17), 2),
    "emma@demo.academy": ("Emma Dubois", date(2000, 12, 1), 380),
}

DEMO_PASSWORD = "demo-academy-2026"


def years_ago(years: int, days: int = 0, today: date | None = None) -> date:
    """A birth date ``years`` years and ``days`` days before today (29 February safe)."""
    today = today or date.today()
    try:
        anniversary = today.replace(year=today.year - years)
    except ValueError:  # 29 February in a year without one
        anniversary = today.replace(year=today.year - years, day=28)
    return anniversary - timedelta(days=days)


def seed(ctx) -> None:
    timeline = ctx.timeline
    for email, role, _note in LOGINS:
        name, dob, joined = _PEOPLE[email]
        if dob is None:  # the minor: 16 years old today, and already when she joined
            dob = years_ago(16, days=joined + 30)

        def create(email=email, role=role, name=name, dob=dob):
            action = actions.USER_REGISTERED if role == Role.STUDENT else actions.USER_CREATED
            ctx.users[email.split("@")[0]] = services.create_user(
                email, name, role, password=DEMO_PASSWORD, date_of_birth=dob, action=action
            )

        timeline.at(timeline.ago(days=joined), create)
