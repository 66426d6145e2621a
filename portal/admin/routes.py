"""Administration screens. The blueprint's guard (in ``__init__``) admits admins only."""
from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import abort, flash, request, url_for
from flask_login import current_user

from portal import jobs
from portal.admin import bp, forms, queries, services
from portal.admin import bulk as bulk_job  # noqa: F401  (registers the job handler)
from portal.admin.services import AdminError
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.models.catalogue import Level, Requirement, Specialization
from portal.models.job import Job, JobStatus
from portal.models.klass import Klass
from portal.models.license import License, LicenseEvent, LicenseStatus, RequestStatus, UpgradeRequest
from portal.models.user import User, UserStatus
from portal.params import int_arg


def _field_error(form, exc: AdminError) -> None:
    """Put a service's refusal beside its field, or at the top of the form."""
    field = getattr(form, exc.field, None) if exc.field else None
    if field is not None:
        field.errors = [*field.errors, str(exc)]
    else:
        form.form_errors.append(str(exc))


def _int_arg(name: str, lo: int = 0, hi: int = 10_000) -> int | None:
    return int_arg(name, lo=lo, hi=hi)


# --- hub -------------------------------------------------------------------------------


@bp.get("/")
def index():
    counts = dict(db.session.execute(
        sa.select(User.status, sa.func.count(User.id)).group_by(User.status)
    ).all())
    pending_requests = db.session.scalar(
        sa.select(sa.func.count(UpgradeRequest.id)).where(UpgradeRequest.status == RequestStatus.PENDING)
    )
    specs = db.session.scalar(
        sa.select(sa.func.count(Specialization.id)).where(Specialization.archived_at.is_(None))
    )
    return render_page(
        "admin/index.html", "admin/index.html",
        counts=counts, pending_requests=pending_requests, specs=specs,
        jobs=queries.recent_jobs(5),
    )


# --- users -------------------------------------------------------------------------------


@bp.get("/users")
def users():
    filters = {
        "q": request.args.get("q", "")[:120],
        "role": request.args.get("role", ""),
        "status": request.args.get("status", ""),
        "sort": request.args.get("sort", "name"),
    }
    if filters["sort"] not in queries.USER_SORTS:
        filters["sort"] = "name"
    page = queries.users_page(**filters, after=request.args.get("after"))
    active = {k: v for k, v in filters.items() if v and not (k == "sort" and v == "name")}
    return render_page(
        "admin/users.html", "admin/_user_results.html",
        results=page, filters=filters, active=active,
        roles=forms.ROLE_CHOICES, statuses=forms.STATUS_CHOICES, sorts=queries.USER_SORT_LABELS,
    )


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = forms.UserCreateForm()
    if form.validate_on_submit():
        try:
            user = services.create_account(
                name=form.name.data, email=form.email.data, role=form.role.data,
                date_of_birth=form.date_of_birth.data, actor=current_user,
            )
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            from portal.auth import services as accounts

            db.session.commit()
            sent = accounts.send_set_password_link(user, current_user)
            db.session.commit()
            if sent:
                flash(f"Account created. {user.email} has been e-mailed a link to choose a password.",
                      "success")
            else:
                flash(f"Account created, but the e-mail to {user.email} could not be sent. "
                      "Use “Send set-password link” to try again.", "warning")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    status = 422 if form.is_submitted() else 200
    return render_page("admin/user_new.html", "admin/user_new.html", status=status, form=form)


def _user_page(user: User, status: int = 200, **overrides):
    ctx = {
        "role_form": forms.UserRoleForm(role=user.role, formdata=None),
        "status_form": forms.UserStatusForm(status=user.status, formdata=None),
        "consent_form": forms.ConsentForm(formdata=None),
    }
    ctx.update(overrides)
    from portal.licenses.services import needs_consent

    return render_page(
        "admin/user_detail.html", "admin/user_detail.html", status=status,
        user=user, needs_consent=needs_consent(user), today=date.today(),
        **queries.user_overview(user), **ctx,
    )


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    return _user_page(db.get_or_404(User, user_id))


