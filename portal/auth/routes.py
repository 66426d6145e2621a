from __future__ import annotations

from datetime import timedelta
from functools import wraps

from flask import current_app, flash, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import bp, services, sessions, tokens
from portal.auth.forms import (
    PASSWORD_HINT,
    ChangePasswordForm,
    ForgotPasswordForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
)
from portal.exceptions import commit_or_show, form_status, show_error
from portal.extensions import csrf, db, limiter
from portal.htmx import is_htmx, redirect, render_page
from portal.licenses import rules
from portal.models.user import UserSession
from portal.params import safe_next
from portal.permissions import not_yours

RESET_SESSION_KEY = "reset_token"


def _attempt_limit() -> str:
    return current_app.config["RATELIMIT_LOGIN"]


def throttled(view):
    """Per client IP, POSTs only (reading the forms is never limited), and the limit
    before the CSRF check: a flood without tokens meets 429s, as a flood with them does.

    Flask-Limiter checks a route's limit when the view is called, after every
    before_request hook, CSRF's included; so the view is exempt from that global
    check and makes it itself, inside the limit."""

    @wraps(view)
    def csrf_checked(*args, **kwargs):
        if current_app.config["WTF_CSRF_ENABLED"]:
            csrf.protect()
        return view(*args, **kwargs)

    return csrf.exempt(limiter.limit(_attempt_limit, methods=["POST"])(csrf_checked))


def _client() -> dict:
    return {"ip": request.remote_addr, "user_agent": request.user_agent.string}


def _start_cookie_session(user, remember: bool) -> None:
    """A fresh Flask session (so a new CSRF token) that refers to the new server-side session."""
    session.clear()
    login_user(
        user,
        remember=remember,
        duration=timedelta(days=current_app.config["SESSION_REMEMBER_DAYS"]),
    )


# -- registration and login --------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@throttled
def register():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = RegisterForm()
    if form.validate_on_submit() and (done := commit_or_show(
        form,
        services.register,
        name=form.name.data,
        email=form.email.data,
        password=form.password.data,
        date_of_birth=form.date_of_birth.data,
        **_client(),
    )):
        user = done.value
        _start_cookie_session(user, remember=False)
        flash(f"Welcome, {user.name}! Your account is ready.", "success")
        if rules.needs_guardian_consent(user):
            flash(
                "As you are under 18, a parent or guardian's consent must be recorded "
                "by the academy before a license can be issued to you.",
                "info",
            )
        return redirect(url_for("dashboard.index"))
    return render_page(
        "auth/register.html",
        "auth/_register_form.html",
        status=form_status(form),
        form=form,
        password_hint=PASSWORD_HINT,
    )


@bp.route("/login", methods=["GET", "POST"])
@throttled
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        # Not commit_or_show: a failed attempt is committed too, so it is counted and audited.
        locks_started = ()
        try:
            user = services.login(
                form.email.data, form.password.data, remember=form.remember.data, **_client()
            )
        except services.AuthError as exc:
            user, locks_started = None, exc.locks_started
            show_error(form, exc)
        db.session.commit()
        tokens.send_lockout_notices(locks_started)
        if user is not None:
            _start_cookie_session(user, remember=form.remember.data)
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    return render_page("auth/login.html", "auth/_login_form.html", status=form_status(form), form=form)


@bp.post("/logout")
@login_required
def logout():
    record = sessions.find(current_user.session_token)
    services.logout(current_user, record)
    db.session.commit()
    session.clear()
    logout_user()  # after clear(): it marks the remember cookie for deletion
    flash("You are logged out.", "info")
    return redirect(url_for("public.landing"))


# -- forgotten and changed passwords ---------------------------------------------------


@bp.route("/forgot-password", methods=["GET", "POST"])
@throttled
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        reset = tokens.request_password_reset(form.email.data)
        db.session.commit()
        tokens.send_reset_link(reset)
        flash(
            "If an account exists for that address, we have sent it a link to choose a new "
            "password. The link works once, for one hour.",
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
@throttled
def reset_password(token: str | None):
    if token is not None and request.method == "GET":
        # Out of the address bar (history, Referer, screenshots) and into the session.
        session[RESET_SESSION_KEY] = token
        return redirect(url_for("auth.reset_password"))
    token = token or session.get(RESET_SESSION_KEY)
    if not token:
        return _invalid_link("Open the link from your e-mail, or ask for a new one.")
    form = ResetPasswordForm()
    # A session of another account is never among the link owner's, so keeping it is harmless.
    own_session = current_user.current_session_id if current_user.is_authenticated else None
    if form.validate_on_submit() and (done := commit_or_show(
        form, tokens.reset_password, token, form.password.data, keep_session_id=own_session
    )):
        user = done.value
        session.pop(RESET_SESSION_KEY, None)
        tokens.send_password_changed_notice(user)
        flash("Your password is set. Every other session of your account has ended.", "success")
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


def _invalid_link(message: str):
    return render_template("auth/reset_invalid.html", message=message), 400


@bp.route("/change-password", methods=["GET", "POST"])
@throttled  # outside login_required: an anonymous POST without a valid token is a 400, as before
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
            others = f" {ended} other session{'s' if ended != 1 else ''} ended." if ended else ""
            flash(f"Your password is changed.{others}", "success")
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
    return {"rows": rows, "current_id": current_user.current_session_id}


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
        flash("This device is logged out.", "info")
        return redirect(url_for("auth.login"))
    flash("The session has ended; that device is logged out.", "success")
    return _after_session_change()


@bp.post("/sessions/revoke-others")
@login_required
def revoke_other_sessions():
    ended = services.revoke_other_sessions(current_user, actor=current_user)
    db.session.commit()
    if ended:
        flash(f"Logged out {ended} other session{'s' if ended != 1 else ''}.", "success")
    else:
        flash("There were no other sessions.", "info")
    return _after_session_change()


def _after_session_change():
    if is_htmx():
        return render_page("auth/sessions.html", "auth/_sessions.html", **_sessions_context())
    return redirect(url_for("auth.sessions_page"))
