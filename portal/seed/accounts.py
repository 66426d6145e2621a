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
    ("eszter@demo.academy", Role.STUDENT,
     "Student reading Hungarian (Europe/Budapest), a license and its certificate"),
    ("mateo@demo.academy", Role.STUDENT, "Student reading Spanish (America/Mexico_City), a license"),
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
    "eszter@demo.academy": ("Eszter Kovács", date(2002, 4, 18), 350),
    "mateo@demo.academy": ("Mateo Hernández", date(2000, 8, 5), 200),
}

# e-mail: (language, time zone, given name, family name) of the students who do not read
# English; Hungarian puts the family name first (portal.names), so Eszter's parts are known.
_READERS = {
    "eszter@demo.academy": ("hu", "Europe/Budapest", "Eszter", "Kovács"),
    "mateo@demo.academy": ("es", "America/Mexico_City", None, None),
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
            user = services.create_user(
                email, name, role, password=DEMO_PASSWORD, date_of_birth=dob, action=action
            )
            if email in _READERS:  # as they chose at registration
                user.locale, user.timezone, user.given_name, user.family_name = _READERS[email]
            ctx.users[email.split("@")[0]] = user

        timeline.at(timeline.ago(days=joined), create)
