"""A bare Flask app: the baseline the portal's throughput is compared with.

Served by gunicorn with the same settings as the portal (``bench.common.Server``).
"""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello():
    return "hello"


@app.get("/healthz")
def healthz():
    return {"status": "ok"}
