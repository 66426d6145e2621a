"""The class pages. Who may open each one is decided once, by the blueprint's guard."""
from __future__ import annotations

import sqlalchemy as sa
from flask import Response, abort, flash, render_template, request, session, stream_with_context, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_user

from portal import jobs
from portal import refused as kept
from portal.account.services import tell_consent_withdrawn
from portal.achievements import services as achievements
from portal.achievements.forms import ClassSummaryForm
from portal.admin.forms import CONSENT_METHODS, ConsentForm, ConsentWithdrawForm
from portal.audit import actions
from portal.auth.forms import PASSWORD_HINT
from portal.auth.services import find_user_by_email
from portal.classes import bp, invitations, invitations_bp, queries, reports, services
from portal.classes.forms import (
    ClassCreateForm,
    ClassEditForm,
    ClassJoinForm,
    InvitationRegisterForm,
    InviteForm,
)
from portal.db import begin_write, utcnow
from portal.errors import record_refusal
from portal.exceptions import commit_or_show, form_status, show_error
from portal.extensions import db
from portal.htmx import is_htmx, redirect, render_page
from portal.licenses import queries as license_queries
from portal.licenses import rules, visibility
from portal.licenses import services as lifecycle
from portal.limits import Limit, accepted, by_user, limited, refused
from portal.models.catalogue import Requirement
from portal.models.klass import ClassInvitation, Klass
from portal.models.user import Role, User
from portal.params import int_arg, parse_int
from portal.permissions import not_yours


def _render_classes(form: ClassCreateForm | None, status: int = 200, assigned=()):
    """The class list; ``assigned``: the instructor's specializations, archived included
    (the empty state tells "none assigned" from "all archived")."""
    if current_user.role == Role.STUDENT:
        classes = [queries.ClassSummary(k, 0) for k in queries.classes_of_student(current_user)]
    else:
        classes = queries.classes_of(current_user if current_user.role == Role.INSTRUCTOR else None)
    return render_template(
        "classes/index.html", classes=classes, form=form, assigned=assigned
    ), status


@bp.route("/classes", methods=["GET", "POST"])
def index():
    if current_user.role != Role.INSTRUCTOR:
        if request.method == "POST":
            abort(403)  # admins see every class; instructors run them
        return _render_classes(None)
    form = ClassCreateForm()
    assigned = rules.specializations_of(current_user, include_archived=True)
    taught = {s.id: s for s in assigned if s.archived_at is None}
    form.specialization.choices = [(s.id, s.local_name) for s in taught.values()]
    if form.validate_on_submit():
        spec = taught.get(form.specialization.data)
        if spec is None:  # not offered: another specialization, or none at all
            form.specialization.errors.append(
                _("Choose one of the specializations you teach. An admin assigns them.")
            )
        elif done := commit_or_show(
            form,
            services.create_class,
            current_user,
            form.name.data,
            spec,
            form.description.data or "",
            actor=current_user,
        ):
            klass = done.value
            flash(_("Class “%(class_name)s” created. Its join code is %(code)s.", class_name=klass.name,
                    code=klass.join_code), "success")
            return redirect(url_for("classes.roster", class_id=klass.id))
    return _render_classes(form, form_status(form), assigned)


def _staff_class(class_id: int) -> Klass:
    """The class, if the current instructor runs it (or the user is an admin); else 404."""
    klass = queries.class_for_viewer(class_id)
    if klass is None:
        abort(404)
    if current_user.role != Role.ADMIN and klass.instructor_id != current_user.id:
        not_yours()
    return klass


def _member(klass: Klass, user_id: int) -> User:
    student = queries.member(klass, user_id)
    if student is None:
        abort(404)
    return student


def _roster_page(klass: Klass, edit_form: ClassEditForm | None = None):
    """The roster; ``edit_form`` is the edit form shown again (htmx), or one refused
    without htmx, taken back from the session."""
    edit_form = edit_form or kept.again("edit", ClassEditForm)
    data = queries.roster(
        klass, request.args.get("q", ""), int_arg("page", 1, lo=1), viewer=current_user
    )
    return render_page(
        "classes/roster.html", "classes/_roster.html", status=kept.page_status(edit_form),
        roster=data, klass=klass, bulk_levels=reports.levels_of(klass),
        invitations=invitations.invitations_of(klass), now=utcnow(),
        edit_form=edit_form or ClassEditForm(formdata=None, obj=klass),
        summary=achievements.class_summary(klass) if klass.achievements_summary else None,
        summary_form=ClassSummaryForm(formdata=None, on=klass.achievements_summary),
    )


