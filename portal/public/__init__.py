"""Pages anyone may see: the landing page, the health check, verification."""
from flask import Blueprint

bp = Blueprint("public", __name__)

from portal.public import routes  # noqa: F401
