"""The portal with one planted fault, for journeys that show how a server error looks.

Served by the live server as ``tests.support.faults:app`` with ``PORTAL_TEST_FAULT``
naming a path: htmx requests to that path fail with an unexpected exception, so the
real error handler answers 500 and logs the incident; the full page still opens.
"""
from __future__ import annotations

import os

from flask import request

from wsgi import app

FAULT_PATH = os.environ["PORTAL_TEST_FAULT"]


@app.before_request
def planted_fault():
    if request.path == FAULT_PATH and request.headers.get("HX-Request") == "true":
        raise RuntimeError("a fault planted by a browser test")
