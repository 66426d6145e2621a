"""Error pages (HTML or JSON), the incident id on 500, and the denial hook.

Denied requests (403, and 404 for someone else's object) and CSRF failures are
recorded as ``access.denied`` here, in one place, not by each route.
"""
from __future__ import annotations

import logging
import secrets

from flask import Flask, g, jsonify, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.audit import actions
from portal.audit.services import record
from portal.db import begin_write
from portal.extensions import db, login_manager
from portal.models.audit import Outcome
from portal.permissions import HiddenResource

log = logging.getLogger("portal.errors")

TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Page not found",
    405: "Method not allowed",
    409: "Already decided",
    410: "Gone",
    413: "Too large",
    422: "Please check the form",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}

MESSAGES = {
    400: "The request could not be understood. Please go back and try again.",
    401: "You need to log in to see this page.",
    403: "Your account is not allowed to do this.",
    404: "There is nothing here. Check the address, or go back to your dashboard.",
    405: "This address does not accept that kind of request.",
    409: "Someone else already acted on this. Reload the page to see its current state.",
    413: "What you sent is larger than we accept.",
    429: "Too many attempts in a short time. Please wait a little and try again.",
    500: "An unexpected error happened on our side. It has been logged.",
    503: "Portal cannot reach its database right now. Please try again in a moment.",
}


def wants_json() -> bool:
    if request.path.endswith(".json") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    accept = request.accept_mimetypes
    return best == "application/json" and accept[best] > accept["text/html"]


def error_response(code: int, message: str | None = None, incident: str | None = None):
    message = message or MESSAGES.get(code, "")
    title = TITLES.get(code, "Error")
    if wants_json():
        body = {"error": title, "message": message, "status": code}
        if incident:
            body["incident"] = incident
        response = jsonify(body)
        response.status_code = code
        return response
    return render_template(
        "errors/error.html",
        code=code,
        title=title,
        message=message,
        incident=incident,
        minimal=code >= 500,
    ), code


def _record_denial(code: int, reason: str) -> None:
    """Record a refused request in its own small transaction."""
    try:
        db.session.rollback()
        begin_write(db.session)
        actor = current_user if current_user.is_authenticated else None
        record(actor, actions.ACCESS_DENIED, outcome=Outcome.DENIED, http_status=code, reason=reason)
        db.session.commit()
    except Exception:  # the denial page must still be served
        db.session.rollback()
        log.exception("could not record access.denied")


def register(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        _record_denial(400, "csrf")
        return error_response(
            400, "The form had expired or was not sent from this site. Reload the page and try again."
        )

    @app.errorhandler(HiddenResource)
    def hidden(exc: HiddenResource):
        _record_denial(404, "not_owner")
        return error_response(404)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = exc.code or 500
        if code == 403:
            _record_denial(403, "role")
        if code >= 500:
            db.session.rollback()
        response = app.make_response(
            error_response(code, exc.description if code in (409, 422) else None)
        )
        # Keep what the exception says about itself (Allow on 405, Retry-After on 429).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(OperationalError)
    def database_down(exc):
        return _unavailable(exc)

    @app.errorhandler(DBAPIError)
    def database_error(exc):
        if exc.connection_invalidated:
            return _unavailable(exc)
        return internal_error(exc)

    @app.errorhandler(Exception)
    def internal_error(exc):
        if isinstance(exc, HTTPException):
            return http_error(exc)
        incident = secrets.token_hex(6)
        try:
            db.session.rollback()
        except Exception:
            log.exception("rollback failed during incident %s", incident)
        log.error("incident %s: %s %s", incident, request.method, request.path, exc_info=exc)
        return error_response(500, incident=incident)

    def _unavailable(exc):
        try:
            db.session.rollback()
        except Exception:
            pass
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.__class__.__name__)
        # Rendering the page must not try to load the user from the database again
        # (Flask-Login's context processor would, and fail the same way).
        g._login_user = login_manager.anonymous_user()
        return error_response(503)

