"""Demo accounts: an admin, two instructors and a handful of students."""
from __future__ import annotations

from datetime import date

from portal.auth import services
from portal.models.user import Role

# (e-mail, role, note): printed by `seed demo` and shown in the README.
LOGINS = [
    ("admin@demo.academy", Role.ADMIN, "Ada Admin"),
    ("coach.rivera@demo.academy", Role.INSTRUCTOR, "Instructor with Player classes"),
    ("coach.okafor@demo.academy", Role.INSTRUCTOR, "Instructor with Coach classes"),
    ("maya@demo.academy", Role.STUDENT, "Student, several licenses"),
    ("liam@demo.academy", Role.STUDENT, "Student, pending upgrade"),
    ("sofia@demo.academy", Role.STUDENT, "Student, aged 16 (guardian consent)"),
    ("noah@demo.academy", Role.STUDENT, "Student, brand new"),
    ("emma@demo.academy", Role.STUDENT, "Student"),
]

_PEOPLE = {
    "admin@demo.academy": ("Ada Admin", date(1985, 3, 14)),
    "coach.rivera@demo.academy": ("Carla Rivera", date(1982, 7, 2)),
    "coach.okafor@demo.academy": ("Daniel Okafor", date(1979, 11, 23)),
    "maya@demo.academy": ("Maya Lindqvist", date(2001, 5, 9)),
    "liam@demo.academy": ("Liam O'Connor", date(1999, 1, 30)),
    "sofia@demo.academy": ("Sofía Martínez", None),
    "noah@demo.academy": ("Noah Becker", date(2003, 9, 17)),
    "emma@demo.academy": ("Emma Dubois", date(2000, 12, 1)),
}

DEMO_PASSWORD = "demo-academy-2026"


def seed(ctx) -> None:
    today = date.today()
    for email, role, _note in LOGINS:
        name, dob = _PEOPLE[email]
        if dob is None:  # the minor: 16 years old today
            dob = date(today.year - 16, 6, 1)
        user = services.create_user(
            email, name, role, password=DEMO_PASSWORD, date_of_birth=dob
        )
        ctx.users[email.split("@")[0]] = user
