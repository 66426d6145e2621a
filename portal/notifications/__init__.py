"""Notifications (SPEC §10): ``notify()`` for the services, the /notifications pages, the
one-click unsubscribe link, the delivery of their e-mail and the scheduled run.

Features call ``portal.notifications.services.notify`` inside their own transaction;
``services`` (which they import) never imports a feature; the pages, the delivery and
the scheduled run do, so the app factory imports ``routes`` itself (``portal/__init__``),
not this package's ``__init__``, keeping the features' imports of ``notify`` cycle-free.
"""
from flask import Blueprint, request

from portal.permissions import Role, blueprint_guard

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

# The unsubscribe link is opened from a mail, often where nobody is logged in.
PUBLIC = {"notifications.unsubscribe"}
_signed_in = blueprint_guard(*Role.ALL)


@bp.before_request
def guard():
    if request.endpoint in PUBLIC:
        return None
    return _signed_in()

