"""A refused form, shown again on its page's own address (post/redirect/get).

Several forms of one page post to addresses of their own (``/admin/users/<id>/role``).
Rendering the page at that address after a refusal leaves the browser on the POST: the
address bar shows the endpoint and a reload sends the form again. Instead the route keeps
what was typed, the errors and the status in the session, for one display, and redirects
to the page; the page takes the form back with ``again`` and shows it as it was refused,
with the refusal's status (422, or 409 for a conflict).

htmx requests keep their answer in place (the caller's ``render``): nothing reloads there.

The session is a signed cookie, so a kept value is cut at ``MAX_VALUE`` characters (far
more than any field accepts) and nothing is kept for more than ``KEEP_SECONDS``.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from flask import request, session
from werkzeug.datastructures import MultiDict

from portal.exceptions import form_status
from portal.htmx import is_htmx, redirect

KEY = "_refused_form"
MAX_VALUE = 2500
KEEP_SECONDS = 600
NOT_KEPT = frozenset({"csrf_token"})


def show_again(form, name: str, page: str, render: Callable[[], Any]):
    """The answer to a refused ``form``: for htmx, ``render()`` as before; otherwise keep it
    under ``name`` for the page at ``page`` (a path, with an optional ``#anchor``) and
    redirect there."""
    if is_htmx():
        return render()
    session[KEY] = {
        "name": name,
        "path": urlsplit(page).path,
        "at": int(time.time()),
        "status": form_status(form),
        "data": [
            [key, value[:MAX_VALUE]]
            for key, value in request.form.items(multi=True)
            if key not in NOT_KEPT
        ],
        "errors": {field.name: [str(e) for e in field.errors] for field in form if field.errors},
        "form_errors": [str(e) for e in form.form_errors],
    }
    return redirect(page)


def again(name: str, form_class, **kwargs):
    """The form kept under ``name`` for this page, rebuilt from what was typed and carrying
    its errors (taken once), or None."""
    kept = session.get(KEY)
    if not isinstance(kept, dict) or kept.get("path") != request.path or kept.get("name") != name:
        return None
    session.pop(KEY, None)
    if time.time() - kept.get("at", 0) > KEEP_SECONDS:
        return None
    form = form_class(formdata=MultiDict([tuple(pair) for pair in kept.get("data", [])]), **kwargs)
    for field_name, errors in kept.get("errors", {}).items():
        if field_name in form._fields:
            form[field_name].errors = list(errors)
    form.form_errors = list(kept.get("form_errors", []))
    form.error_status = kept.get("status", 422)
    form.refused = True
    return form


def page_status(form) -> int:
    """The status of a page showing ``form``: a form taken back with ``again`` answers with
    its refusal's status, any other as ``form_status`` says."""
    if getattr(form, "refused", False):
        return form.error_status
    return form_status(form)
