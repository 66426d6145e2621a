from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, render_template, request, url_for
from flask_login import current_user

from portal.dashboard import bp, queries, services
from portal.dashboard.forms import ClassCreateForm, ClassJoinForm
from portal.extensions import db
from portal.htmx import is_htmx, redirect, render_page
from portal.models.catalogue import Specialization
from portal.models.klass import ClassMembership, Klass
from portal.models.user import Role, User
from portal.params import int_arg, parse_int
from portal.permissions import not_yours, role_required

STAFF = (Role.INSTRUCTOR, Role.ADMIN)


@bp.get("")
def index():
    if current_user.role == Role.ADMIN:
        context = {"admin": queries.admin_overview()}
    elif current_user.role == Role.INSTRUCTOR:
        context = {"instructor": queries.instructor_overview(current_user)}
    else:
        context = {"student": queries.student_overview(current_user)}
    return render_template("dashboard/index.html", **context)


# -- classes ------------------------------------------------------------------------------


def _open_specializations() -> list[Specialization]:
    return list(
        db.session.scalars(
            sa.select(Specialization)
            .where(Specialization.archived_at.is_(None))
            .order_by(Specialization.name)
        )
    )


def _render_classes(form: ClassCreateForm | None, status: int = 200):
    if current_user.role == Role.STUDENT:
        classes = [queries.ClassSummary(k, 0) for k in queries.classes_of_student(current_user)]
    else:
        classes = queries.classes_of(current_user if current_user.role == Role.INSTRUCTOR else None)
    return render_template("dashboard/classes.html", classes=classes, form=form), status


@bp.route("/classes", methods=["GET", "POST"])
def classes():
    if current_user.role == Role.STUDENT:
        if request.method == "POST":
            abort(403)
        return _render_classes(None)
    form = None
    if current_user.role == Role.INSTRUCTOR:
        form = ClassCreateForm()
        form.specialization.choices = [(s.id, s.name) for s in _open_specializations()]
    elif request.method == "POST":
        abort(403)  # admins see every class; instructors run them
    if request.method == "POST":
        if not form.validate_on_submit():
            return _render_classes(form, 422)
        spec = db.session.get(Specialization, form.specialization.data)
        try:
            klass = services.create_class(
                current_user,
                form.name.data,
                spec,
                form.description.data or "",
                actor=current_user,
            )
        except services.ClassError as exc:
            db.session.rollback()
            form.name.errors.append(str(exc))
            return _render_classes(form, 422)
        db.session.commit()
        flash(f"Class “{klass.name}” created. Its join code is {klass.join_code}.", "success")
        return redirect(url_for("dashboard.roster", class_id=klass.id))
    return _render_classes(form)


def _staff_class(class_id: int) -> Klass:
    """The class, if the current instructor runs it (or the user is an admin); else 404."""
    klass = queries.class_for_viewer(class_id)
    if klass is None:
        abort(404)
    if current_user.role != Role.ADMIN and klass.instructor_id != current_user.id:
        not_yours()
    return klass


def _member(klass: Klass, user_id: int) -> User:
    student = db.session.scalar(
        sa.select(User)
        .join(ClassMembership, ClassMembership.user_id == User.id)
        .where(ClassMembership.class_id == klass.id, User.id == user_id)
    )
    if student is None:
        abort(404)
    return student


def _page_arg() -> int:
    return int_arg("page", 1, lo=1)


@bp.get("/classes/<int:class_id>")
@role_required(*STAFF)
def roster(class_id: int):
    klass = _staff_class(class_id)
    data = queries.roster(klass, request.args.get("q", ""), _page_arg())
    return render_page("dashboard/roster.html", "dashboard/_roster.html", roster=data, klass=klass)


