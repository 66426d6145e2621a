"""The passkey ceremonies as JSON, for static/js/passkeys.js (SPEC §9):

    POST /auth/passkeys/register/options   (logged in)  → options for credentials.create()
    POST /auth/passkeys/register/verify    (logged in)  {credential, name}
    POST /auth/passkeys/login/options                    → options for credentials.get()
    POST /auth/passkeys/login/verify                     {credential, remember, next}
    POST /auth/passkeys/second-factor/options  (pending login, or logged in for a step-up)
    POST /auth/passkeys/second-factor/verify   {credential, remember_device, next}

Each answers JSON: the options, ``{"redirect": url}`` when done, or ``{"error": message,
"reason": reason}`` with a 4xx. CSRF applies as to any POST (the ``X-CSRFToken`` header).
The challenge waits in the browser's session between the two steps and in the database
(``portal.auth.passkeys``), which uses it up.
"""
from __future__ import annotations

from flask import flash, jsonify, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.auth import bp, passkeys, second_factor, services, tokens
from portal.exceptions import PortalError
from portal.extensions import db
from portal.limits import PER_IP_ATTEMPTS, limited, throttled
from portal.params import safe_next

REGISTER_KEY = "passkey_register"
LOGIN_KEY = "passkey_login"
SECOND_FACTOR_KEY = "passkey_second_factor"


def _refused(exc: PortalError):
    return jsonify(error=exc.message, reason=getattr(exc, "reason", None), field=exc.field), exc.status


def _body() -> dict:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


@bp.post("/passkeys/register/options")
@login_required
def passkey_register_options():
    options, pending = passkeys.registration_options(current_user)
    db.session.commit()
    session[REGISTER_KEY] = pending
    return jsonify(options)


@bp.post("/passkeys/register/verify")
@login_required
@limited(PER_IP_ATTEMPTS)
def passkey_register_verify():
    body = _body()
    pending = session.pop(REGISTER_KEY, None)
    try:
        passkey = passkeys.register(current_user, body.get("credential"), body.get("name"), pending)
    except passkeys.PasskeyError as exc:
        db.session.commit()  # the challenge stays used, the refusal stays audited
        return _refused(exc)
    except PortalError as exc:  # the name: nothing was checked or used yet
        db.session.rollback()
        session[REGISTER_KEY] = pending
        return _refused(exc)
    db.session.commit()
    passkeys.send_notice(current_user, passkey.name, added=True)
    flash(_("The passkey “%(name)s” is added. You can log in with it.", name=passkey.name), "success")
    return jsonify(redirect=url_for("account.passkeys"))


@bp.post("/passkeys/login/options")
@throttled()
def passkey_login_options():
    options, pending = passkeys.login_options()
    db.session.commit()
    session[LOGIN_KEY] = pending
    return jsonify(options)


@bp.post("/passkeys/login/verify")
@throttled()
def passkey_login_verify():
    body = _body()
    pending = session.pop(LOGIN_KEY, None)
    remember = body.get("remember") is True
    try:
        user = passkeys.login(body.get("credential"), pending, remember=remember, **second_factor.client())
    except passkeys.PasskeyError as exc:
        db.session.commit()
        return _refused(exc)
    db.session.commit()
    second_factor.start_cookie_session(user, remember=remember)
    second_factor.mark_fresh("passkey")  # a passkey with user verification is both factors
    target = safe_next(body.get("next") if isinstance(body.get("next"), str) else None)
    return jsonify(redirect=target or url_for("dashboard.index"))


# -- a passkey as the second factor (after the password) or for a step-up -------------------


def _second_step_user():
    """The user giving a second factor: the one logged in (a step-up), else the one who
    passed the password and waits for the second step."""
    if current_user.is_authenticated:
        return current_user, True
    return second_factor.pending_user(), False


@bp.post("/passkeys/second-factor/options")
@throttled()
def passkey_second_factor_options():
    user, _step_up = _second_step_user()
    if user is None:
        return _refused(passkeys.PasskeyError("no_login"))
    options, pending = passkeys.second_factor_options(user)
    db.session.commit()
    session[SECOND_FACTOR_KEY] = pending
    return jsonify(options)


@bp.post("/passkeys/second-factor/verify")
@throttled()
def passkey_second_factor_verify():
    user, step_up = _second_step_user()
    if user is None:
        return _refused(passkeys.PasskeyError("no_login"))
    body = _body()
    pending = session.pop(SECOND_FACTOR_KEY, None)
    try:
        user, _passkey = services.second_step(
            user.id, lambda u: passkeys.check_second_factor(u, body.get("credential"), pending),
            ip=request.remote_addr)
    except services.AuthError as exc:
        db.session.commit()  # counted toward the lockout, audited, the challenge used up
        tokens.send_lockout_notices(exc.locks_started)
        return _refused(exc)
    if step_up:
        second_factor.stepped_up(user, "passkey")
        db.session.commit()
        flash(_("Confirmed. You can go on."), "success")
        target = safe_next(body.get("next") if isinstance(body.get("next"), str) else None)
        return jsonify(redirect=target or url_for("dashboard.index"))
    target = second_factor.finish_login(user, "passkey", remember_device=body.get("remember_device") is True)
    return jsonify(redirect=target)