@bp.post("/users/<int:user_id>/role")
def user_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.UserRoleForm()
    if form.validate_on_submit():
        try:
            services.change_role(user, form.role.data, current_user, form.reason.data)
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"{user.name} is now {user.role}; their sessions have ended.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return _user_page(user, 422, role_form=form)


@bp.post("/users/<int:user_id>/status")
def user_status(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.UserStatusForm()
    if form.validate_on_submit():
        try:
            services.change_status(user, form.status.data, current_user, form.reason.data)
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"{user.name}'s account is now {user.status}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return _user_page(user, 422, status_form=form)


@bp.post("/users/<int:user_id>/consent")
def user_consent(user_id: int):
    from portal.licenses import services as lifecycle

    user = db.get_or_404(User, user_id)
    form = forms.ConsentForm()
    if form.validate_on_submit():
        try:
            lifecycle.record_guardian_consent(user, current_user, form.guardian_name.data)
        except lifecycle.LicenseError as exc:
            db.session.rollback()
            form.guardian_name.errors = [str(exc)]
        else:
            db.session.commit()
            flash(f"Guardian consent recorded for {user.name}.", "success")
            return redirect(url_for("admin.user_detail", user_id=user.id))
    return _user_page(user, 422, consent_form=form)


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    from portal.auth import services as accounts

    user = db.get_or_404(User, user_id)
    accounts.unlock(user, current_user)
    db.session.commit()
    flash(f"{user.name}'s account is unlocked.", "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/sessions/end")
def user_end_sessions(user_id: int):
    from portal.auth import services as accounts

    user = db.get_or_404(User, user_id)
    form = forms.ReasonForm()
    form.validate()
    ended = accounts.end_all_sessions(user, current_user, form.reason.data or "ended_by_admin")
    db.session.commit()
    flash(f"Ended {ended} session{'s' if ended != 1 else ''} of {user.name}.", "success")
    if user.id == current_user.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/send-link")
def user_send_link(user_id: int):
    from portal.auth import services as accounts

    user = db.get_or_404(User, user_id)
    if user.status == UserStatus.SUSPENDED:
        flash("A suspended account cannot set a password. Reactivate it first.", "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    sent = accounts.send_set_password_link(user, current_user)
    db.session.commit()
    flash(f"A set-password link was e-mailed to {user.email}." if sent
          else f"The e-mail to {user.email} could not be sent; try again later.",
          "success" if sent else "error")
    return redirect(url_for("admin.user_detail", user_id=user.id))


# --- specializations ----------------------------------------------------------------------


@bp.get("/specializations")
def specializations():
    rows = db.session.execute(
        sa.select(Specialization, sa.func.count(License.id))
        .outerjoin(License, License.specialization_id == Specialization.id)
        .group_by(Specialization.id)
        .order_by(Specialization.archived_at.is_not(None), Specialization.name)
    ).all()
    return render_page("admin/specializations.html", "admin/specializations.html", rows=rows)


@bp.route("/specializations/new", methods=["GET", "POST"])
def specialization_new():
    form = forms.SpecializationForm()
    if form.validate_on_submit():
        try:
            spec = services.create_specialization(form.data, current_user)
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"{spec.name} created with {spec.max_level} levels. Add their requirements below.",
                  "success")
            return redirect(url_for("admin.specialization_detail", spec_id=spec.id))
    status = 422 if form.is_submitted() else 200
    return render_page("admin/specialization_new.html", "admin/specialization_new.html",
                       status=status, form=form)


def _spec_page(spec: Specialization, status: int = 200, form=None, level_forms=None):
    form = form or forms.SpecializationForm(obj=spec, formdata=None)
    # A form for every level and requirement on the page; the one just sent, with its errors.
    shown = {"new": forms.LevelForm(formdata=None)}
    for level in spec.levels:
        shown[level.id] = forms.LevelForm(formdata=None, obj=level)
        shown[f"req-{level.id}"] = forms.RequirementForm(formdata=None)
        for req in level.requirements:
            shown[f"edit-{req.id}"] = forms.RequirementForm(formdata=None, obj=req)
    shown.update(level_forms or {})
    return render_page(
        "admin/specialization_detail.html", "admin/specialization_detail.html", status=status,
        spec=spec, form=form, level_form=shown["new"], level_forms=shown, licenses=services.licenses_in(spec),
        reached=services._highest_level_held(spec),
    )


@bp.route("/specializations/<int:spec_id>", methods=["GET", "POST"])
def specialization_detail(spec_id: int):
    spec = db.get_or_404(Specialization, spec_id)
    if request.method == "GET":
        return _spec_page(spec)
    form = forms.SpecializationForm()
    if form.validate_on_submit():
        try:
            services.update_specialization(spec, form.data, current_user)
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"{spec.name} saved.", "success")
            return redirect(url_for("admin.specialization_detail", spec_id=spec.id))
    spec = db.get_or_404(Specialization, spec_id)
    return _spec_page(spec, 422, form=form)


