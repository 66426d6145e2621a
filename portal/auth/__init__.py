"""Accounts: registration, login, sessions, passwords."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

from portal.auth import passkey_routes, routes  # noqa: F401
