"""Recording audit events: the one function every feature calls."""
from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from flask import has_request_context, request

from portal.audit import chain
from portal.db import utcnow
from portal.extensions import db
from portal.models.audit import AuditEvent, Outcome

log = logging.getLogger(__name__)

# Never stored, whatever a caller passes.
_SECRET_WORDS = ("password", "token", "secret", "cookie", "csrf")


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items() if not _is_secret(str(k))}
    if isinstance(value, (list, tuple, set)):
        return [_clean(v) for v in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float):
        # Floats do not survive every JSON round trip bit for bit; store text.
        return repr(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in _SECRET_WORDS)


def build_event(
    actor,
    action: str,
    resource=None,
    *,
    at: datetime,
    outcome: str = Outcome.SUCCESS,
    status: int | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    method: str | None = None,
    path: str | None = None,
    actor_label: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    """An event not yet on the chain, every field given; :func:`record` fills them from now
    and the request, the demo seeds from the past they make up. See :func:`record`."""
    if outcome not in Outcome.ALL:
        raise ValueError(f"unknown outcome {outcome!r}")
    resource_type = resource_id = None
    if isinstance(resource, tuple):
        resource_type, resource_id = resource
    elif resource is not None:
        if resource.id is None:
            db.session.flush()
        resource_type, resource_id = resource.audit_type, resource.id
    if actor is not None and actor.id is None:
        db.session.flush()
    actor_label = getattr(actor, "email", None) or actor_label
    if getattr(actor, "awaiting_confirmation", False):
        # Nobody has shown the address is theirs yet: the account acts as an anonymous
        # visitor (named by its label only), so the unconfirmed-account clean-up can
        # remove it without touching the chain.
        actor = None
    return AuditEvent(
        at=at,
        actor_id=getattr(actor, "id", None),
        actor_label=actor_label,
        action=action,
        resource_type=resource_type,
        resource_id=None if resource_id is None else str(resource_id),
        details=_clean(details or {}),
        ip=ip,
        user_agent=user_agent,
        method=method,
        path=path,
        status=status,
        outcome=outcome,
    )


def _request_fields() -> dict[str, Any]:
    if not has_request_context():
        return {}
    return {
        "ip": request.remote_addr,
        "user_agent": (request.user_agent.string or "")[:512] or None,
        "method": request.method,
        "path": request.path[:512],
    }


def record(
    actor,
    action: str,
    resource=None,
    *,
    outcome: str = Outcome.SUCCESS,
    http_status: int | None = None,
    without_address: bool = False,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction and return it.

    ``actor`` is a User or None (anonymous or the system; an account whose address is
    not confirmed yet is recorded as anonymous, by label). ``resource`` is a model
    instance with an ``audit_type`` (its id is used) or a ``(type, id)`` pair.
    ``http_status`` is the HTTP status the request is answered with, when known
    (denials); everything else goes into ``details``, e.g. ``status="active"``.
    The event commits or rolls back with the change it describes. Keys that look
    like secrets (password, token ...) are dropped from ``details``. ``without_address``
    leaves out the request's IP address and user agent (the event of an erasure, which
    must not bring back what it removed).
    """
    request_fields = _request_fields()
    if without_address:
        request_fields.pop("ip", None)
        request_fields.pop("user_agent", None)
    event = build_event(actor, action, resource, at=utcnow(), outcome=outcome, status=http_status,
                        details=details, **request_fields)
    chain.seal(db.session, event)
    db.session.add(event)
    return event
