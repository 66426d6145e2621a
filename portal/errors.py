"""Error pages (HTML or JSON), the incident id on 500, and the denial hook.

Denied requests (403, 404 for someone else's object, CSRF failures, 429) are recorded
as ``access.denied``, and 5xx answers as ``request.failed``, here, in one place, not by
each route; a route that refuses guesses itself (wrong join codes) records them through
:func:`record_refusal`, the same way. They are aggregated so that a flood cannot grow the audit trail: per
source (the client IP, and the user when logged in), reason and clock hour, only the
1st, 10th, 100th, 1000th ... are written, each with its ``count`` so far. A source
therefore adds at most 1 + log10(n) rows per reason per hour for n refused requests
(7 for a million); the others cost a counter increment in the rate-limit storage
(Redis when configured) and no database write.
"""
from __future__ import annotations

import logging
import math
import secrets
import time
from datetime import UTC, datetime

from flask import Flask, current_app, g, jsonify, make_response, render_template, request
from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from limits.storage import MemoryStorage, storage_from_string
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException

from portal.audit import actions
from portal.audit.services import record
from portal.db import begin_write
from portal.extensions import db, limiter, login_manager
from portal.htmx import is_htmx
from portal.models.audit import Outcome
from portal.permissions import HiddenResource

log = logging.getLogger("portal.errors")

DENIAL_WINDOW_SECONDS = 3600
_COUNTS = "portal.denial_counts"
# Where denials are counted when the shared storage cannot be reached (this process only).
_fallback_counts = MemoryStorage()

