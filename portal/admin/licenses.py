"""Licenses: the filtered list, issuing one, and the lifecycle actions on one license.

These are the only routes that suspend, revoke, reinstate or renew a license; the
license page (``licenses.detail``) shows an admin the same controls, posting here.
Suspending and revoking are confirmed on a page of their own that says what will happen.
"""
from __future__ import annotations

from flask import flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal import refused
from portal.admin import bp, forms, queries, services
from portal.auth.second_factor import require_fresh_second_factor
from portal.exceptions import commit_or_show, form_status
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.licenses import queries as license_queries
from portal.licenses import services as lifecycle
from portal.licenses.forms import LevelSetForm, NoteForm, RevokeForm, SuspendForm
from portal.models.catalogue import Specialization
from portal.models.license import License, LicenseStatus
from portal.params import filter_args, int_filter

LICENSE_FILTERS = ("specialization", "level", "status", "expiring", "holder")  # the list's query names


@bp.get("/licenses")
def licenses():
    errors: dict[str, str] = {}
    specs = queries.specialization_choices(True)
    status = request.args.get("status", "")
    if status and status not in LicenseStatus.ALL:
        errors["status"] = _("Choose one of the statuses listed.")
        status = ""
    filters = {
        "spec_id": int_filter("specialization", errors, lo=1),
        "level": int_filter("level", errors, lo=1, hi=100),
        "status": status,
        "expiring_days": int_filter("expiring", errors, lo=0, hi=3650),
        "holder": request.args.get("holder", "")[:120],
    }
    if filters["spec_id"] is not None and filters["spec_id"] not in {value for value, _ in specs}:
        errors["specialization"] = _("Choose one of the specializations listed.")
        filters["spec_id"] = None
    page = queries.licenses_page(**filters, after=request.args.get("after"))
    args = filter_args(LICENSE_FILTERS)
    return render_page(
        "admin/licenses.html", "admin/_license_results.html", status=422 if errors else 200,
        results=page, filters=filters, args=args, specs=specs,
        statuses=LicenseStatus.ALL, errors=errors,
    )


@bp.route("/licenses/issue", methods=["GET", "POST"])
def license_issue():
    form = forms.LicenseIssueForm()
    form.specialization.choices = forms.options(queries.specialization_choices())
    if request.method == "GET" and request.args.get("email"):
        form.email.data = request.args["email"]
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.issue_to, form.email.data, db.session.get(Specialization, form.specialization.data),
        form.level.data, current_user,
    )):
        license = done.value
        flash(_("License %(code)s issued to %(name)s.", code=license.code, name=license.holder.name),
              "success")
        return _to_license(license)
    return render_template("admin/license_issue.html", form=form), form_status(form)


def _to_license(license: License):
    return redirect(url_for("admin.license_detail", license_id=license.id))


def _license_page(license: License, note_form=None, level_form=None):
    """The license page; ``note_form`` (reinstate, renew) or ``level_form`` (set level) is
    a form shown again (htmx), or one refused without htmx, taken back from the session
    (``refused.again``)."""
    note_form = note_form or refused.again("note", NoteForm)
    level_form = level_form or refused.again("level", LevelSetForm)
    return render_template(
        "admin/license_detail.html", license=license,
        history=license_queries.history_of(license),  # newest first, as everywhere
        note_form=note_form or NoteForm(formdata=None),
        level_form=level_form or LevelSetForm(formdata=None),
    ), refused.page_status(note_form or level_form)


@bp.get("/licenses/<int:license_id>")
def license_detail(license_id: int):
    return _license_page(db.get_or_404(License, license_id))


@bp.route("/licenses/<int:license_id>/suspend", methods=["GET", "POST"])
@require_fresh_second_factor
def license_suspend(license_id: int):
    license = db.get_or_404(License, license_id)
    form = SuspendForm()
    if form.validate_on_submit() and commit_or_show(form, lifecycle.suspend, license, current_user,
                                                    form.note.data):
        flash(_("License %(code)s is suspended.", code=license.code), "success")
        return _to_license(license)
    return render_template("admin/license_suspend.html", license=license, form=form), form_status(form)


@bp.route("/licenses/<int:license_id>/revoke", methods=["GET", "POST"])
@require_fresh_second_factor
def license_revoke(license_id: int):
    license = db.get_or_404(License, license_id)
    form = RevokeForm()
    if form.validate_on_submit() and commit_or_show(
        form, lifecycle.revoke, license, current_user, form.reason_category.data, form.note.data
    ):
        flash(_("License %(code)s is revoked.", code=license.code), "success")
        return _to_license(license)
    return render_template("admin/license_revoke.html", license=license, form=form), form_status(form)


def _note_action(license_id: int, service, done):
    """Reinstate or renew, with an optional note; a refusal is shown on the license page."""
    license = db.get_or_404(License, license_id)
    form = NoteForm()
    if form.validate_on_submit() and commit_or_show(form, service, license, current_user, form.note.data):
        flash(done(license.code), "success")
        return _to_license(license)
    page = url_for("admin.license_detail", license_id=license.id, _anchor="actions")
    return refused.show_again(form, "note", page, lambda: _license_page(license, form))


@bp.post("/licenses/<int:license_id>/reinstate")
def license_reinstate(license_id: int):
    return _note_action(license_id, lifecycle.reinstate,
                        lambda code: _("License %(code)s is active again.", code=code))


@bp.post("/licenses/<int:license_id>/renew")
def license_renew(license_id: int):
    return _note_action(license_id, lifecycle.renew,
                        lambda code: _("License %(code)s is renewed.", code=code))


@bp.post("/licenses/<int:license_id>/set-level")
def license_set_level(license_id: int):
    """Correct the level to any level of the specialization (up or down), with a reason."""
    license = db.get_or_404(License, license_id)
    form = LevelSetForm()
    if form.validate_on_submit() and commit_or_show(
        form, lifecycle.set_level, license, form.level.data, current_user, form.reason.data
    ):
        flash(_("License %(code)s is now at level %(level)d.", code=license.code, level=license.level),
              "success")
        return _to_license(license)
    page = url_for("admin.license_detail", license_id=license.id, _anchor="set-level")
    return refused.show_again(form, "level", page, lambda: _license_page(license, level_form=form))