@bp.get("/classes/<int:class_id>")
def roster(class_id: int):
    return _roster_page(_staff_class(class_id))


@bp.post("/classes/<int:class_id>/edit")
def edit(class_id: int):
    klass = _staff_class(class_id)
    form = ClassEditForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.edit_class, klass, form.name.data, form.description.data, actor=current_user
    )):
        if done.value:
            flash(_("Class “%(class_name)s” saved.", class_name=klass.name), "success")
        else:
            flash(_("Nothing changed."), "info")
        return redirect(url_for("classes.roster", class_id=klass.id))
    page = url_for("classes.roster", class_id=klass.id, _anchor="edit-class")
    return kept.show_again(form, "edit", page, lambda: _roster_page(klass, form))


@bp.post("/classes/<int:class_id>/unarchive")
def unarchive(class_id: int):
    klass = _staff_class(class_id)
    if not commit_or_show(None, services.unarchive_class, klass, actor=current_user):
        abort(409)  # not archived, or its specialization is; the reason is flashed
    flash(_("“%(class_name)s” is open again; its join code %(code)s works again.",
            class_name=klass.name, code=klass.join_code), "success")
    return redirect(url_for("classes.roster", class_id=klass.id))


@bp.post("/classes/<int:class_id>/students/<int:user_id>/requirements")
def requirements(class_id: int, user_id: int):
    klass = _staff_class(class_id)
    student = _member(klass, user_id)
    checked = {n for v in request.form.getlist("requirement") if (n := parse_int(v)) is not None}
    # Only the boxes the form showed: if the student moved up a level meanwhile, the
    # new level's confirmations are not undone by a form about the old one.
    shown = {n for v in request.form.getlist("shown") if (n := parse_int(v)) is not None}
    reqs = [r for r in queries.requirements_for_next_level(klass, student) if r.id in shown]
    if not commit_or_show(
        None, services.set_requirements, student, reqs, checked, actor=current_user
    ):
        abort(403)  # the only refusal: the class is archived, or no longer the actor's
    if is_htmx():
        data = queries.roster(klass, only_user_id=student.id, viewer=current_user)
        return render_page(
            "classes/_roster_row.html",
            "classes/_roster_row.html",
            row=data.rows[0],
            klass=klass,
            roster=data,
            saved=True,
        )
    flash(_("Requirements of %(name)s saved.", name=student.name), "success")
    return redirect(
        url_for(
            "classes.roster",
            class_id=klass.id,
            q=request.form.get("q") or None,
            page=request.form.get("page", type=int) or None,
            _anchor=f"student-{student.id}",
        )
    )


@bp.post("/classes/<int:class_id>/students/<int:user_id>/remove")
def remove_student(class_id: int, user_id: int):
    klass = _staff_class(class_id)
    student = _member(klass, user_id)
    if commit_or_show(None, services.remove_student, klass, student, actor=current_user):
        flash(_("%(name)s is no longer in %(class_name)s.", name=student.name, class_name=klass.name),
              "success")
    return redirect(url_for("classes.roster", class_id=klass.id))


@bp.post("/classes/<int:class_id>/rotate-code")
def rotate_code(class_id: int):
    klass = _staff_class(class_id)
    done = commit_or_show(None, services.rotate_code, klass, actor=current_user)
    if done and is_htmx():
        return render_page(
            "classes/_join_code.html", "classes/_join_code.html", klass=klass, rotated=True
        )
    if done:
        flash(_("New join code: %(code)s. The old code no longer works.", code=done.value), "success")
    return redirect(url_for("classes.roster", class_id=klass.id))


