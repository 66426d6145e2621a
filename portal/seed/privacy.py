"""Demo privacy (SPEC §11): Maya's finished data export, a copy of Sofia's data an admin
prepared for her guardian (pending: not handed over), and a student whose data an admin
erased on her letter (her license revoked "at the holder's request")."""
from __future__ import annotations

from datetime import date

from portal import jobs
from portal.audit import actions
from portal.auth import services as accounts
from portal.extensions import db
from portal.licenses import services as lifecycle
from portal.models.user import Role
from portal.privacy import erasure, export
from portal.seed.accounts import DEMO_PASSWORD


def seed(ctx) -> None:
    timeline = ctx.timeline

    def maya_exports():
        job = export.start(ctx.users["maya"])
        db.session.commit()
        jobs.run(job.id)
        ctx.objects["maya_export"] = job

    timeline.at(timeline.ago(days=1), maya_exports)

    def sofias_guardian_asks():
        # Taken by the admin, prepared, not handed over yet: the admin page lists it.
        job = export.start(ctx.users["sofia"], ctx.users["admin"],
                           reason="Sofia's mother asked at the front desk for a copy of her data")
        db.session.commit()
        jobs.run(job.id)

    timeline.at(timeline.ago(hours=6), sofias_guardian_asks)

    def greta_joins():
        greta = accounts.create_user("greta@demo.academy", "Greta Halvorsen", Role.STUDENT,
                                     password=DEMO_PASSWORD, date_of_birth=date(2003, 6, 1),
                                     action=actions.USER_REGISTERED)
        ctx.users["greta"] = greta
        lifecycle.issue_license(greta, ctx.objects["specializations"]["PLY"], 1, ctx.users["admin"])

    timeline.at(timeline.ago(days=30), greta_joins)

    def greta_is_erased():
        done = erasure.erase(ctx.users["greta"], ctx.users["admin"],
                             reason="Letter from Greta, received by post on Monday")
        db.session.commit()
        erasure.forget_files(done)

    timeline.at(timeline.ago(days=3), greta_is_erased)