def _spec_action(spec_id: int, action, message: str):
    spec = db.get_or_404(Specialization, spec_id)
    try:
        action(spec, current_user)
    except AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("admin.specialization_detail", spec_id=spec_id))
    db.session.commit()
    flash(message.format(name=spec.name), "success")
    return None


@bp.post("/specializations/<int:spec_id>/archive")
def specialization_archive(spec_id: int):
    return _spec_action(spec_id, services.archive_specialization,
                        "{name} is archived: no new licenses; existing ones stay valid.") or redirect(
        url_for("admin.specialization_detail", spec_id=spec_id))


@bp.post("/specializations/<int:spec_id>/restore")
def specialization_restore(spec_id: int):
    return _spec_action(spec_id, services.restore_specialization, "{name} is offered again.") or redirect(
        url_for("admin.specialization_detail", spec_id=spec_id))


@bp.post("/specializations/<int:spec_id>/delete")
def specialization_delete(spec_id: int):
    return _spec_action(spec_id, services.delete_specialization, "{name} deleted.") or redirect(
        url_for("admin.specializations"))


@bp.post("/specializations/<int:spec_id>/levels")
def level_add(spec_id: int):
    spec = db.get_or_404(Specialization, spec_id)
    form = forms.LevelForm()
    if not form.validate_on_submit():
        return _spec_page(spec, 422, level_forms={"new": form})
    level = services.add_level(spec, form.title.data, form.description.data, current_user)
    db.session.commit()
    flash(f"Level {level.number} added.", "success")
    return redirect(url_for("admin.specialization_detail", spec_id=spec.id, _anchor=f"level-{level.number}"))


@bp.post("/levels/<int:level_id>")
def level_edit(level_id: int):
    level = db.get_or_404(Level, level_id)
    form = forms.LevelForm()
    if not form.validate_on_submit():
        return _spec_page(level.specialization, 422, level_forms={level.id: form})
    services.update_level(level, form.title.data, form.description.data, current_user)
    db.session.commit()
    flash(f"Level {level.number} saved.", "success")
    return redirect(url_for("admin.specialization_detail", spec_id=level.specialization_id,
                            _anchor=f"level-{level.number}"))


@bp.post("/levels/<int:level_id>/remove")
def level_remove(level_id: int):
    level = db.get_or_404(Level, level_id)
    spec_id, number = level.specialization_id, level.number
    try:
        services.remove_level(level, current_user)
    except AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(f"Level {number} removed.", "success")
    return redirect(url_for("admin.specialization_detail", spec_id=spec_id))


@bp.post("/levels/<int:level_id>/requirements")
def requirement_add(level_id: int):
    level = db.get_or_404(Level, level_id)
    form = forms.RequirementForm()
    if not form.validate_on_submit():
        return _spec_page(level.specialization, 422, level_forms={f"req-{level.id}": form})
    services.add_requirement(level, form.title.data, form.description.data, current_user)
    db.session.commit()
    flash("Requirement added.", "success")
    return redirect(url_for("admin.specialization_detail", spec_id=level.specialization_id,
                            _anchor=f"level-{level.number}"))


@bp.post("/requirements/<int:req_id>")
def requirement_edit(req_id: int):
    requirement = db.get_or_404(Requirement, req_id)
    level = requirement.level
    form = forms.RequirementForm()
    if not form.validate_on_submit():
        return _spec_page(level.specialization, 422, level_forms={f"edit-{requirement.id}": form})
    services.update_requirement(requirement, form.title.data, form.description.data, current_user)
    db.session.commit()
    flash("Requirement saved.", "success")
    return redirect(url_for("admin.specialization_detail", spec_id=level.specialization_id,
                            _anchor=f"level-{level.number}"))


