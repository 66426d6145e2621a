"""The transparency log: every license history row as a leaf of one append-only Merkle
tree (RFC 9162), signed checkpoints (C2SP), proofs for anyone, and the checks a witness
runs. Features call ``append`` from their services, in their own transaction; this
package imports no feature."""
from flask import Blueprint

from portal.transparency.log import append, forget_holder

bp = Blueprint("transparency", __name__, url_prefix="/transparency")

__all__ = ["append", "bp", "forget_holder"]

from portal.transparency import routes  # noqa: E402, F401
