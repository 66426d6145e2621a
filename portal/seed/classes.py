"""Demo classes and memberships. The admin assigned Carla Rivera Player, and Daniel Okafor
Coach and Internship; Rivera runs two Player classes, Okafor a Coach class and an
Internship placement group; the demo students joined with the join codes, except Mateo,
who joined the Saturday squad from Rivera's e-mail invitation. Emma's first Internship
level waits in that group for an admin, not for Okafor. A class that names levels holds
only students at those levels (the demo test checks it).

Rivera renamed the Tuesday class once, and her Saturday squad shows an invitation in each
state: joined (Mateo), sent, expired and withdrawn."""
from __future__ import annotations

import sqlalchemy as sa

from portal.admin import services as admin_services
from portal.classes import invitations, services
from portal.extensions import db
from portal.models.klass import ClassInvitation

# instructor, specialization, name, description, created (days ago), [(student, joined days ago)]
CLASSES = [
    (
        "coach.rivera",
        "PLY",
        "Player foundations — Saturday squad",
        "Saturdays 9:00–11:00 on pitch 2. Levels 1 to 3.",
        395,
        [("liam", 395), ("emma", 369), ("sofia", 279), ("eszter", 338)],
    ),
    (
        "coach.okafor",
        "COA",
        "Coach pathway — assistant coaches",
        "Monthly workshops and observed sessions.",
        330,
        [("maya", 329), ("emma", 329)],
    ),
    (
        "coach.rivera",
        "PLY",
        "Player performance — Tuesday evenings",
        "Tuesdays 18:30–20:30, indoor hall. Level 2 and above.",
        250,
        [("maya", 249), ("liam", 199)],
    ),
    (
        "coach.okafor",
        "INT",
        "Internship placements — partner clubs",
        "Placement supervision at the academy's partner clubs; an admin admits each intern.",
        30,
        [("emma", 8)],
    ),
]

# instructor -> the specializations the admin assigned them, and when (days ago)
TEACHES = {"coach.rivera": (["PLY"], 423), "coach.okafor": (["COA", "INT"], 422)}


def seed(ctx) -> None:
    _seed_classes(ctx)
    seed_edits_and_invitations(ctx)


def _seed_classes(ctx) -> None:
    timeline = ctx.timeline
    for instructor, (codes, days) in TEACHES.items():

        def assign(instructor=instructor, codes=codes):
            specs = ctx.objects["specializations"]
            admin_services.set_specializations(
                ctx.users[instructor], [specs[code].id for code in codes], ctx.users["admin"]
            )

        timeline.at(timeline.ago(days=days), assign)
    ctx.objects["classes"] = classes = {}
    for instructor, code, name, description, created, students in CLASSES:

        def create(instructor=instructor, code=code, name=name, description=description):
            teacher = ctx.users[instructor]
            spec = ctx.objects["specializations"][code]
            classes[name] = services.create_class(teacher, name, spec, description, actor=teacher)

        timeline.at(timeline.ago(days=created), create)
        for student, joined in students:

            def join(student=student, name=name):
                user = ctx.users[student]
                services.join_class(user, classes[name].join_code, actor=user)

            timeline.at(timeline.ago(days=joined), join)


# The Tuesday class renamed by Rivera: (old name, days ago, new name, new description).
EDITED = ("Player performance — Tuesday evenings", 120, "Player performance — Tuesdays",
          "Tuesdays 18:00–20:00 since the spring, indoor hall. Level 2 and above.")
SATURDAY = CLASSES[0][2]
# (address, name, invited days ago, what became of it: joined / withdrawn days ago, or None)
INVITATIONS = [
    ("mateo@demo.academy", "Mateo Hernández", 192, ("joined", 190)),
    ("lucas.parent@example.org", "Lucas Silva", 25, None),  # expired, never opened
    ("zoe@example.org", "Zoé Laurent", 12, ("withdrawn", 11)),
    ("oliver@example.org", "Oliver Smith", 2, None),  # sent, waiting
]


def _invitation(email: str) -> ClassInvitation:
    return db.session.scalar(sa.select(ClassInvitation).where(ClassInvitation.email == email))


def seed_edits_and_invitations(ctx) -> None:
    timeline, classes = ctx.timeline, ctx.objects["classes"]
    old_name, days, name, description = EDITED

    def edit():
        klass = classes.pop(old_name)
        classes[name] = klass
        services.edit_class(klass, name, description, actor=ctx.users["coach.rivera"])

    timeline.at(timeline.ago(days=days), edit)
    for email, person, invited, outcome in INVITATIONS:

        def send(email=email, person=person):
            invitations.invite(classes[SATURDAY], [invitations.Entry(email, person)],
                               actor=ctx.users["coach.rivera"], mail_them=False)

        timeline.at(timeline.ago(days=invited), send)
        if outcome is None:
            continue
        what, when = outcome

        def follow(email=email, what=what):
            invitation = _invitation(email)
            if what == "joined":
                student = ctx.users[email.split("@")[0]]
                invitations.accept(invitation, student, actor=student)
            else:
                invitations.withdraw(invitation, actor=ctx.users["coach.rivera"])

        timeline.at(timeline.ago(days=when), follow)
