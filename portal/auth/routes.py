from __future__ import annotations

from flask import flash, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, logout_user

from portal.auth import (
    bp,
    passkeys,
    registration,
    second_factor,
    services,
    sessions,
    tokens,
    two_factor,
    two_factor_mail,
)
from portal.auth.forms import (
    PASSWORD_HINT,
    ChangePasswordForm,
    ConfirmationLinkForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    StepUpForm,
    TwoFactorForm,
)
from portal.auth.second_factor import client as _client
from portal.auth.second_factor import start_cookie_session as _start_cookie_session
from portal.db import begin_write, utcnow
from portal.exceptions import commit_or_show, form_status, show_error
from portal.extensions import db
from portal.htmx import is_htmx, redirect, render_page
from portal.licenses import rules
from portal.limits import PER_IP_ATTEMPTS, Limit, accepted, throttled
from portal.models.user import TrustedDevice, UserSession
from portal.params import safe_next
from portal.permissions import not_yours

RESET_SESSION_KEY = "reset_token"
CONFIRM_SESSION_KEY = "confirm_email"
_CONFIRM_HOURS = int(tokens.CONFIRM_MAX_AGE.total_seconds() // 3600)

# Per IP: every POST counts toward the brute-force brake; the forms that create an account
# or send a mail are limited further by the submissions they take (form errors are free).
REGISTER_LIMITS = (PER_IP_ATTEMPTS, Limit("RATELIMIT_REGISTER", counts=accepted))
MAIL_LIMITS = (PER_IP_ATTEMPTS, Limit("RATELIMIT_MAIL_PER_IP", counts=accepted))


# -- registration and login --------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@throttled(*REGISTER_LIMITS)
def register():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = RegisterForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form,
        registration.register,
        name=form.name.data,
        email=form.email.data,
        password=form.password.data,
        date_of_birth=form.date_of_birth.data,
    )):
        if done.value.mail is not None:
            done.value.mail.send()
        # The same answer, new address or not (SPEC §2).
        response = render_page(
            "auth/check_inbox.html",
            "auth/_check_inbox.html",
            email=services.normalise_email(form.email.data),
            hours=_CONFIRM_HOURS,
        )
        if is_htmx():  # the whole card is replaced, not only the form
            response.headers["HX-Retarget"] = "#register-card"
            response.headers["HX-Reswap"] = "outerHTML"
        return response
    return render_page(
        "auth/register.html",
        "auth/_register_form.html",
        status=form_status(form),
        form=form,
        password_hint=PASSWORD_HINT,
    )


@bp.get("/verify-email/<token>")
def verify_email(token: str):
    # Confirming writes, though it is a GET (the link in the mail).
    begin_write(db.session)
    try:
        user = registration.confirm_email(token, **_client())
    except tokens.TokenError as exc:
        db.session.rollback()
        return _invalid_link(str(exc), confirmation=True)
    db.session.commit()
    session.pop(CONFIRM_SESSION_KEY, None)
    _start_cookie_session(user, remember=False)
    flash(_("Welcome, %(name)s! Your e-mail address is confirmed and your account is ready.",
            name=user.name), "success")
    if rules.needs_guardian_consent(user):
        flash(
            _("As you are under 18, a parent or guardian's consent must be recorded "
              "by the academy before a license can be issued to you."),
            "info",
        )
    return redirect(url_for("dashboard.index"))


@bp.route("/verify-email", methods=["GET", "POST"])
@throttled(*MAIL_LIMITS)
def confirmation_link():
    """Ask for a new confirmation link; the answer is the same for every address."""
    form = ConfirmationLinkForm()
    if request.method == "GET" and not form.email.data:
        form.email.data = session.get(CONFIRM_SESSION_KEY)
    if form.validate_on_submit():
        message = registration.request_confirmation_link(form.email.data)
        db.session.commit()
        if message is not None:
            message.send()
        flash(
            ngettext("If an account for that address is waiting for confirmation, we have sent it a "
                     "new link. The link works once, for %(num)d hour.",
                     "If an account for that address is waiting for confirmation, we have sent it a "
                     "new link. The link works once, for %(num)d hours.", _CONFIRM_HOURS),
            "info",
        )
        return redirect(url_for("auth.confirmation_link"))
    return render_page(
        "auth/confirmation_link.html",
        "auth/_confirmation_link_form.html",
        status=form_status(form),
        form=form,
    )


