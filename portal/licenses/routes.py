"""License pages: my licenses, one license, upgrade requests and their review."""

from __future__ import annotations

from flask import current_app, flash, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user
from markupsafe import Markup

from portal.exceptions import commit_or_show, form_status
from portal.htmx import is_htmx, redirect, render_page
from portal.licenses import bp, chain, queries, reviews, rules, services, state, visibility
from portal.licenses.forms import (
    NoteForm,
    RequestApproveForm,
    RequestRejectForm,
    SpecializationSelectForm,
    UpgradeRequestForm,
)
from portal.models.user import Role
from portal.permissions import not_yours, role_required

# --- my licenses ------------------------------------------------------------------


def _index_context(select_form=None):
    user = current_user
    select_form = select_form or SpecializationSelectForm()
    licenses = queries.licenses_of(user)
    return {
        "licenses": licenses,
        "status_views": {lic.id: visibility.status_for(lic, visibility.HOLDER) for lic in licenses},
        "requests": queries.requests_of(user),
        "choices": queries.specialization_choices(user) if user.role == Role.STUDENT else [],
        "select_form": select_form,
        "select_error": " ".join([*select_form.specialization.errors, *select_form.form_errors]),
        "needs_consent": rules.needs_guardian_consent(user),
        "queue_size": len(queries.review_queue(user)) if user.role != Role.STUDENT else 0,
    }


@bp.get("/")
def index():
    return render_page("licenses/index.html", "licenses/_index.html", **_index_context())


@bp.post("/select-specialization")
@role_required(Role.STUDENT)
def select_specialization():
    form = SpecializationSelectForm()
    if form.validate():
        spec = queries.specialization_by_code_or_id(form.specialization.data)
        if spec is None:
            form.specialization.errors.append(_("Choose one of the specializations listed."))
        elif done := commit_or_show(form, services.select_specialization, current_user, spec, current_user):
            result = done.value
            if result.license is not None:
                flash(result.message, "success")
                return redirect(url_for("licenses.detail", license_id=result.license.id))
            flash(result.message, "info")
            return redirect(url_for("licenses.index"))
    return render_page(
        "licenses/index.html", "licenses/_index.html", status=form_status(form), **_index_context(form)
    )


# --- one license ---------------------------------------------------------------------


def verification_url(license) -> str:
    return f"{current_app.config['PORTAL_BASE_URL']}/verify/{license.code}"


def _detail_context(license):
    spec = license.specialization
    next_level = rules.next_level(license, spec)
    current, following = rules.progress_toward(
        [(license.holder_id, spec.id, license.level), (license.holder_id, spec.id, next_level)]
    )
    reader = visibility.reader_of(current_user, license)
    pending = queries.pending_request_of_license(license)
    rows = queries.history_of(license)  # newest first; read once for the list and the check
    return {
        "license": license,
        "spec": spec,
        "status_view": visibility.status_for(license, reader),
        "history": visibility.history_for(rows, reader),
        "current_requirements": current.items,
        "next_level": next_level,
        "next_requirements": following.items,
        "pending": pending,
        "following": following,
        "upgrade_problem": rules.upgrade_problem(license, pending),
        "verification_url": verification_url(license),
        "signature_ok": state.check(license),
        "chain": chain.verify_history(license, rows[::-1]),
        # the admin's reinstate or renew note (only admins get the form)
        "note_form": NoteForm(formdata=None) if current_user.role == Role.ADMIN else None,
    }


@bp.get("/<int:license_id>")
def detail(license_id: int):
    license = queries.owned_license_or_404(license_id, current_user)
    return render_page("licenses/detail.html", "licenses/_detail.html", **_detail_context(license))


