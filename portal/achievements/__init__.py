"""Achievements (SPEC §15): definitions, awarding in the event's own transaction, the
rebuild from history, and the student's page. Only the person sees their own."""

from flask import Blueprint

from portal.permissions import Role, blueprint_guard

bp = Blueprint("achievements", __name__, url_prefix="/achievements")
bp.before_request(blueprint_guard(Role.STUDENT))

from portal.achievements import routes  # noqa: E402,F401
