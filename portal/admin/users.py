"""Accounts: search, create, and one user's role, status, consent, lock and sessions."""
from __future__ import annotations

from datetime import date

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user

from portal import dates, jobs, refused
from portal.account import services as account_services
from portal.admin import bp, forms, queries, services
from portal.auth import passkeys, tokens, two_factor
from portal.auth import services as accounts
from portal.auth.second_factor import require_fresh_second_factor
from portal.auth.two_factor_mail import send_change_notice
from portal.exceptions import commit_or_show, form_status
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.licenses import rules
from portal.licenses import services as lifecycle
from portal.models.user import User, UserStatus
from portal.privacy import erasure, export


@bp.get("/users")
def users():
    filters = {
        "q": request.args.get("q", "")[:120],
        "role": request.args.get("role", ""),
        "status": request.args.get("status", ""),
        "sort": request.args.get("sort", "name"),
    }
    errors: dict[str, str] = {}
    for name, choices, message in (
        ("role", forms.ROLE_CHOICES, _("Choose one of the roles listed.")),
        ("status", forms.STATUS_CHOICES, _("Choose one of the statuses listed.")),
        ("sort", queries.USER_SORTS, _("Choose one of the orders listed.")),
    ):
        allowed = {c[0] if isinstance(c, tuple) else c for c in choices}
        if filters[name] and filters[name] not in allowed:
            errors[name] = message
            filters[name] = "name" if name == "sort" else ""
    filters["sort"] = filters["sort"] or "name"
    page = queries.users_page(**filters, after=request.args.get("after"))
    active = {k: v for k, v in filters.items() if v and not (k == "sort" and v == "name")}
    return render_page(
        "admin/users.html", "admin/_user_results.html", status=422 if errors else 200,
        results=page, filters=filters, active=active, errors=errors,
        roles=forms.ROLE_CHOICES, statuses=forms.STATUS_CHOICES, sorts=queries.USER_SORT_LABELS,
        archived_count=0 if filters["status"] else queries.archived_count(), created=dates.days_of(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
def user_new():
    form = forms.UserCreateForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.create_account,
        name=form.name.data, email=form.email.data, role=form.role.data,
        date_of_birth=form.date_of_birth.data, actor=current_user,
    )):
        user = done.value
        sent = tokens.send_set_password_link(user, current_user)
        db.session.commit()
        if sent:
            flash(_("Account created. %(email)s has been e-mailed a link to choose a password.",
                    email=user.email), "success")
        else:
            flash(_("Account created, but the e-mail to %(email)s could not be sent. "
                    "Use “Send set-password link” to try again.", email=user.email), "warning")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return render_template("admin/user_new.html", form=form), form_status(form)


# The user page's forms, each posting to an address of its own: ``name`` -> form class.
USER_FORMS = {
    "role": forms.UserRoleForm,
    "status": forms.UserStatusForm,
    "consent": forms.ConsentForm,
    "specializations": forms.InstructorSpecializationsForm,
    "withdraw": forms.ConsentWithdrawForm,
    "details": forms.UserDetailsForm,
    "archive": forms.ArchiveForm,
    "two_factor": forms.TwoFactorResetForm,
    "erase": forms.EraseForm,
    "export": forms.GuardianExportForm,
}
# Where on the page each form is (the redirect after a refusal scrolls to it).
USER_FORM_PLACES = {"specializations": "teaching", "consent": "account-consent",
                    "withdraw": "account-consent", "details": "account-details",
                    "two_factor": "account-access", "erase": "account-erase", "export": "account-erase"}