# Lazy: each is translated into the reader's language when the page is made. The JSON
# answers keep "error" in English (a stable label for software); their "message" is
# in the reader's language.
TITLES = {
    400: _l("Bad request"),
    401: _l("Please log in"),
    403: _l("Not allowed"),
    404: _l("Page not found"),
    405: _l("Method not allowed"),
    409: _l("Already decided"),
    410: _l("Gone"),
    413: _l("Too large"),
    422: _l("Please check the form"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
    503: _l("Temporarily unavailable"),
}
ERROR = _l("Error")

MESSAGES = {
    400: _l("The request could not be understood. Please go back and try again."),
    401: _l("You need to log in to see this page."),
    403: _l("Your account is not allowed to do this."),
    404: _l("There is nothing here. Check the address, or go back to your dashboard."),
    405: _l("This address does not accept that kind of request."),
    409: _l("Someone else already acted on this. Reload the page to see its current state."),
    410: _l("This is no longer available."),
    413: _l("What you sent is larger than we accept."),
    422: _l("Some of what you sent could not be accepted. Please check it and try again."),
    429: _l("Too many attempts in a short time. Please wait a little and try again."),
    500: _l("An unexpected error happened on our side. It has been logged."),
    503: _l("Portal cannot reach its database right now. Please try again in a moment."),
}


def wants_json() -> bool:
    if request.path.endswith(".json") or request.path == "/healthz":
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    accept = request.accept_mimetypes
    return best == "application/json" and accept[best] > accept["text/html"]


def error_response(code: int, message: str | None = None, incident: str | None = None):
    """The error page; for an htmx request only its words (``errors/_alert.html``), which
    portal.js shows in an alert beside the control that made the request."""
    message = str(message or MESSAGES.get(code, ""))
    title = str(TITLES.get(code, ERROR))
    if wants_json():
        with force_locale("en"):
            error = str(TITLES.get(code, ERROR))
        body = {"error": error, "message": message, "status": code}
        if incident:
            body["incident"] = incident
        response = jsonify(body)
        response.status_code = code
        return response
    context = {"code": code, "title": title, "message": message, "incident": incident}
    if is_htmx():
        response = make_response(render_template("errors/_alert.html", **context), code)
        # Never swapped into the request's target, not even for the codes htmx swaps (409, 422).
        response.headers["HX-Reswap"] = "none"
    else:
        response = make_response(render_template("errors/error.html", minimal=code >= 500, **context), code)
    response.vary.add("HX-Request")
    return response


def _seconds_to_wait() -> int | None:
    """How long until the rate limit this request broke lets the client in again."""
    try:
        breached = limiter.current_limit
        if breached is None or not breached.breached:
            return None
        return max(1, int(breached.reset_at - time.time()))  # as the Retry-After header says
    except Exception:  # the limit's storage is unreachable: say "a little" instead
        log.warning("could not read the rate limit's reset time")
        return None


def wait_message(seconds: int | None) -> str:
    """The 429 message, with how long to wait when it is known."""
    if seconds is None:
        return str(MESSAGES[429])
    if seconds < 60:
        return ngettext("Too many attempts in a short time. Please wait %(num)d second and try again.",
                        "Too many attempts in a short time. Please wait %(num)d seconds and try again.",
                        seconds)
    return ngettext("Too many attempts in a short time. Please wait about %(num)d minute and try again.",
                    "Too many attempts in a short time. Please wait about %(num)d minutes and try again.",
                    math.ceil(seconds / 60))


def _count_in_window(reason: str, actor) -> tuple[int, int]:
    """This source's number of answers for ``reason`` in the current window, this one
    included, and the window's start (Unix time)."""
    window = int(time.time()) // DENIAL_WINDOW_SECONDS
    source = f"{request.remote_addr}:{actor.id if actor is not None else '-'}"
    key = f"portal/denied/{window}/{reason}/{source}"
    try:
        count = current_app.extensions[_COUNTS].incr(key, DENIAL_WINDOW_SECONDS)
    except Exception:  # the shared storage is down: count here rather than record every one
        log.warning("denial counter storage unreachable; counting in this process")
        count = _fallback_counts.incr(key, DENIAL_WINDOW_SECONDS)
    return count, window * DENIAL_WINDOW_SECONDS


def _worth_recording(count: int) -> bool:
    """1, 10, 100, 1000 ...: the first of a window and each power of ten."""
    while count % 10 == 0:
        count //= 10
    return count == 1


def _record_denial(code: int, reason: str, action: str = actions.ACCESS_DENIED, **details) -> None:
    """Record a refused or failed request, aggregated (see the module docstring), in its
    own small transaction."""
    try:
        actor = current_user if current_user.is_authenticated else None
    except Exception:  # the database may be why we answer; count the request as anonymous
        actor = None
    count, window_start = _count_in_window(reason, actor)
    if not _worth_recording(count):
        return
    outcome = Outcome.DENIED if action == actions.ACCESS_DENIED else Outcome.FAILURE
    try:
        db.session.rollback()
        begin_write(db.session)
        record(actor, action, outcome=outcome, http_status=code, reason=reason, count=count,
               window_start=datetime.fromtimestamp(window_start, UTC), **details)
        db.session.commit()
    except Exception:  # the error page must still be served
        db.session.rollback()
        log.exception("could not record %s", action)


def record_refusal(reason: str, action: str, code: int = 422, **details) -> None:
    """For a route that refuses a guess on its own (a wrong join code): recorded as the
    denials above are, aggregated per source, reason and hour, in its own transaction
    (anything pending in the session is rolled back first)."""
    _record_denial(code, reason, action, **details)


def register(app: Flask) -> None:
    # The rate limits' storage: shared by the workers when it is Redis.
    app.extensions[_COUNTS] = storage_from_string(app.config["RATELIMIT_STORAGE_URI"])

    @app.errorhandler(CSRFError)
    def csrf_error(exc: CSRFError):
        _record_denial(400, "csrf")
        return error_response(
            400, _("The form had expired or was not sent from this site. Reload the page and try again.")
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
        elif code == 429:
            _record_denial(429, "rate_limited")
        if code >= 500:
            db.session.rollback()
            _record_denial(code, "server_error", actions.REQUEST_FAILED)
        # A route's own words (abort(409, _("..."))), not Werkzeug's English default.
        said = exc.description if exc.description != type(exc).description else None
        message = said if code in (409, 422) else None
        wait = _seconds_to_wait() if code == 429 else None
        if code == 429:
            message = wait_message(wait)
        response = error_response(code, message)
        # Keep what the exception says about itself (Allow on 405, Retry-After on 429).
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        if wait is not None:
            # The limiter's own headers are off (they cost two reads of its storage on every
            # answer); a refusal says when to come back, as the page's words do.
            response.headers["Retry-After"] = str(wait)
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
        _record_denial(500, "server_error", actions.REQUEST_FAILED, incident=incident)
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

