"""The second step of a login, step-up for sensitive actions, and the admins' rule.

After the right password, a user with a second factor is *pending*: the Flask session
names them, but nothing counts them as logged in (no server-side session, no
Flask-Login user) until ``finish_login``. Every method of the second step (TOTP and
recovery codes here, passkeys beside it) ends in ``finish_login``.

Step-up: ``require_fresh_second_factor`` on a sensitive route asks for the second factor
again when the last one is older than ``FRESH_MINUTES``, on a page that returns to the
action. With ``PORTAL_ADMIN_2FA_REQUIRED`` an admin without a second factor is sent to
enrolment from every page but enrolment itself, logout and static files (``enforce``).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import wraps

from flask import after_this_request, current_app, flash, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user

from portal import htmx
from portal.audit import actions
from portal.audit.services import record
from portal.auth import bp, passkeys, services, two_factor
from portal.db import utcnow
from portal.extensions import db
from portal.models.user import User
from portal.params import safe_next, same_site_path

PENDING_KEY = "second_factor_pending"
FRESH_KEY = "second_factor_at"
FRESH_MINUTES = 15
PENDING_MINUTES = 10
DEVICE_COOKIE = "portal_device"
METHODS = ("totp", "recovery_code", "passkey")

# Where an admin without a second factor may still go; the passkey pages add theirs.
ENROLMENT_ENDPOINTS = {
    "account.two_factor", "account.totp_start", "account.totp_confirm",
    "account.recovery_codes_download", "auth.logout", "static",
    "account.passkeys", "account.rename_passkey", "account.remove_passkey",
    "auth.passkey_register_options", "auth.passkey_register_verify",
}

MUST_ENROL = _l("Admins must use two-factor sign-in. Set it up now to continue.")
STEP_UP_NEEDED = _l("This action needs your second factor again. Confirm it to continue.")


def client() -> dict:
    return {"ip": request.remote_addr, "user_agent": request.user_agent.string}


def has_second_factor(user) -> bool:
    """Whether the user has a second factor to log in with: TOTP or a passkey."""
    return user is not None and (two_factor.has_totp(user) or passkeys.has_passkey(user))


def required_for(user) -> bool:
    """Whether the user must have a second factor: admins, unless the instance says not."""
    return bool(getattr(user, "is_admin", False) and current_app.config["PORTAL_ADMIN_2FA_REQUIRED"])


def start_cookie_session(user: User, remember: bool) -> None:
    """A fresh Flask session (so a new CSRF token) that refers to the new server-side session."""
    session.clear()
    login_user(user, remember=remember,
               duration=timedelta(days=current_app.config["SESSION_REMEMBER_DAYS"]))


# -- the pending login ---------------------------------------------------------------------


def begin(user: User, *, remember: bool, next_url: str | None) -> None:
    """The password was right: wait for the second step, without logging in."""
    session.clear()
    session[PENDING_KEY] = {"user_id": user.id, "remember": bool(remember), "next": next_url,
                            "at": utcnow().isoformat()}


def pending_user() -> User | None:
    """The user who passed the password and waits for the second step (for ten minutes)."""
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    try:
        started = datetime.fromisoformat(pending["at"])
    except (KeyError, TypeError, ValueError):
        return None
    if utcnow() - started > timedelta(minutes=PENDING_MINUTES):
        session.pop(PENDING_KEY, None)
        return None
    return db.session.get(User, pending.get("user_id"))


def device_cookie_name() -> str:
    secure = current_app.config["SESSION_COOKIE_SECURE"]
    return ("__Host-" if secure else "") + DEVICE_COOKIE


def trusted_device_for(user: User):
    """This browser's trusted device for ``user``, if it is remembered and in force."""
    return two_factor.trusted_device(user, request.cookies.get(device_cookie_name()))


def finish_login(user: User, method: str, *, remember_device: bool = False) -> str:
    """Complete the login exactly as a password-only login would (session, audit event,
    cookie), record the second-factor time for step-up, and clear the pending state.
    Commits. Returns where to go next (the page asked for, else the dashboard)."""
    pending = session.get(PENDING_KEY) or {}
    remember = bool(pending.get("remember"))
    services.open_session(user, remember=remember, second_factor=method, **client())
    token = two_factor.trust_device(user, **client()) if remember_device else None
    db.session.commit()
    start_cookie_session(user, remember)
    if method in METHODS:
        mark_fresh(method)
    if token is not None:
        @after_this_request
        def set_device_cookie(response):
            response.set_cookie(
                device_cookie_name(), token, max_age=two_factor.TRUSTED_DEVICE_DAYS * 86400,
                secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax", path="/")
            return response
    return safe_next(pending.get("next")) or url_for("dashboard.index")


# -- step-up -------------------------------------------------------------------------------


def mark_fresh(method: str) -> None:
    """The second factor was given just now (step-up satisfied)."""
    session[FRESH_KEY] = utcnow().isoformat()
    session[FRESH_KEY + "_method"] = method


def is_fresh() -> bool:
    stamp = session.get(FRESH_KEY)
    try:
        at = datetime.fromisoformat(stamp) if stamp else None
    except ValueError:
        at = None
    return at is not None and utcnow() - at <= timedelta(minutes=FRESH_MINUTES)


def needs_step_up(user) -> bool:
    """A user with a second factor who has not given it within the last 15 minutes.
    (A user without one is not asked: admins are sent to enrolment first.)"""
    return has_second_factor(user) and not is_fresh()


def _back_to_action() -> str | None:
    """The page to return to after step-up: the page the action was started from."""
    if htmx.is_htmx():
        return same_site_path(request.headers.get("HX-Current-URL"))
    if request.method != "GET":
        return same_site_path(request.referrer)
    return safe_next(request.full_path.rstrip("?"))


def step_up_redirect():
    flash(str(STEP_UP_NEEDED), "info")
    return htmx.redirect(url_for("auth.step_up", next=_back_to_action()))


def require_fresh_second_factor(view):
    """For sensitive actions (role and status changes, revocations, bulk jobs, 2FA reset,
    erasure): a second factor given within the last 15 minutes, else the step-up page."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if current_user.is_authenticated and needs_step_up(current_user):
            return step_up_redirect()
        return view(*args, **kwargs)

    return wrapped


def stepped_up(user: User, method: str) -> None:
    """Record a step-up and mark the session fresh (the caller commits)."""
    record(user, actions.STEP_UP, user, method=method)
    mark_fresh(method)


# -- admins must ---------------------------------------------------------------------------


@bp.before_app_request
def enforce():
    """Send an admin without a second factor to enrolment (PORTAL_ADMIN_2FA_REQUIRED)."""
    endpoint = request.endpoint
    if endpoint is None or endpoint in ENROLMENT_ENDPOINTS:
        return None
    if not current_app.config["PORTAL_ADMIN_2FA_REQUIRED"] or not current_user.is_authenticated:
        return None
    if not current_user.is_admin or has_second_factor(current_user):
        return None
    flash(str(MUST_ENROL), "warning")
    return htmx.redirect(url_for("account.two_factor"))
