"""An export made by the worker, outside any request (as on the RQ queue or a thread)."""
import io
import zipfile

import sqlalchemy as sa

from portal import jobs
from portal.extensions import db
from portal.models.job import Job, JobStatus
from portal.models.user import User
from portal.privacy import export


def test_an_export_runs_outside_a_request(app, make_user, make_specialization, make_license):
    user = make_user()
    make_license(user, make_specialization(max_level=2), 1)
    with app.app_context():
        job = export.start(db.session.get(User, user.id))
        db.session.commit()
        job_id = job.id
    with app.app_context():
        jobs.run(job_id)
        job = db.session.get(Job, job_id)
        assert job.status == JobStatus.FINISHED, job.error
        path = export.ready_file(job)
        names = zipfile.ZipFile(io.BytesIO(path.read_bytes())).namelist()
        assert "activity.json" in names
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
