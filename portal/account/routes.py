from __future__ import annotations

from functools import cache

from flask import current_app, flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, logout_user

from portal import dates
from portal.account import bp, services
from portal.account.forms import EmailChangeForm, ProfileForm
from portal.auth import tokens
from portal.db import begin_write
from portal.exceptions import PortalError, commit_or_show, form_status, show_error
from portal.extensions import db
from portal.htmx import redirect, render_page
from portal.i18n import LANGUAGES
from portal.licenses import rules
from portal.licenses import services as lifecycle
from portal.models.notification import Category
from portal.notifications import kinds
from portal.notifications import services as notification_services
from portal.notifications.forms import SWITCHABLE, NotificationPreferencesForm


@cache
def zones() -> list[str]:
    """The zones the list offers: every IANA zone this system knows, by name (the old
    aliases without a region, such as ``EST``, are left out; typed, they still work)."""
    return sorted(z for z in dates.zone_names() if "/" in z or z == "UTC")


def _page(status: int = 200, **forms):
    user = current_user
    profile_form = forms.get("profile_form") or ProfileForm(
        formdata=None, name=user.name, given_name=user.given_name, family_name=user.family_name,
        timezone=user.timezone, locale=user.locale or "en")
    email_form = forms.get("email_form") or EmailChangeForm(formdata=None)
    return render_page(
        "account/index.html", forms.get("partial", "account/_profile_form.html"),
        status=status, profile_form=profile_form, email_form=email_form, zones=zones(),
        languages=LANGUAGES, consents=lifecycle.consent_history(user),
        needs_consent=rules.needs_guardian_consent(user),
        # First visit with the zone never chosen: the page's script offers the browser's.
        suggest_browser_zone=user.timezone in ("UTC", current_app.config.get("PORTAL_TIMEZONE")),
    )


@bp.get("")
def index():
    return _page()


@bp.post("/profile")
def profile():
    form = ProfileForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form, services.update_profile, current_user, name=form.name.data, given_name=form.given_name.data,
        family_name=form.family_name.data, timezone=form.timezone.data,
        locale=form.locale.data, actor=current_user,
    )):
        flash(_("Your profile is saved.") if done.value else _("Nothing changed."),
              "success" if done.value else "info")
        return redirect(url_for("account.index"))
    return _page(form_status(form), profile_form=form)


@bp.post("/email")
def email():
    form = EmailChangeForm()
    if form.validate_on_submit():
        try:
            outgoing = services.request_email_change(
                current_user, form.new_email.data, form.current_password.data, ip=request.remote_addr)
        except PortalError as exc:
            db.session.commit()  # a wrong current password is audited and counted
            tokens.send_lockout_notices(getattr(exc, "locks_started", ()))
            show_error(form, exc)
        else:
            # Sent before the commit: mail that cannot go out leaves everything as it was.
            if all(message.send() for message in outgoing):
                db.session.commit()
                flash(_("We have sent a link to %(email)s. Your address changes when you open it "
                        "(within 24 hours); until then, keep using the current one.",
                        email=form.new_email.data.strip().lower()), "info")
                return redirect(url_for("account.index"))
            db.session.rollback()
            form.form_errors.append(_("The e-mail could not be sent, so nothing changed. Try again later."))
            form.error_status = 503
    return _page(form_status(form), email_form=form, partial="account/_email_form.html")


def _link_page(message: str, status: int = 400):
    advice = _("To change your e-mail address, ask again from your account page: we will send a new link.")
    return render_template("link_invalid.html", message=message, advice=advice,
                           again_url=url_for("account.index")), status


@bp.get("/confirm-email/<token>")
def confirm_email(token: str):
    begin_write(db.session)  # a GET that writes: the link in the mail
    try:
        user = services.confirm_email_change(token)
    except PortalError as exc:
        db.session.rollback()
        return _link_page(exc.message)
    db.session.commit()
    flash(_("Your e-mail address is now %(email)s.", email=user.email), "success")
    if current_user.is_authenticated and current_user.id == user.id:
        return redirect(url_for("account.index"))
    return redirect(url_for("auth.login"))


@bp.route("/cancel-email/<token>", methods=["GET", "POST"])
def cancel_email(token: str):
    if request.method == "GET":
        # A page with a button, not a change on GET: mail scanners open links too.
        try:
            user = services.user_for_link(token, services.CANCEL)
        except PortalError as exc:
            return _link_page(exc.message)
        return render_template("account/cancel_email.html", token=token, pending=user.pending_email)
    try:
        user = services.cancel_email_change(token)
    except PortalError as exc:
        db.session.rollback()
        return _link_page(exc.message)
    db.session.commit()
    if current_user.is_authenticated and current_user.id == user.id:
        session.clear()
        logout_user()
    flash(_("The change of address is cancelled and your account is logged out everywhere. "
            "Log in and change your password."), "success")
    return redirect(url_for("auth.login"))


@bp.route("/notifications", methods=["GET", "POST"])
def notifications():
    """E-mail per category: at once, in a daily summary, or not at all (security: always)."""
    modes = notification_services.preferences(current_user.id)
    form = NotificationPreferencesForm(data=modes if request.method == "GET" else None)
    if form.validate_on_submit() and (done := commit_or_show(
        form, notification_services.set_preferences, current_user,
        {c: getattr(form, c).data for c in SWITCHABLE}, current_user,
    )):
        flash(_("Your notification settings are saved.") if done.value else _("Nothing changed."),
              "success" if done.value else "info")
        return redirect(url_for("account.notifications"))
    return render_template("account/notifications.html", form=form, modes=modes,
                           labels=kinds.CATEGORY_LABELS, hints=kinds.CATEGORY_HINTS,
                           security=Category.SECURITY), form_status(form)
