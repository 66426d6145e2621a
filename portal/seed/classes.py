"""Demo classes and memberships. The admin assigned Carla Rivera Player, and Daniel Okafor
Coach and Internship; Rivera runs two Player classes, Okafor a Coach class and an
Internship placement group; the demo students joined with the join codes. Emma's first
Internship level waits in that group for an admin, not for Okafor. A class that names
levels holds only students at those levels (the demo test checks it)."""
from __future__ import annotations

from portal.admin import services as admin_services
from portal.classes import services

# instructor, specialization, name, description, created (days ago), [(student, joined days ago)]
CLASSES = [
    (
        "coach.rivera",
        "PLY",
        "Player foundations — Saturday squad",
        "Saturdays 9:00–11:00 on pitch 2. Levels 1 to 3.",
        395,
        [("liam", 395), ("emma", 369), ("sofia", 279), ("eszter", 338), ("mateo", 188)],
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