@bp.route("/login", methods=["GET", "POST"])
@throttled()
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # Not commit_or_show: a failed attempt is committed too, so it is counted and audited.
        locks_started = ()
        second_step = False
        try:
            user = services.check_password(form.email.data, form.password.data, ip=request.remote_addr)
            device = second_factor.trusted_device_for(user) if second_factor.has_second_factor(user) else None
            if second_factor.has_second_factor(user) and device is None:
                second_step = True
            else:
                method = None
                if device is not None:  # remembered for 30 days: no second step here
                    method, device.last_used_at = "trusted_device", utcnow()
                services.open_session(user, remember=form.remember.data, second_factor=method, **_client())
        except services.Unconfirmed as exc:
            db.session.commit()
            session[CONFIRM_SESSION_KEY] = exc.email
            flash(str(exc.message), "warning")
            return redirect(url_for("auth.confirmation_link"))
        except services.AuthError as exc:
            user, locks_started = None, exc.locks_started
            show_error(form, exc)
        db.session.commit()
        tokens.send_lockout_notices(locks_started)
        if user is not None and second_step:
            second_factor.begin(user, remember=form.remember.data,
                                next_url=safe_next(request.args.get("next")))
            return redirect(url_for("auth.two_factor"))
        if user is not None:
            _start_cookie_session(user, remember=form.remember.data)
            if second_factor.required_for(user) and not second_factor.has_second_factor(user):
                flash(str(second_factor.MUST_ENROL), "warning")
                return redirect(url_for("account.two_factor"))
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    return render_page("auth/login.html", "auth/_login_form.html", status=form_status(form), form=form)


def _check_code(form, purpose: str, user_id: int):
    """Check the code of ``form`` for the second step; the refusal is committed (counted
    and audited) and shown beside the field. Returns what was accepted, or None."""
    try:
        user, accepted = services.second_step(
            user_id, lambda u: two_factor.check_code(u, form.code.data, purpose=purpose),
            ip=request.remote_addr)
    except services.AuthError as exc:
        db.session.commit()
        tokens.send_lockout_notices(exc.locks_started)
        show_error(form, exc)
        return None, None
    return user, accepted


def _recovery_code_notice(user, accepted) -> None:
    if accepted.method == "recovery_code":
        two_factor_mail.send_change_notice(user, "recovery_code_used", codes_left=accepted.codes_left)
        flash(ngettext("You used a recovery code. %(num)d is left.",
                       "You used a recovery code. %(num)d are left.", accepted.codes_left), "warning")


@bp.route("/two-factor", methods=["GET", "POST"], endpoint="two_factor")
@throttled()
def two_factor_page():
    """The second step of a login: a code from the app or a recovery code (or a passkey)."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    user = second_factor.pending_user()
    if user is None:
        flash(_("Log in with your e-mail and password first."), "info")
        return redirect(url_for("auth.login"))
    form = TwoFactorForm()
    if form.validate_on_submit():
        checked, accepted = _check_code(form, "login", user.id)
        if accepted is not None:
            target = second_factor.finish_login(checked, accepted.method,
                                                remember_device=form.remember_device.data)
            _recovery_code_notice(checked, accepted)
            return redirect(target)
    return render_page("auth/two_factor.html", "auth/_two_factor_form.html", status=form_status(form),
                       form=form, action=url_for("auth.two_factor"), step_up=False,
                       device_days=two_factor.TRUSTED_DEVICE_DAYS, **_methods(user))


@bp.route("/step-up", methods=["GET", "POST"])
@throttled()
@login_required
def step_up():
    """Confirm a sensitive action with the second factor; then back to the action's page."""
    target = safe_next(request.args.get("next")) or url_for("dashboard.index")
    if not second_factor.has_second_factor(current_user):
        return redirect(target)
    form = StepUpForm()
    if form.validate_on_submit():
        user, accepted = _check_code(form, "step_up", current_user.id)
        if accepted is not None:
            second_factor.stepped_up(user, accepted.method)
            db.session.commit()
            _recovery_code_notice(user, accepted)
            flash(_("Confirmed. You can go on."), "success")
            return redirect(target)
    return render_page("auth/step_up.html", "auth/_two_factor_form.html", status=form_status(form),
                       form=form, action=request.full_path.rstrip("?"), step_up=True, back=target,
                       **_methods(current_user))


def _methods(user) -> dict:
    """Which ways of giving the second factor the page offers: the code form (an app, and
    its recovery codes) and a passkey button."""
    return {"has_totp": two_factor.has_totp(user), "has_passkeys": passkeys.has_passkey(user)}


@bp.post("/logout")
@login_required
def logout():
    record = sessions.find(current_user.session_token)
    services.logout(current_user, record)
    db.session.commit()
    session.clear()
    logout_user()  # after clear(): it marks the remember cookie for deletion
    flash(_("You are logged out."), "info")
    return redirect(url_for("public.landing"))


# -- forgotten and changed passwords ---------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@throttled(*MAIL_LIMITS)
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset = tokens.request_password_reset(form.email.data)
        db.session.commit()
        tokens.send_reset_link(reset)
        flash(
            _("If an account exists for that address, we have sent it a link to choose a new "
              "password. The link works once, for one hour."),
            "info",
        )
        return redirect(url_for("auth.forgot_password"))
    return render_page(
        "auth/forgot_password.html",
        "auth/_forgot_password_form.html",
        status=form_status(form),
        form=form,
    )


