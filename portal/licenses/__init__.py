"""Licenses: the student's licenses, requests, review, certificates."""
from flask import Blueprint

from portal.permissions import Role, blueprint_guard

bp = Blueprint("licenses", __name__, url_prefix="/licenses")
bp.before_request(blueprint_guard(*Role.ALL))

from portal.licenses import documents, routes  # noqa: E402,F401
