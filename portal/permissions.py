"""Roles and the role checks: the one place that decides who may do what."""
from __future__ import annotations

from functools import wraps

from flask import abort, current_app, flash, request, session
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_login.utils import login_url
from werkzeug.exceptions import NotFound

from portal import htmx
from portal.extensions import login_manager
from portal.models.user import Role
from portal.params import safe_next, same_site_path

__all__ = ["HiddenResource", "Role", "blueprint_guard", "not_yours", "role_required"]

SESSION_ENDED = _l("Your session ended; log in again.")
LOG_IN_FIRST = _l("Please log in to see that page.")


class HiddenResource(NotFound):
    """Someone asked for an object that exists but is not theirs.

    Answered exactly like a missing object (404) so existence does not leak, and
    recorded as ``access.denied`` by the error hook.
    """


def not_yours():
    raise HiddenResource()


def _session_ended() -> bool:
    """Whether the visitor's cookies still name a login that is no longer accepted
    (idle limit, logged out from another device, suspended account)."""
    return bool(session.get("_user_id") or request.cookies.get(current_app.config["REMEMBER_COOKIE_NAME"]))


def _return_to() -> str | None:
    """The page to come back to after logging in: the page the visitor was on for a
    request made from a page (htmx, a form's POST), else the address asked for."""
    if htmx.is_htmx():
        return same_site_path(request.headers.get("HX-Current-URL"))
    if request.method != "GET":
        return same_site_path(request.referrer)
    return safe_next(request.full_path.rstrip("?"))


@login_manager.unauthorized_handler
def ask_to_log_in():
    """Every refusal for want of a login: to the login page, then back.

    An htmx request gets ``HX-Redirect``, so the whole page goes to the login form
    instead of the form being swapped into the middle of the page; htmx requests come
    from pages that needed a login, so the session behind them has ended.
    """
    ended = htmx.is_htmx() or _session_ended()
    flash(str(SESSION_ENDED if ended else LOG_IN_FIRST), "info")
    return htmx.redirect(login_url(login_manager.login_view, next_url=_return_to()), code=302)


def _check(roles: tuple[str, ...]):
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if current_user.role not in roles:
        abort(403)
    return None


def blueprint_guard(*roles: str, exceptions: dict[str, tuple[str, ...]] | None = None):
    """A ``before_request`` function that admits only the given roles.

    Register it once per blueprint, so every route added later is protected.
    ``exceptions`` maps the endpoints whose rule differs to the roles they admit, so
    the whole rule of a blueprint is read in one place.
    """
    exceptions = exceptions or {}

    def guard():
        return _check(exceptions.get(request.endpoint, roles))

    return guard


def role_required(*roles: str):
    """For the few routes whose rule differs from their blueprint's guard."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            refused = _check(roles)
            if refused is not None:
                return refused
            return view(*args, **kwargs)

        return wrapped

    return decorator
