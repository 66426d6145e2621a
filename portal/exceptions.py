"""The one family of refusals a service may raise, and the route edge that handles them.

A service raises ``PortalError(message, field=None)`` (or a subclass that carries its HTTP
status); it never commits. A route calls ``commit_or_show(form, service, *args)``, which
commits when the service succeeds, or rolls back and puts the message beside its field
(Indico's ``RH.process`` does the same job for every handler in one place).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import flash

from portal.extensions import db
from portal.permissions import HiddenResource


class PortalError(Exception):
    """A refused action; the message is safe to show. ``field`` names the form field it
    belongs beside, when there is one."""

    status = 422

    def __init__(self, message: str, field: str | None = None):
        # A lazy message (a module's constant) is put in the reader's language here, where
        # it is raised, so it is shown, flashed and logged as the plain text it became.
        message = str(message)
        super().__init__(message)
        self.message = message
        self.field = field


class Conflict(PortalError):
    """Someone else already changed the thing being acted on."""

    status = 409


class NotAllowed(PortalError):
    """The actor may not do this to an object they can see."""

    status = 403


class NotYours(PortalError):
    """The object is not the actor's to act on; answered as if it did not exist (404)."""

    status = 404


@dataclass(frozen=True)
class Done:
    """What ``commit_or_show`` returns on success: always truthy, with the service's result."""

    value: Any = None

    def __bool__(self) -> bool:
        return True


def show_error(form, exc: PortalError) -> None:
    """Put a refusal beside its field, or above the form when it names none."""
    field = form._fields.get(exc.field) if (form is not None and exc.field) else None
    if field is not None:
        field.errors = [*field.errors, exc.message]
    elif form is not None:
        form.form_errors.append(exc.message)
    else:
        flash(exc.message, "error")
    if form is not None:
        form.error_status = exc.status


def commit_or_show(form, service: Callable[..., Any], *args, **kwargs) -> Done | None:
    """Run ``service``, then commit. On a ``PortalError`` roll back, show the message beside
    its field on ``form`` (or flash it when ``form`` is None) and return None.

    ``NotYours`` is answered as a 404 at once, so a hidden object stays hidden.
    """
    try:
        value = service(*args, **kwargs)
        db.session.commit()
    except NotYours:
        db.session.rollback()
        raise HiddenResource() from None
    except PortalError as exc:
        db.session.rollback()
        show_error(form, exc)
        return None
    return Done(value)


def form_status(form, default: int = 422) -> int:
    """The status of a page that shows ``form`` again: 200 before it was sent, the refusing
    error's status after a service refused it, 422 for field errors."""
    if form is None or not form.is_submitted():
        return 200
    return getattr(form, "error_status", default)