@bp.route("/reset-password", defaults={"token": None}, methods=["GET", "POST"])
@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@throttled()
def reset_password(token: str | None):
    if token is not None and request.method == "GET":
        # Out of the address bar (history, Referer, screenshots) and into the session.
        session[RESET_SESSION_KEY] = token
        return redirect(url_for("auth.reset_password"))
    token = token or session.get(RESET_SESSION_KEY)
    if not token:
        return _invalid_link(_("Open the link from your e-mail, or ask for a new one."))
    form = ResetPasswordForm()
    # A session of another account is never among the link owner's, so keeping it is harmless.
    own_session = current_user.current_session_id if current_user.is_authenticated else None
    if form.validate_on_submit() and (done := commit_or_show(
        form, tokens.reset_password, token, form.password.data, keep_session_id=own_session
    )):
        user = done.value
        session.pop(RESET_SESSION_KEY, None)
        tokens.send_password_changed_notice(user)
        flash(_("Your password is set. Every other session of your account has ended."), "success")
        same_user = current_user.is_authenticated and current_user.id == user.id
        return redirect(url_for("dashboard.index") if same_user else url_for("auth.login"))
    # Checked after a refused attempt too: a link used meanwhile (another tab) is now invalid.
    try:
        user, purpose = tokens.user_for_token(token)
    except tokens.TokenError as exc:
        session.pop(RESET_SESSION_KEY, None)
        return _invalid_link(str(exc))
    return render_page(
        "auth/reset_password.html",
        "auth/_reset_password_form.html",
        status=form_status(form),
        form=form,
        account=user,
        purpose=purpose,
        password_hint=PASSWORD_HINT,
    )


def _invalid_link(message: str, confirmation: bool = False):
    again = url_for("auth.confirmation_link" if confirmation else "auth.forgot_password")
    return render_template("link_invalid.html", message=message, again_url=again,
                           offer_login=confirmation), 400


@bp.route("/change-password", methods=["GET", "POST"])
@throttled()  # outside login_required: an anonymous POST without a valid token is a 400, as before
@login_required
def change_password():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        # Not commit_or_show: a wrong current password is committed too, as it is audited.
        locks_started = ()
        try:
            ended = services.change_password(current_user, form.current_password.data, form.password.data,
                                             ip=request.remote_addr)
        except services.AuthError as exc:
            ended, locks_started = None, exc.locks_started
            show_error(form, exc)
        db.session.commit()
        tokens.send_lockout_notices(locks_started)
        if ended is not None:
            tokens.send_password_changed_notice(current_user)
            if ended:
                flash(ngettext("Your password is changed. %(num)d other session ended.",
                               "Your password is changed. %(num)d other sessions ended.", ended), "success")
            else:
                flash(_("Your password is changed."), "success")
            return redirect(url_for("auth.sessions_page"))
    return render_page(
        "auth/change_password.html",
        "auth/_change_password_form.html",
        status=form_status(form),
        form=form,
        password_hint=PASSWORD_HINT,
    )


# -- devices and sessions ----------------------------------------------------------------


def _sessions_context() -> dict:
    rows = [(s, sessions.describe(s.user_agent)) for s in sessions.live_sessions(current_user.id)]
    devices = [(d, sessions.describe(d.user_agent)) for d in two_factor.trusted_devices(current_user.id)]
    return {"rows": rows, "current_id": current_user.current_session_id, "devices": devices}


@bp.get("/sessions")
@login_required
def sessions_page():
    return render_page("auth/sessions.html", "auth/_sessions.html", **_sessions_context())


@bp.post("/sessions/<int:session_id>/revoke")
@login_required
def revoke_session(session_id: int):
    target = db.session.get(UserSession, session_id)
    if target is None or target.user_id != current_user.id:
        not_yours()
    is_current = target.id == current_user.current_session_id
    if target.revoked_at is None:
        services.revoke_session(current_user, target, actor=current_user)
        db.session.commit()
    if is_current:
        session.clear()
        logout_user()
        flash(_("This device is logged out."), "info")
        return redirect(url_for("auth.login"))
    flash(_("The session has ended; that device is logged out."), "success")
    return _after_session_change()


@bp.post("/sessions/revoke-others")
@login_required
def revoke_other_sessions():
    ended = services.revoke_other_sessions(current_user, actor=current_user)
    db.session.commit()
    if ended:
        flash(ngettext("Logged out %(num)d other session.", "Logged out %(num)d other sessions.", ended),
              "success")
    else:
        flash(_("There were no other sessions."), "info")
    return _after_session_change()


def _after_session_change():
    if is_htmx():
        return render_page("auth/sessions.html", "auth/_sessions.html", **_sessions_context())
    return redirect(url_for("auth.sessions_page"))


@bp.post("/trusted-devices/<int:device_id>/revoke")
@login_required
def revoke_trusted_device(device_id: int):
    """Stop remembering a device: its next login asks for the second factor again."""
    device = db.session.get(TrustedDevice, device_id)
    if device is None or device.user_id != current_user.id:
        not_yours()
    two_factor.revoke_trusted_device(device, current_user)
    db.session.commit()
    flash(_("That device is no longer remembered; it will ask for your second factor."), "success")
    return _after_session_change()
