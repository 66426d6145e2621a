from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import bp, services, sessions
from portal.auth.forms import LoginForm
from portal.extensions import db


def safe_next(target: str | None) -> str | None:
    """Only same-site paths: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target:
        return None
    target = target.strip()
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.login(
                form.email.data,
                form.password.data,
                remember=form.remember.data,
                ip=request.remote_addr,
                user_agent=request.user_agent.string,
            )
        except services.AuthError as exc:
            db.session.commit()  # the failed attempt is audited
            form.password.errors.append(str(exc))
            return render_template("auth/login.html", form=form), 401
        db.session.commit()
        session.clear()  # a fresh session (and CSRF token) at login
        login_user(user, remember=form.remember.data)
        return redirect(safe_next(request.args.get("next")) or url_for("dashboard.index"))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    record = sessions.find(current_user.session_token)
    services.logout(current_user, record)
    db.session.commit()
    logout_user()
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("public.landing"))


# Placeholders until the accounts pages land.
@bp.route("/register", methods=["GET", "POST"])
def register():
    return render_template("placeholder.html", title="Register"), 501


@bp.route("/forgot-password", methods=["GET", "POST"])
def forgot_password():
    return render_template("placeholder.html", title="Forgot password"), 501


@bp.route("/change-password", methods=["GET", "POST"])
@login_required
def change_password():
    return render_template("placeholder.html", title="Change password"), 501


@bp.get("/sessions")
@login_required
def sessions_page():
    return render_template("placeholder.html", title="Sessions"), 501
