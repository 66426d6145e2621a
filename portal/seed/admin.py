"""Demo admin-side data: a finished bulk job, a suspended account, a pending account, and a
registration whose address is not confirmed yet."""
from __future__ import annotations

from datetime import date

from portal import jobs
from portal.admin import services as admin_services
from portal.audit import actions
from portal.auth import registration
from portal.auth import services as accounts
from portal.classes import services as classes
from portal.extensions import db
from portal.models.user import Role
from portal.seed.accounts import DEMO_PASSWORD, years_ago

# New students of the weekend intake (the named demo students are left as they are):
# e-mail, name, date of birth (None: a minor without consent, skipped by the job), joined.
INTAKE = [
    ("olivia@demo.academy", "Olivia Brandt", date(2002, 4, 11), 49),
    ("kenji@demo.academy", "Kenji Watanabe", date(2004, 2, 3), 48),
    ("ines@demo.academy", "Inês Costa", None, 47),
]


def seed(ctx) -> None:
    timeline = ctx.timeline

    # A class whose students got their Player licenses in one bulk job.
    def open_class():
        rivera = ctx.users["coach.rivera"]
        ctx.objects["weekend"] = classes.create_class(
            rivera, "Weekend intake", ctx.objects["specializations"]["PLY"],
            "Saturday mornings, new players.", actor=rivera)

    timeline.at(timeline.ago(days=50), open_class)
    for email, name, dob, joined in INTAKE:

        def register(email=email, name=name, dob=dob, joined=joined):
            student = accounts.create_user(email, name, Role.STUDENT, password=DEMO_PASSWORD,
                                           date_of_birth=dob or years_ago(15, days=joined + 60),
                                           action=actions.USER_REGISTERED)
            classes.join_class(student, ctx.objects["weekend"].join_code, actor=student)

        timeline.at(timeline.ago(days=joined), register)

    def bulk_issue():
        job = admin_services.start_bulk(ctx.objects["weekend"], "issue", False, ctx.users["admin"])
        db.session.commit()  # the job runs in its own transactions, item by item
        jobs.run(job.id)
        ctx.objects["bulk_job"] = job

    timeline.at(timeline.ago(days=45), bulk_issue)

    # An account an admin suspended, and one an admin created that is not activated yet.
    def oscar_registers():
        ctx.users["oscar"] = accounts.create_user(
            "oscar@demo.academy", "Oscar Lindgren", Role.STUDENT, password=DEMO_PASSWORD,
            date_of_birth=date(1998, 8, 8), action=actions.USER_REGISTERED)

    timeline.at(timeline.ago(days=90), oscar_registers)
    timeline.at(timeline.ago(days=15), lambda: admin_services.change_status(
        ctx.users["oscar"], "suspended", ctx.users["admin"], "Repeated no-shows; call the office."))

    def priya_is_invited():
        ctx.users["priya"] = admin_services.create_account(
            name="Priya Raman", email="priya@demo.academy", role=Role.INSTRUCTOR,
            date_of_birth=None, actor=ctx.users["admin"],
        )

    timeline.at(timeline.ago(days=5), priya_is_invited)

    def lucas_registers():
        # Registered through the form, the confirmation link never opened: logging in asks
        # to confirm first, and `users purge-unconfirmed` removes it a week after this.
        ctx.users["lucas"] = registration.register(
            name="Lucas Moreau", email="lucas@demo.academy", password=DEMO_PASSWORD,
            date_of_birth=date(2001, 10, 4),
        ).user

    timeline.at(timeline.ago(days=2), lucas_registers)
