"""htmx helpers: one place that decides between a full page and a partial."""
from __future__ import annotations

from flask import make_response, render_template, request
from flask import redirect as flask_redirect


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true" and not request.headers.get(
        "HX-History-Restore-Request"
    )


def render_page(page: str, partial: str, status: int = 200, **context):
    """Render the partial for htmx requests and the full page otherwise.

    The page template includes the partial, so both share the same markup.
    """
    response = make_response(render_template(partial if is_htmx() else page, **context), status)
    response.vary.add("HX-Request")
    return response


def redirect(location: str, code: int = 303):
    """Redirect; htmx requests get an ``HX-Redirect`` so the browser navigates fully."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = location
        return response
    return flask_redirect(location, code=code)
