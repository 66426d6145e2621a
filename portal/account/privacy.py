"""My account's privacy pages: export my data, erase my account (SPEC §11)."""
from __future__ import annotations

import logging

from flask import abort, flash, send_file, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal import jobs
from portal.account import bp
from portal.account.forms import AccountDeleteForm
from portal.auth.second_factor import require_fresh_second_factor
from portal.exceptions import form_status, show_error
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.models.job import JobStatus
from portal.privacy import erasure, export

log = logging.getLogger(__name__)


def _page(status: int = 200, delete_form=None):
    return render_page("account/privacy.html", "account/_delete_form.html", status=status,
                       delete_form=delete_form or AccountDeleteForm(formdata=None),
                       exports=export.recent(current_user), export_tools=export,
                       confirm_word=erasure.CONFIRM_WORD)


@bp.get("/privacy")
def privacy():
    return _page()


@bp.post("/export")
def start_export():
    # Nothing to fill in: the global CSRF check is the whole form.
    job = export.start(current_user)
    db.session.commit()
    if job.status == JobStatus.QUEUED and job.started_at is None:
        jobs.dispatch(job.id)
    return redirect(url_for("account.export_status", job_id=job.id))


def _own_export(job_id: int):
    job = export.owned(job_id, current_user)
    if job is None:
        abort(404)
    return job


@bp.get("/exports/<int:job_id>")
def export_status(job_id: int):
    job = _own_export(job_id)
    db.session.refresh(job)
    live = job.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    return render_page("account/export.html", "account/_export_status.html", job=job, live=live,
                       ready=export.ready_file(job), expired=export.expired(job),
                       expires_at=export.expires_at(job))


@bp.get("/exports/<int:job_id>/download")
def export_download(job_id: int):
    job = _own_export(job_id)
    path = export.ready_file(job)
    if path is None:
        abort(410 if export.expired(job) else 404)
    export.downloaded(current_user, job)
    db.session.commit()
    # send_file streams the file from disk in blocks: the ZIP is never held in memory.
    return send_file(path, mimetype="application/zip", as_attachment=True,
                     download_name=f"portal-data-{job.finished_at:%Y-%m-%d}.zip", max_age=0)


def form_user_id(user) -> int | None:
    return getattr(user, "id", None)


@bp.post("/delete")
@require_fresh_second_factor
def delete():
    form = AccountDeleteForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            erasure.check_own_request(user, form.current_password.data, form.confirm.data)
            done = erasure.erase(user, user)
            db.session.commit()
        except erasure.ErasureError as exc:
            db.session.rollback()
            erasure.refuse(user, exc)
            db.session.commit()
            show_error(form, exc)
        except Exception:
            db.session.rollback()
            log.exception("erasure of account %s failed; nothing was changed", form_user_id(user))
            form.form_errors.append(
                _("Your account could not be erased, so nothing changed. Try again later."))
            form.error_status = 500
        else:
            erasure.forget_files(done)
            session.clear()
            logout_user()
            flash(_("Your account and your personal data are erased. Goodbye."), "success")
            return redirect(url_for("public.landing"))
    return _page(form_status(form), delete_form=form)
