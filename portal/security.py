"""Security headers on every response, and the request class that bounds form parsing."""
from __future__ import annotations

import flask
from flask import Flask, abort, request
from flask_login import current_user
from werkzeug.exceptions import RequestEntityTooLarge

CSP = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class Request(flask.Request):
    """Werkzeug applies MAX_FORM_PARTS to multipart bodies only; a url-encoded body of
    100,000 fields would cost over a second to parse. Count its separators first (a
    byte count, cheap) and refuse it with 413, before CSRF or any route reads the form.

    Line breaks: a browser sends a textarea's as CRLF, scripts and clients often LF. So
    that a note or reason is stored (and hashed into a license's history) the same however
    it was sent, every form value's line breaks become ``\n`` here, once."""

    def _load_form_data(self) -> None:
        if (
            "form" not in self.__dict__
            and self.mimetype == "application/x-www-form-urlencoded"
            and self.max_form_parts is not None
            and self.get_data(cache=True).count(b"&") >= self.max_form_parts
        ):
            raise RequestEntityTooLarge()
        super()._load_form_data()
        form = self.__dict__.get("form")
        if form and any("\r" in value for _, value in form.items(multi=True)):
            self.__dict__["form"] = self.parameter_storage_class(
                [(key, one_line_break(value)) for key, value in form.items(multi=True)]
            )


def one_line_break(text: str) -> str:
    """``text`` with CRLF and lone CR line breaks written as LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")


def register(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        # No text we store may hold NUL (PostgreSQL refuses it outright); a request
        # carrying one in its path, query or form is malformed, whatever the route.
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value
            for source in (request.args, request.form)
            for key, value in source.items(multi=True)
        ):
            abort(400)

    @app.after_request
    def security_headers(response):
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CSP)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if request.is_secure:
            headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        # Pages for a logged-in user never go into a shared or back-button cache.
        if _logged_in() and "Cache-Control" not in headers:
            headers["Cache-Control"] = "no-store"
        elif "Cache-Control" not in headers and response.mimetype == "text/html":
            headers["Cache-Control"] = "no-cache"
        return response


def _logged_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # the database may be the reason we are answering an error
        return False