def _user_page(user: User, form=None, **overrides):
    """The user page; ``form``, when given, is the one sent and shown again with its errors
    (htmx); a form refused without htmx comes back from the session (``refused.again``)."""
    taught = rules.specializations_of(user, include_archived=True)
    ctx = {
        "role_form": forms.UserRoleForm(role=user.role, formdata=None),
        "status_form": forms.UserStatusForm(status=user.status, formdata=None),
        "consent_form": forms.ConsentForm(formdata=None),
        "withdraw_form": forms.ConsentWithdrawForm(formdata=None),
        "details_form": forms.UserDetailsForm(
            name=user.name, given_name=user.given_name, family_name=user.family_name, email=user.email,
            date_of_birth=user.date_of_birth, formdata=None),
        "archive_form": forms.ArchiveForm(formdata=None),
        "two_factor_form": forms.TwoFactorResetForm(formdata=None),
        "passkey_count": len(passkeys.user_passkeys(user)),
        "erase_form": forms.EraseForm(formdata=None),
        "export_form": forms.GuardianExportForm(formdata=None),
        "specializations_form": forms.InstructorSpecializationsForm(
            specializations=[str(s.id) for s in taught], formdata=None
        ),
    }
    for name, form_class in USER_FORMS.items():
        if (kept := refused.again(name, form_class)) is not None:
            ctx[f"{name}_form"] = form = kept
    ctx.update(overrides)
    return render_template(
        "admin/user_detail.html",
        user=user, needs_consent=rules.needs_guardian_consent(user), today=date.today(),
        taught=taught, teachable=queries.teachable_specializations(taught),
        consents=lifecycle.consent_history(user), consent_in_force=lifecycle.current_consent(user),
        consent_methods=dict(forms.CONSENT_METHODS),
        **queries.user_overview(user), **ctx,
    ), refused.page_status(form)


@bp.get("/users/<int:user_id>")
def user_detail(user_id: int):
    return _user_page(db.get_or_404(User, user_id))


def _refused(user: User, name: str, form):
    """A form of the user page refused: shown again on the page (see ``portal.refused``)."""
    page = url_for("admin.user_detail", user_id=user.id, _anchor=USER_FORM_PLACES.get(name, "manage"))
    return refused.show_again(form, name, page, lambda: _user_page(user, form, **{f"{name}_form": form}))