@bp.route("/<int:license_id>/upgrade", methods=["GET", "POST"])
def upgrade(license_id: int):
    license = queries.owned_license_or_404(license_id, current_user)
    if license.holder_id != current_user.id:
        not_yours()  # only the holder asks for their own next level
    form = UpgradeRequestForm()
    if form.validate_on_submit() and commit_or_show(
        form, reviews.request_upgrade, license, form.reason.data, current_user
    ):
        flash(_("Your request for level %(level)d was sent for review.", level=license.level + 1), "success")
        return redirect(url_for("licenses.detail", license_id=license.id))
    progress = rules.progress(license.holder_id, license.specialization, license)
    pending = queries.pending_request_of_license(license)
    return render_page(
        "licenses/upgrade.html",
        "licenses/_upgrade_form.html",
        status=form_status(form),
        form=form,
        license=license,
        next_level=progress.next_level,
        pending=pending,
        problem=rules.upgrade_problem(license, pending),
        requirements=progress.items,
    )


# --- requests and review -------------------------------------------------------------------


def _queue_context(**extra):
    queue = queries.review_queue(current_user)
    return {
        "queue": queue,
        "requirements": queries.requirements_for(queue),
        "decisions": queries.recent_decisions(current_user),
        "errors": {},
        "typed": {},
        **extra,
    }


@bp.get("/requests/")
@role_required(Role.INSTRUCTOR, Role.ADMIN)
def requests():
    return render_page("licenses/requests.html", "licenses/_queue.html", **_queue_context())


def _decision(request_id: int, form, decide, done_message: str):
    """Approve or reject; a refusal is shown on the request's card (409 when it was
    already decided by someone else)."""
    request = queries.reviewable_request_or_404(request_id, current_user)
    if form.validate_on_submit() and commit_or_show(form, decide, request, form):
        if is_htmx():
            return render_page(
                "licenses/requests.html",
                "licenses/_request_row.html",
                item=request,
                reqs=queries.requirements_for([request])[request.id],
                error=None,
                typed=None,
                done=done_message,
            )
        flash(done_message, "success")
        return redirect(url_for("licenses.requests"))
    error = " ".join(e for errs in form.errors.values() for e in errs)
    status = form_status(form)
    request = queries.reviewable_request_or_404(request_id, current_user)
    if is_htmx():
        return render_page(
            "licenses/requests.html",
            "licenses/_request_row.html",
            status=status,
            item=request,
            reqs=queries.requirements_for([request])[request.id],
            error=error,
            typed=form.note.data,
            done=None,
        )
    context = _queue_context(errors={request.id: error}, typed={request.id: form.note.data})
    if request.status != "pending":
        context["conflict"] = error
    return render_page("licenses/requests.html", "licenses/_queue.html", status=status, **context)


@bp.post("/requests/<int:request_id>/approve")
@role_required(Role.INSTRUCTOR, Role.ADMIN)
def approve(request_id: int):
    def decide(request, form):
        reviews.approve_request(request, current_user, form.note.data)

    done = _("Request approved; the license was updated.")
    return _decision(request_id, RequestApproveForm(), decide, done)


@bp.post("/requests/<int:request_id>/reject")
@role_required(Role.INSTRUCTOR, Role.ADMIN)
def reject(request_id: int):
    def decide(request, form):
        reviews.reject_request(request, current_user, form.note.data)

    form = RequestRejectForm()
    if form.confirmed.data != "yes" and form.validate_on_submit():
        # Reject asks first: a page without JavaScript (the dialog answers "yes" with it).
        request = queries.reviewable_request_or_404(request_id, current_user)
        if request.status == "pending":
            return render_page("licenses/reject_confirm.html", "licenses/_reject_confirm.html",
                               item=request, note=form.note.data.strip())
    return _decision(request_id, form, decide, _("Request rejected; the student can see your note."))


@bp.post("/requests/<int:request_id>/withdraw")
@role_required(Role.STUDENT)
def withdraw(request_id: int):
    request = queries.own_request_or_404(request_id, current_user)
    if not commit_or_show(None, reviews.withdraw_request, request, current_user):
        # After the ownership check the only refusal left is a decision made meanwhile.
        return render_page("licenses/index.html", "licenses/_index.html", status=409, **_index_context())
    flash(_("Your request was withdrawn."), "info")
    if request.license_id:
        return redirect(url_for("licenses.detail", license_id=request.license_id))
    return redirect(url_for("licenses.index"))


