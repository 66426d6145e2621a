"""The log's public routes (SPEC §14): the signed checkpoint, proofs and leaves.

Hashes and leaves are standard base64. A parameter that is missing, not a number or
out of range gets a 400 whose ``message`` says which and why.
"""
from __future__ import annotations

import hashlib

from flask import current_app, jsonify, make_response, request
from flask_babel import gettext as _

from portal.extensions import limiter
from portal.params import parse_int
from portal.transparency import bp, checkpoints, log

MAX_LEAVES = 1000
MAX_INDEX = 2**62


def _limit() -> str:
    return current_app.config["RATELIMIT_VERIFY"]


# One budget per client IP for every route of the log.
limiter.shared_limit(_limit, scope="transparency")(bp)


class BadParameter(Exception):
    def __init__(self, name: str, message: str):
        super().__init__(message)
        self.name, self.message = name, message


@bp.errorhandler(BadParameter)
def _bad_parameter(error: BadParameter):
    response = jsonify({"error": "bad_request", "parameter": error.name, "message": error.message})
    response.status_code = 400
    response.headers["Cache-Control"] = "no-store"
    return response


def _number(name: str, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        raise BadParameter(name, _("The parameter %(name)s is missing.", name=name))
    value = parse_int(raw, 0, MAX_INDEX)
    if value is None:
        raise BadParameter(name, _("The parameter %(name)s must be a whole number.", name=name))
    if not lo <= value <= hi:
        raise BadParameter(name, _("The parameter %(name)s must be from %(lo)d to %(hi)d.",
                                   name=name, lo=lo, hi=hi))
    return value


def _tree_size() -> int:
    size = log.size()
    if size == 0:
        raise BadParameter("size", _("The log is empty: it has no entries yet."))
    return size


def _json(body: dict):
    response = jsonify(body)
    response.headers["Cache-Control"] = "public, max-age=60"
    return response


@bp.get("/checkpoint")
def checkpoint():
    served = checkpoints.served()
    response = make_response(served.note)
    response.mimetype = "text/plain"
    response.headers["Cache-Control"] = "no-cache"
    # A checkpoint's bytes are fixed by its origin and size: a watcher asking again gets a 304
    # until the log has grown and a newer one is signed.
    response.set_etag(f"{served.size}-{hashlib.sha256(served.note.encode()).hexdigest()[:16]}")
    return response.make_conditional(request)


@bp.get("/proof/inclusion")
def inclusion():
    tree = _tree_size()
    size = _number("size", 1, tree)
    index = _number("index", 0, size - 1)
    checkpoints.served(size)  # a signed head covers the proof's tree before the proof is served
    hashes = log.inclusion_proof(index, size)
    return _json({"index": index, "size": size, "hashes": [log.b64(h) for h in hashes]})


@bp.get("/proof/consistency")
def consistency():
    tree = _tree_size()
    second = _number("to", 1, tree)
    first = _number("from", 1, second)
    checkpoints.served(second)
    hashes = log.consistency_proof(first, second)
    return _json({"from": first, "to": second, "hashes": [log.b64(h) for h in hashes]})


@bp.get("/leaves")
def leaves():
    tree = _tree_size()
    start = _number("start", 0, tree - 1)
    end = _number("end", start + 1, min(tree, start + MAX_LEAVES))
    return _json({"start": start, "end": end, "leaves": [log.b64(leaf) for leaf in log.leaves(start, end)]})
