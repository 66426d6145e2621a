"""`flask --app wsgi licenses ...` and `keys ...`"""
from __future__ import annotations

from flask.cli import AppGroup

licenses_cli = AppGroup("licenses", help="Check and maintain licenses.")
keys_cli = AppGroup("keys", help="The academy's signing keys.")