@bp.app_template_filter("request_levels")
def request_levels(request) -> str:
    """The levels of a request in words: "Start: level 1", or "Level 1 → 2"."""
    if not request.from_level:
        return _("Start: level %(level)d", level=request.to_level)
    return _("Level %(from_level)d → %(to_level)d", from_level=request.from_level, to_level=request.to_level)


# The words every request card repeats (licenses/_request_card.html), translated once per
# page; those with a placeholder are filled in on each card.
REQUEST_CARD_WORDS = {
    "asked": lazy_gettext("Asked %(when)s"),
    "license": lazy_gettext("license %(code)s"),
    "starting": lazy_gettext(
        "Starting %(specialization)s: decided on eligibility; level 1's requirements come after."),
    "no_requirements": lazy_gettext("No requirements are listed for level %(level)d."),
    "all_met": lazy_gettext("All requirements met for level %(level)d."),
    "needs_note": lazy_gettext("approving needs a note."),
    "note": lazy_gettext("Note"),
    "note_missing": lazy_gettext(
        "(the student sees it; required to reject and to approve, as requirements are missing)"),
    "note_reject": lazy_gettext("(the student sees it; required to reject)"),
    "approve": lazy_gettext("Approve"),
    "reject": lazy_gettext("Reject"),
    "reject_confirm": lazy_gettext("Reject this request? %(name)s will see your note."),
}


@bp.app_template_global()
def request_card_words() -> dict[str, Markup]:
    """The card's words in the reader's language, as a page's ``_()`` gives them (filled in
    with ``|format``, which escapes the values as ``_()`` does)."""
    return {key: Markup(str(word)) for key, word in REQUEST_CARD_WORDS.items()}


# What a pending request waits for: as a label (tables), and as the end of a sentence
# ("Your request ... is waiting for an admin."), each a whole message for translators.
WAITING_LABELS = {
    rules.GUARDIAN_CONSENT: lazy_gettext("Waiting for guardian consent"),
    rules.ADMIN_REVIEW: lazy_gettext("Waiting for an admin"),
    rules.INSTRUCTOR_REVIEW: lazy_gettext("Waiting for your instructor"),
}


@bp.app_template_global()
def request_waiting_label(request) -> str | None:
    """What a pending request waits for, in the same words on every page."""
    label = WAITING_LABELS.get(rules.waiting_for(request))
    return str(label) if label is not None else None


# The same as whole sentences about the student's own request: a start request, then any other.
WAITING_SENTENCES = {
    (True, rules.GUARDIAN_CONSENT): lazy_gettext(
        "Your request to start %(specialization)s is waiting for guardian consent."),
    (True, rules.ADMIN_REVIEW): lazy_gettext(
        "Your request to start %(specialization)s is waiting for an admin."),
    (True, rules.INSTRUCTOR_REVIEW): lazy_gettext(
        "Your request to start %(specialization)s is waiting for your instructor."),
    (False, rules.GUARDIAN_CONSENT): lazy_gettext(
        "Your request for %(specialization)s (%(levels)s) is waiting for guardian consent."),
    (False, rules.ADMIN_REVIEW): lazy_gettext(
        "Your request for %(specialization)s (%(levels)s) is waiting for an admin."),
    (False, rules.INSTRUCTOR_REVIEW): lazy_gettext(
        "Your request for %(specialization)s (%(levels)s) is waiting for your instructor."),
}


@bp.app_template_global()
def request_waiting_sentence(request) -> str | None:
    """"Your request to start Player is waiting for an admin.": what the student's own pending
    request waits for, as a sentence."""
    sentence = WAITING_SENTENCES.get((not request.from_level, rules.waiting_for(request)))
    if sentence is None:
        return None
    return sentence % {"specialization": request.specialization.local_name, "levels": request_levels(request)}


@bp.app_template_global()
def license_status_label(status: str) -> str:
    return visibility.status_label(status)


@bp.app_template_global()
def request_status_label(status: str) -> str:
    return visibility.request_status_label(status)


@bp.app_template_global()
def license_event_label(kind: str) -> str:
    return visibility.history_kind_label(kind)
