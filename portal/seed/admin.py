"""Demo admin-side data: a finished bulk job, a suspended account, a pending account."""
from __future__ import annotations

from datetime import date

from portal import jobs
from portal.admin import services as admin_services
from portal.auth import services as accounts
from portal.classes import services as classes
from portal.extensions import db
from portal.models.user import Role
from portal.seed.accounts import DEMO_PASSWORD

# New students of the weekend intake (the named demo students are left as they are).
INTAKE = [
    ("olivia@demo.academy", "Olivia Brandt", date(2002, 4, 11)),
    ("kenji@demo.academy", "Kenji Watanabe", date(2004, 2, 3)),
    ("ines@demo.academy", "Inês Costa", None),  # a minor without consent: skipped by the job
]


def seed(ctx) -> None:
    admin, rivera = ctx.users["admin"], ctx.users["coach.rivera"]
    player = ctx.objects["specializations"]["PLY"]

    # A class whose students got their Player licenses in one bulk job.
    klass = classes.create_class(rivera, "Weekend intake", player,
                                 "Saturday mornings, new players.", actor=rivera)
    today = date.today()
    for email, name, dob in INTAKE:
        student = accounts.create_user(email, name, Role.STUDENT, password=DEMO_PASSWORD,
                                       date_of_birth=dob or date(today.year - 15, 3, 1),
                                       action="user.registered")
        classes.join_class(student, klass.join_code, actor=student)
    db.session.flush()
    job = admin_services.start_bulk(klass, "issue", False, admin)
    db.session.commit()  # the job runs in its own transactions, item by item
    jobs.run(job.id)
    ctx.objects["bulk_job"] = job

    # An account an admin suspended, and one an admin created that is not activated yet.
    oscar = accounts.create_user("oscar@demo.academy", "Oscar Lindgren", Role.STUDENT,
                                 password=DEMO_PASSWORD, date_of_birth=date(1998, 8, 8))
    admin_services.change_status(oscar, "suspended", admin, "Repeated no-shows; call the office.")
    ctx.users["oscar"] = oscar
    ctx.users["priya"] = admin_services.create_account(
        name="Priya Raman", email="priya@demo.academy", role=Role.INSTRUCTOR,
        date_of_birth=None, actor=admin,
    )