@bp.post("/classes/<int:class_id>/students/<int:user_id>/requirements")
@role_required(*STAFF)
def requirements(class_id: int, user_id: int):
    klass = _staff_class(class_id)
    student = _member(klass, user_id)
    checked = {n for v in request.form.getlist("requirement") if (n := parse_int(v)) is not None}
    # Only the boxes the form showed: if the student moved up a level meanwhile, the
    # new level's confirmations are not undone by a form about the old one.
    shown = {n for v in request.form.getlist("shown") if (n := parse_int(v)) is not None}
    reqs = [r for r in queries.requirements_for_next_level(klass, student) if r.id in shown]
    try:
        confirmed, unconfirmed = services.set_requirements(
            student, reqs, checked, actor=current_user
        )
    except services.NotAllowed as exc:
        db.session.rollback()
        abort(403, str(exc))
    db.session.commit()
    if is_htmx():
        data = queries.roster(klass, only_user_id=student.id)
        response = render_page(
            "dashboard/_roster_row.html",
            "dashboard/_roster_row.html",
            row=data.rows[0],
            klass=klass,
            roster=data,
            saved=True,
        )
        return response
    flash(f"Requirements of {student.name} saved.", "success")
    return redirect(
        url_for(
            "dashboard.roster",
            class_id=klass.id,
            q=request.form.get("q") or None,
            page=request.form.get("page", type=int) or None,
            _anchor=f"student-{student.id}",
        )
    )


@bp.post("/classes/<int:class_id>/students/<int:user_id>/remove")
@role_required(*STAFF)
def remove_student(class_id: int, user_id: int):
    klass = _staff_class(class_id)
    student = _member(klass, user_id)
    services.remove_student(klass, student, actor=current_user)
    db.session.commit()
    flash(f"{student.name} is no longer in {klass.name}.", "success")
    return redirect(url_for("dashboard.roster", class_id=klass.id))


@bp.post("/classes/<int:class_id>/rotate-code")
@role_required(*STAFF)
def rotate_code(class_id: int):
    klass = _staff_class(class_id)
    try:
        code = services.rotate_code(klass, actor=current_user)
    except services.ClassError as exc:
        db.session.rollback()
        flash(str(exc), "error")
        return redirect(url_for("dashboard.roster", class_id=klass.id))
    db.session.commit()
    if is_htmx():
        return render_page(
            "dashboard/_join_code.html", "dashboard/_join_code.html", klass=klass, rotated=True
        )
    flash(f"New join code: {code}. The old code no longer works.", "success")
    return redirect(url_for("dashboard.roster", class_id=klass.id))


@bp.post("/classes/<int:class_id>/archive")
@role_required(*STAFF)
def archive(class_id: int):
    klass = _staff_class(class_id)
    try:
        services.archive_class(klass, actor=current_user)
    except services.ClassError as exc:
        db.session.rollback()
        abort(409, str(exc))
    db.session.commit()
    flash(f"“{klass.name}” is archived; its join code no longer works.", "success")
    return redirect(url_for("dashboard.roster", class_id=klass.id))


# -- students -----------------------------------------------------------------------------


@bp.route("/join", methods=["GET", "POST"])
@role_required(Role.STUDENT)
def join():
    form = ClassJoinForm()
    if request.method == "GET" and request.args.get("code"):
        form.join_code.data = request.args["code"]
    if form.validate_on_submit():
        try:
            klass, joined = services.join_class(current_user, form.join_code.data, actor=current_user)
        except services.ClassError as exc:
            db.session.rollback()
            form.join_code.errors.append(str(exc))
        else:
            db.session.commit()
            if joined:
                flash(f"Welcome to {klass.name}, taught by {klass.instructor.name}.", "success")
            else:
                flash(f"You are already in {klass.name}.", "info")
            return redirect(url_for("dashboard.index"))
    status = 422 if form.errors else 200
    return render_page("dashboard/join.html", "dashboard/_join_form.html", status=status, form=form)


@bp.post("/classes/<int:class_id>/leave")
@role_required(Role.STUDENT)
def leave(class_id: int):
    klass = db.get_or_404(Klass, class_id)
    try:
        services.leave_class(current_user, klass, actor=current_user)
    except services.ClassError:
        db.session.rollback()
        not_yours()
    db.session.commit()
    flash(f"You left {klass.name}.", "success")
    return redirect(url_for("dashboard.classes"))