@bp.post("/users/<int:user_id>/role")
@require_fresh_second_factor
def user_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.UserRoleForm()
    if form.validate_on_submit() and commit_or_show(
        form, services.change_role, user, form.role.data, current_user, form.reason.data
    ):
        flash(_("%(name)s is now %(role)s; their sessions have ended.",
                name=user.name, role=str(forms.ROLE_NAMES.get(user.role, user.role)).lower()), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _refused(user, "role", form)


@bp.post("/users/<int:user_id>/status")
@require_fresh_second_factor
def user_status(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.UserStatusForm()
    if form.validate_on_submit() and commit_or_show(
        form, services.change_status, user, form.status.data, current_user, form.reason.data
    ):
        flash(_("%(name)s's account is now %(status)s.",
                name=user.name, status=str(forms.USER_STATUS_NAMES.get(user.status, user.status)).lower()),
              "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _refused(user, "status", form)


@bp.post("/users/<int:user_id>/specializations")
def user_specializations(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.InstructorSpecializationsForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.set_specializations, user, form.specializations.data, current_user
    )):
        taught = ", ".join(s.local_name for s in rules.specializations_of(user, include_archived=True))
        if not done.value:
            flash(_("Nothing changed."), "info")
        elif taught:
            flash(_("%(name)s now teaches %(specializations)s.", name=user.name, specializations=taught),
                  "success")
        else:
            flash(_("%(name)s no longer teaches any specialization.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id, _anchor="teaching"))
    return _refused(user, "specializations", form)


@bp.post("/users/<int:user_id>/consent")
def user_consent(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.ConsentForm()
    if form.validate_on_submit() and commit_or_show(
        form, lifecycle.record_guardian_consent, user, current_user, form.guardian_name.data,
        form.relationship.data, form.method.data, form.note.data,
    ):
        flash(_("Guardian consent recorded for %(name)s.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id, _anchor="account-consent"))
    return _refused(user, "consent", form)


@bp.post("/users/<int:user_id>/consent/withdraw")
def user_consent_withdraw(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.ConsentWithdrawForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, lifecycle.withdraw_guardian_consent, user, current_user, form.reason.data
    )):
        account_services.tell_consent_withdrawn(user, done.value)
        flash(ngettext("Consent withdrawn; %(num)d license of %(name)s is suspended.",
                       "Consent withdrawn; %(num)d licenses of %(name)s are suspended.",
                       len(done.value), name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id, _anchor="account-consent"))
    return _refused(user, "withdraw", form)


@bp.post("/users/<int:user_id>/details")
def user_details(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.UserDetailsForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.correct_details, user, name=form.name.data, given_name=form.given_name.data,
        family_name=form.family_name.data, email=form.email.data,
        date_of_birth=form.date_of_birth.data, reason=form.reason.data, actor=current_user,
    )):
        flash(_("The details of %(name)s are corrected.", name=user.name) if done.value
              else _("Nothing changed."), "success" if done.value else "info")
        return redirect(url_for("admin.user_detail", user_id=user.id, _anchor="account-details"))
    return _refused(user, "details", form)


@bp.post("/users/<int:user_id>/archive")
@require_fresh_second_factor
def user_archive(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.ArchiveForm()
    if form.validate_on_submit() and commit_or_show(
        form, services.archive_account, user, current_user, form.reason.data
    ):
        flash(_("The account of %(name)s is archived; it can no longer log in.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _refused(user, "archive", form)


@bp.post("/users/<int:user_id>/erase")
@require_fresh_second_factor
def user_erase(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.EraseForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, erasure.erase, user, current_user, reason=form.reason.data
    )):
        erasure.forget_files(done.value)
        flash(_("The person's data is erased; the account is now %(name)s.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _refused(user, "erase", form)


@bp.post("/users/<int:user_id>/export")
def user_export(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.GuardianExportForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, export.start, user, current_user, form.reason.data
    )):
        jobs.dispatch(done.value.id)
        flash(_("The export of %(name)s's data is being prepared; "
                "download it from its page and hand it over.",
                name=user.name), "success")
        return redirect(url_for("account.export_status", job_id=done.value.id))
    return _refused(user, "export", form)


@bp.post("/users/<int:user_id>/restore")
@require_fresh_second_factor
def user_restore(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.ArchiveForm()
    if form.validate_on_submit() and commit_or_show(
        form, services.restore_account, user, current_user, form.reason.data
    ):
        flash(_("The account of %(name)s is restored.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _refused(user, "archive", form)


@bp.post("/users/<int:user_id>/unlock")
def user_unlock(user_id: int):
    user = db.get_or_404(User, user_id)
    accounts.unlock(user, current_user)
    db.session.commit()
    flash(_("%(name)s's account is unlocked.", name=user.name), "success")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/sessions/end")
def user_end_sessions(user_id: int):
    user = db.get_or_404(User, user_id)
    form = forms.ReasonForm()
    form.validate()
    ended = accounts.end_all_sessions(user, current_user, form.reason.data or "ended_by_admin")
    db.session.commit()
    flash(ngettext("Ended %(num)d session of %(name)s.", "Ended %(num)d sessions of %(name)s.", ended,
                   name=user.name), "success")
    if user.id == current_user.id:
        return redirect(url_for("auth.login"))
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/send-link")
def user_send_link(user_id: int):
    user = db.get_or_404(User, user_id)
    if user.status == UserStatus.SUSPENDED:
        flash(_("A suspended account cannot set a password. Reactivate it first."), "error")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    sent = tokens.send_set_password_link(user, current_user)
    db.session.commit()
    flash(_("A set-password link was e-mailed to %(email)s.", email=user.email) if sent
          else _("The e-mail to %(email)s could not be sent; try again later.", email=user.email),
          "success" if sent else "error")
    return redirect(url_for("admin.user_detail", user_id=user.id))


@bp.post("/users/<int:user_id>/reset-two-factor")
@require_fresh_second_factor
def user_reset_two_factor(user_id: int):
    """Turn off a user's two-factor sign-in (a lost phone and codes), with a reason."""
    user = db.get_or_404(User, user_id)
    form = forms.TwoFactorResetForm()
    if form.validate_on_submit() and commit_or_show(
        form, two_factor.reset_by_admin, user, current_user, form.reason.data
    ):
        send_change_notice(user, "reset", reason=form.reason.data)
        flash(_("Two-factor sign-in of %(name)s is off; their sessions have ended and they were told "
                "by e-mail.", name=user.name), "success")
        return redirect(url_for("admin.user_detail", user_id=user.id))
    return _refused(user, "two_factor", form)