@bp.post("/classes/<int:class_id>/archive")
def archive(class_id: int):
    klass = _staff_class(class_id)
    if not commit_or_show(None, services.archive_class, klass, actor=current_user):
        abort(409)  # already archived; the reason is flashed
    flash(_("“%(class_name)s” is archived; its join code no longer works.", class_name=klass.name), "success")
    return redirect(url_for("classes.roster", class_id=klass.id))


@bp.get("/classes/<int:class_id>/roster.csv")
def roster_csv(class_id: int):
    klass = _staff_class(class_id)
    name = f"roster-{klass.join_code}.csv"
    response = Response(stream_with_context(reports.roster_rows(klass)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/classes/<int:class_id>/report")
def report(class_id: int):
    klass = _staff_class(class_id)
    return render_template("classes/report.html", klass=klass, report=reports.class_report(klass))


@bp.post("/classes/<int:class_id>/requirements/bulk")
def bulk_confirm(class_id: int):
    """Confirm one requirement for the students ticked on the roster."""
    klass = _staff_class(class_id)
    requirement = db.session.get(Requirement, parse_int(request.form.get("requirement")) or 0)
    ids = {n for v in request.form.getlist("student") if (n := parse_int(v)) is not None}
    students = list(db.session.scalars(sa.select(User).where(User.id.in_(ids)))) if ids else []
    if len(students) != len(ids):
        abort(404)
    if requirement is None:
        flash(_("Choose one of this class's requirements."), "error")
    elif done := commit_or_show(
        None, services.confirm_for_students, klass, requirement, students, actor=current_user
    ):
        flash(ngettext("%(title)s confirmed for %(num)d student.",
                       "%(title)s confirmed for %(num)d students.", done.value,
                       title=requirement.title), "success")
    return redirect(url_for("classes.roster", class_id=klass.id,
                            q=request.form.get("q") or None,
                            page=request.form.get("page", type=int) or None))


@bp.get("/classes/<int:class_id>/students/<int:user_id>")
def student(class_id: int, user_id: int):
    """What the instructor may see of one student: their licenses, requests and history in
    the specializations the instructor teaches them (an admin sees all)."""
    klass = _staff_class(class_id)
    member = _member(klass, user_id)
    licenses = [lic for lic in license_queries.licenses_of(member)
                if visibility.reader_of(current_user, lic) == visibility.STAFF]
    specs = {lic.specialization_id for lic in licenses}
    if current_user.is_admin or rules.teaches(current_user, member, klass.specialization_id):
        specs.add(klass.specialization_id)
    requests = [r for r in license_queries.requests_of(member) if r.specialization_id in specs]
    return render_template(
        "classes/student.html", klass=klass, student=member,
        licenses=[(lic, visibility.history_for(license_queries.history_of(lic), visibility.STAFF))
                  for lic in licenses],
        requests=requests,
        progress=rules.progress(member.id, klass.specialization,
                                next((lic for lic in licenses
                                      if lic.specialization_id == klass.specialization_id), None))
        if klass.specialization_id in specs else None,
    )


# -- invitations --------------------------------------------------------------------------


def _sent_invitations(response) -> bool:
    """A confirmed batch (not a preview): what the per-instructor daily limit counts."""
    return response.status_code < 400 and bool(request.form.get("confirm"))


INVITE_LIMITS = (Limit("RATELIMIT_INVITE_PER_USER", key=by_user, counts=_sent_invitations),)


def _invite_page(klass: Klass, form: InviteForm, status: int = 200, preview=None, entries=()):
    return render_template(
        "classes/invite.html", klass=klass, form=form, preview=preview, entries=entries,
        max_rows=invitations.MAX_ROWS, days=invitations.VALID_DAYS, entries_json=invitations.entries_json,
    ), status


@bp.route("/classes/<int:class_id>/invite", methods=["GET", "POST"])
@limited(*INVITE_LIMITS)
def invite(class_id: int):
    """Addresses or a CSV file, then a preview, then (``confirm``) the invitations."""
    klass = _staff_class(class_id)
    form = InviteForm()
    if not form.validate_on_submit():
        return _invite_page(klass, form, form_status(form))
    if request.form.get("confirm"):
        entries = invitations.entries_from_json(request.form.get("entries", ""))
        if done := commit_or_show(form, invitations.invite, klass, entries, actor=current_user):
            made, job = done.value
            jobs.dispatch(job.id)
            flash(ngettext("%(num)d invitation is on its way.", "%(num)d invitations are on their way.",
                           len(made)), "success")
            return redirect(url_for("classes.roster", class_id=klass.id, _anchor="invitations"))
        return _invite_page(klass, form, form_status(form))
    upload = form.file.data
    try:
        if upload and upload.filename:
            written = invitations.read_csv(upload.stream.read(invitations.MAX_BYTES + 1))
        else:
            written = invitations.read_lines(form.emails.data or "")
    except invitations.InvitationError as exc:
        show_error(form, exc)
        return _invite_page(klass, form, 422)
    if not written:
        form.emails.errors.append(_("Write at least one address, or choose a file."))
        return _invite_page(klass, form, 422)
    preview = invitations.preview(klass, written)
    return _invite_page(klass, form, preview=preview)


def _invitation(klass: Klass, invitation_id: int) -> ClassInvitation:
    invitation = db.session.get(ClassInvitation, invitation_id)
    if invitation is None or invitation.class_id != klass.id:
        abort(404)
    return invitation


@bp.post("/classes/<int:class_id>/invitations/<int:invitation_id>/resend")
@limited(Limit("RATELIMIT_INVITE_RESEND_PER_USER", key=by_user, counts=accepted))
def invitation_resend(class_id: int, invitation_id: int):
    klass = _staff_class(class_id)
    invitation = _invitation(klass, invitation_id)
    if done := commit_or_show(None, invitations.resend, invitation, actor=current_user):
        jobs.dispatch(done.value.id)
        flash(_("The invitation of %(email)s was sent again; the earlier link no longer works.",
                email=invitation.email), "success")
    return redirect(url_for("classes.roster", class_id=klass.id, _anchor="invitations"))


@bp.post("/classes/<int:class_id>/invitations/<int:invitation_id>/withdraw")
def invitation_withdraw(class_id: int, invitation_id: int):
    klass = _staff_class(class_id)
    invitation = _invitation(klass, invitation_id)
    if commit_or_show(None, invitations.withdraw, invitation, actor=current_user):
        flash(_("The invitation of %(email)s is withdrawn; its link no longer works.",
                email=invitation.email), "success")
    return redirect(url_for("classes.roster", class_id=klass.id, _anchor="invitations"))


@invitations_bp.route("/join/<token>", methods=["GET", "POST"])
def accept(token: str):
    """The link of an invitation: a logged-in student joins at once; a new address
    registers here; an address with an account logs in first."""
    begin_write(db.session)  # joining writes, though the link is opened with a GET
    try:
        invitation = invitations.invitation_for_token(token)
    except invitations.InvitationError as exc:
        return render_template("classes/invitation.html", problem=exc.message), (
            404 if exc.status == 422 else exc.status)
    klass = invitation.klass
    if current_user.is_authenticated:
        if done := commit_or_show(None, invitations.accept, invitation, current_user, actor=current_user):
            flash(_("Welcome to %(class_name)s, taught by %(instructor)s.", class_name=klass.name,
                    instructor=klass.instructor.name), "success")
            return redirect(url_for("dashboard.index"))
        return render_template("classes/invitation.html", invitation=invitation), 403
    if find_user_by_email(invitation.email) is not None:
        flash(_("You have an account already: log in, and you join %(class_name)s.", class_name=klass.name),
              "info")
        return redirect(url_for("auth.login", next=request.path))
    form = InvitationRegisterForm()
    if request.method == "GET" and invitation.name:
        form.name.data = invitation.name
    if form.validate_on_submit() and (done := commit_or_show(
        form, invitations.register_and_accept, invitation, name=form.name.data,
        password=form.password.data, date_of_birth=form.date_of_birth.data,
        ip=request.remote_addr, user_agent=request.user_agent.string,
    )):
        session.clear()  # a fresh Flask session (so a new CSRF token) for the new login
        login_user(done.value, remember=False)
        flash(_("Welcome to %(class_name)s, taught by %(instructor)s.", class_name=klass.name,
                instructor=klass.instructor.name), "success")
        return redirect(url_for("dashboard.index"))
    return render_template("classes/invitation.html", invitation=invitation, form=form,
                           password_hint=PASSWORD_HINT), form_status(form)


# -- students -----------------------------------------------------------------------------


# Refused codes (a guess, a typo) are limited per student and per IP; joining is not.
JOIN_LIMITS = (
    Limit("RATELIMIT_JOIN_PER_USER", key=by_user, counts=refused),
    Limit("RATELIMIT_JOIN_PER_IP", counts=refused),
)


@bp.route("/join", methods=["GET", "POST"])
@limited(*JOIN_LIMITS)
def join():
    form = ClassJoinForm()
    if request.method == "GET" and request.args.get("code"):
        form.join_code.data = request.args["code"]
    if form.validate_on_submit():
        done = commit_or_show(
            form, services.join_class, current_user, form.join_code.data, actor=current_user
        )
        if done:
            klass, joined = done.value
            if joined:
                flash(_("Welcome to %(class_name)s, taught by %(instructor)s.", class_name=klass.name,
                        instructor=klass.instructor.name), "success")
            else:
                flash(_("You are already in %(class_name)s.", class_name=klass.name), "info")
            return redirect(url_for("dashboard.index"))
        # Aggregated per source and hour, as denials are: a guessing run adds a few rows.
        record_refusal("join_code", actions.CLASS_JOIN_FAILED, form_status(form))
    return render_page(
        "classes/join.html", "classes/_join_form.html", status=form_status(form), form=form
    )


@bp.post("/classes/<int:class_id>/leave")
def leave(class_id: int):
    klass = db.get_or_404(Klass, class_id)
    if commit_or_show(None, services.leave_class, current_user, klass, actor=current_user):
        flash(_("You left %(class_name)s.", class_name=klass.name), "success")
    return redirect(url_for("classes.index"))


# -- guardian consent, recorded by an instructor of the student ----------------------------


def _consent_page(klass: Klass, student: User, status: int = 200, **forms_given):
    return render_template(
        "classes/consent.html", klass=klass, student=student,
        consent_form=forms_given.get("consent_form") or ConsentForm(formdata=None),
        withdraw_form=forms_given.get("withdraw_form") or ConsentWithdrawForm(formdata=None),
        consents=lifecycle.consent_history(student), consent_in_force=lifecycle.current_consent(student),
        needs_consent=rules.needs_guardian_consent(student), consent_methods=dict(CONSENT_METHODS),
        record_url=url_for("classes.consent", class_id=klass.id, user_id=student.id),
        withdraw_url=url_for("classes.consent_withdraw", class_id=klass.id, user_id=student.id),
    ), status


@bp.route("/classes/<int:class_id>/students/<int:user_id>/consent", methods=["GET", "POST"])
def consent(class_id: int, user_id: int):
    klass = _staff_class(class_id)
    student = _member(klass, user_id)
    form = ConsentForm()
    if form.validate_on_submit() and commit_or_show(
        form, lifecycle.record_guardian_consent, student, current_user, form.guardian_name.data,
        form.relationship.data, form.method.data, form.note.data,
    ):
        flash(_("Guardian consent recorded for %(name)s.", name=student.name), "success")
        return redirect(url_for("classes.roster", class_id=klass.id, _anchor=f"student-{student.id}"))
    return _consent_page(klass, student, form_status(form), consent_form=form)


@bp.post("/classes/<int:class_id>/students/<int:user_id>/consent/withdraw")
def consent_withdraw(class_id: int, user_id: int):
    klass = _staff_class(class_id)
    student = _member(klass, user_id)
    form = ConsentWithdrawForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, lifecycle.withdraw_guardian_consent, student, current_user, form.reason.data
    )):
        tell_consent_withdrawn(student, done.value)
        flash(ngettext("Consent withdrawn; %(num)d license of %(name)s is suspended.",
                       "Consent withdrawn; %(num)d licenses of %(name)s are suspended.",
                       len(done.value), name=student.name), "success")
        return redirect(url_for("classes.consent", class_id=klass.id, user_id=student.id))
    return _consent_page(klass, student, form_status(form), withdraw_form=form)
