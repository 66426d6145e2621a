"""Demo classes and memberships: Carla Rivera runs two Player classes, Daniel Okafor a
Coach class; the demo students joined with the join codes."""
from __future__ import annotations

import sqlalchemy as sa

from portal.classes import services
from portal.extensions import db
from portal.models.catalogue import Level, Requirement

# instructor, specialization, name, description, students
CLASSES = [
    (
        "coach.rivera",
        "PLY",
        "Player foundations — Saturday squad",
        "Saturdays 9:00–11:00 on pitch 2. Levels 1 to 3.",
        ["liam", "sofia", "emma", "maya"],
    ),
    (
        "coach.rivera",
        "PLY",
        "Player performance — Tuesday evenings",
        "Tuesdays 18:30–20:30, indoor hall. For level 3 and above.",
        ["maya", "liam"],
    ),
    (
        "coach.okafor",
        "COA",
        "Coach pathway — assistant coaches",
        "Monthly workshops and observed sessions.",
        ["maya", "emma"],
    ),
]


def _requirement(spec, level: int, position: int) -> Requirement:
    return db.session.scalars(
        sa.select(Requirement)
        .join(Level)
        .where(Level.specialization_id == spec.id, Level.number == level)
        .order_by(Requirement.position)
    ).all()[position]


def seed(ctx) -> None:
    users, specs = ctx.users, ctx.objects["specializations"]
    classes = {}
    for instructor, code, name, description, students in CLASSES:
        teacher = users[instructor]
        klass = services.create_class(teacher, name, specs[code], description, actor=teacher)
        for student in students:
            services.join_class(users[student], klass.join_code, actor=users[student])
        classes[name] = klass
    ctx.objects["classes"] = classes

    # Progress recorded in class: Sofía and Emma work toward Player level 2.
    rivera, ply = users["coach.rivera"], specs["PLY"]
    services.confirm_requirement(users["sofia"], _requirement(ply, 2, 0), actor=rivera)
    services.confirm_requirement(users["emma"], _requirement(ply, 2, 0), actor=rivera)
    services.confirm_requirement(users["emma"], _requirement(ply, 2, 1), actor=rivera)