@bp.post("/requirements/<int:req_id>/remove")
def requirement_remove(req_id: int):
    requirement = db.get_or_404(Requirement, req_id)
    level = requirement.level
    services.remove_requirement(requirement, current_user)
    db.session.commit()
    flash("Requirement removed.", "success")
    return redirect(url_for("admin.specialization_detail", spec_id=level.specialization_id,
                            _anchor=f"level-{level.number}"))


@bp.post("/requirements/<int:req_id>/move")
def requirement_move(req_id: int):
    requirement = db.get_or_404(Requirement, req_id)
    level = requirement.level
    try:
        services.move_requirement(requirement, request.form.get("direction", ""), current_user)
    except AdminError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
    return redirect(url_for("admin.specialization_detail", spec_id=level.specialization_id,
                            _anchor=f"level-{level.number}"))


# --- licenses ----------------------------------------------------------------------------


def _spec_choices(include_archived: bool = False) -> list[tuple[int, str]]:
    query = sa.select(Specialization).order_by(Specialization.name)
    if not include_archived:
        query = query.where(Specialization.archived_at.is_(None))
    return [(s.id, f"{s.name} ({s.code})") for s in db.session.scalars(query)]


@bp.get("/licenses")
def licenses():
    filters = {
        "spec_id": _int_arg("specialization", 1, 10**9),
        "level": _int_arg("level", 1, 100),
        "status": request.args.get("status", "") if request.args.get("status") in LicenseStatus.ALL else "",
        "expiring_days": _int_arg("expiring", 0, 3650),
        "holder": request.args.get("holder", "")[:120],
    }
    page = queries.licenses_page(**filters, after=request.args.get("after"))
    args = {k: v for k, v in request.args.items() if k != "after" and v}
    return render_page(
        "admin/licenses.html", "admin/_license_results.html",
        results=page, filters=filters, args=args, specs=_spec_choices(True), statuses=LicenseStatus.ALL,
    )


@bp.route("/licenses/issue", methods=["GET", "POST"])
def license_issue():
    form = forms.LicenseIssueForm()
    form.specialization.choices = forms.options(_spec_choices())
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"]
    if form.validate_on_submit():
        spec = db.session.get(Specialization, form.specialization.data)
        try:
            license = services.issue_to(form.email.data, spec, form.level.data, current_user)
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            flash(f"License {license.code} issued to {license.holder.name}.", "success")
            return redirect(url_for("admin.license_detail", license_id=license.id))
    status = 422 if form.is_submitted() else 200
    return render_page("admin/license_issue.html", "admin/license_issue.html", status=status, form=form)


def _license(license_id: int) -> License:
    return db.get_or_404(License, license_id)


def _license_page(license: License, status: int = 200, **ctx):
    history = db.session.scalars(
        sa.select(LicenseEvent).where(LicenseEvent.license_id == license.id).order_by(LicenseEvent.seq)
    ).all()
    return render_page("admin/license_detail.html", "admin/license_detail.html", status=status,
                       license=license, history=history, note_form=forms.NoteForm(formdata=None), **ctx)


@bp.get("/licenses/<int:license_id>")
def license_detail(license_id: int):
    return _license_page(_license(license_id))


def _license_action(license: License, do, form, template: str, done: str):
    """Run one lifecycle action from a confirmed form; a refusal is shown beside it."""
    from portal.licenses import services as lifecycle

    if form.validate_on_submit():
        try:
            do()
        except lifecycle.RequestConflict as exc:
            db.session.rollback()
            abort(409, str(exc))
        except lifecycle.LicenseError as exc:
            db.session.rollback()
            form.note.errors = [*form.note.errors, str(exc)]
        else:
            db.session.commit()
            flash(done.format(code=license.code), "success")
            return redirect(url_for("admin.license_detail", license_id=license.id))
    status = 422 if form.is_submitted() else 200
    return render_page(template, template, status=status, license=license, form=form)


