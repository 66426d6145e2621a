"""Roles and the role checks: the one place that decides who may do what."""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user
from werkzeug.exceptions import NotFound

from portal.extensions import login_manager
from portal.models.user import Role

__all__ = ["HiddenResource", "Role", "blueprint_guard", "not_yours", "role_required"]


class HiddenResource(NotFound):
    """Someone asked for an object that exists but is not theirs.

    Answered exactly like a missing object (404) so existence does not leak, and
    recorded as ``access.denied`` by the error hook.
    """


def not_yours():
    raise HiddenResource()


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