@bp.route("/licenses/<int:license_id>/suspend", methods=["GET", "POST"])
def license_suspend(license_id: int):
    from portal.licenses import services as lifecycle

    license = _license(license_id)
    form = forms.SuspendForm()
    return _license_action(
        license, lambda: lifecycle.suspend(license, current_user, form.note.data), form,
        "admin/license_suspend.html", "License {code} is suspended.",
    )


@bp.route("/licenses/<int:license_id>/revoke", methods=["GET", "POST"])
def license_revoke(license_id: int):
    from portal.licenses import services as lifecycle

    license = _license(license_id)
    form = forms.RevokeForm()
    form.reason_category.choices = forms.options([("", "Choose a reason"), *lifecycle.REVOKE_REASONS])
    return _license_action(
        license,
        lambda: lifecycle.revoke(license, current_user, form.reason_category.data, form.note.data),
        form, "admin/license_revoke.html", "License {code} is revoked.",
    )


def _simple_license_action(license_id: int, name: str, done: str):
    from portal.licenses import services as lifecycle

    license = _license(license_id)
    form = forms.NoteForm()
    form.validate()
    try:
        getattr(lifecycle, name)(license, current_user, form.note.data)
    except lifecycle.RequestConflict as exc:
        db.session.rollback()
        abort(409, str(exc))
    except lifecycle.LicenseError as exc:
        db.session.rollback()
        flash(str(exc), "error")
    else:
        db.session.commit()
        flash(done.format(code=license.code), "success")
    return redirect(url_for("admin.license_detail", license_id=license_id))


@bp.post("/licenses/<int:license_id>/reinstate")
def license_reinstate(license_id: int):
    return _simple_license_action(license_id, "reinstate", "License {code} is active again.")


@bp.post("/licenses/<int:license_id>/renew")
def license_renew(license_id: int):
    return _simple_license_action(license_id, "renew", "License {code} is renewed.")


# --- bulk jobs -------------------------------------------------------------------------------


@bp.route("/licenses/bulk", methods=["GET", "POST"])
def bulk():
    form = forms.BulkForm()
    classes = db.session.execute(
        sa.select(Klass, Specialization.name)
        .join(Specialization, Specialization.id == Klass.specialization_id)
        .where(Klass.archived_at.is_(None)).order_by(Klass.name)
    ).all()
    form.klass.choices = forms.options((k.id, f"{k.name} ({spec_name})") for k, spec_name in classes)
    if request.method == "GET" and _int_arg("class", 1, 10**9):
        form.klass.data = _int_arg("class", 1, 10**9)
    if form.validate_on_submit():
        klass = db.get_or_404(Klass, form.klass.data)
        try:
            job = services.start_bulk(klass, form.action.data, form.prerender.data, current_user)
        except AdminError as exc:
            db.session.rollback()
            _field_error(form, exc)
        else:
            db.session.commit()
            job_id = job.id
            jobs.dispatch(job_id)
            return redirect(url_for("admin.job", job_id=job_id))
    status = 422 if form.is_submitted() else 200
    return render_page("admin/bulk.html", "admin/bulk.html", status=status, form=form,
                       has_classes=bool(classes))


@bp.get("/jobs")
def jobs_list():
    return render_page("admin/jobs.html", "admin/jobs.html", rows=queries.recent_jobs(100))


@bp.get("/jobs/<int:job_id>")
def job(job_id: int):
    job = db.get_or_404(Job, job_id)
    actor = db.session.get(User, job.actor_id) if job.actor_id else None
    return render_page(
        "admin/job.html", "admin/_job_progress.html",
        job=job, actor=actor, items=queries.job_items(job),
        live=job.status in (JobStatus.QUEUED, JobStatus.RUNNING),
    )


@bp.post("/jobs/<int:job_id>/resume")
def job_resume(job_id: int):
    job = db.get_or_404(Job, job_id)
    try:
        services.resume_job(job, current_user)
    except AdminError as exc:
        db.session.rollback()
        flash(str(exc), "info")
        return redirect(url_for("admin.job", job_id=job_id))
    db.session.commit()
    jobs.dispatch(job_id)
    flash(f"Job {job_id} resumed; items already handled are skipped.", "success")
    return redirect(url_for("admin.job", job_id=job_id))

