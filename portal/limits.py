"""Rate limits: the per-route limits on POSTs (Flask-Limiter) and the quiet quotas.

A route limit answers 429 when it is spent; every limit is a setting (``RATELIMIT_*``
in ``portal.config``), counted where Flask-Limiter counts (Redis when configured):

    @bp.route("/register", methods=["GET", "POST"])
    @throttled(PER_IP_ATTEMPTS, Limit("RATELIMIT_REGISTER", counts=accepted))

(``limited`` for a route behind a login, where CSRF and the guard come first.)

A quota (:func:`within_quota`) is for a limit whose refusal must not show: the mail
to one address. The visitor's answer stays the same; only the mail is not sent.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps

from flask import current_app
from flask_limiter.util import get_remote_address
from flask_login import current_user
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import FixedWindowRateLimiter
from werkzeug.wrappers import Response

from portal.extensions import csrf, limiter

log = logging.getLogger("portal.limits")

# Where quotas are counted when the shared storage cannot be reached (this process only).
_fallback = FixedWindowRateLimiter(MemoryStorage())


def accepted(response: Response) -> bool:
    """A submission the route took (anything but an error answer)."""
    return response.status_code < 400


def refused(response: Response) -> bool:
    """A submission the route refused (a 4xx other than the 429 of a spent limit)."""
    return 400 <= response.status_code < 500 and response.status_code != 429


def by_user() -> str:
    """The logged-in user (routes behind a login guard only)."""
    return f"user:{current_user.id}" if current_user.is_authenticated else get_remote_address()


@dataclass(frozen=True)
class Limit:
    """A limit on a route's POSTs: ``setting`` names the config value ("3 per hour"),
    ``key`` who is counted (the client IP by default), ``counts`` which answers use up
    the limit (every POST when None)."""

    setting: str
    key: Callable[[], str] = get_remote_address
    counts: Callable[[Response], bool] | None = None

    def value(self) -> str:
        return current_app.config[self.setting]


# Every sign-in, registration and reset form: a brute-force brake per IP.
PER_IP_ATTEMPTS = Limit("RATELIMIT_LOGIN")


def limited(*limits: Limit):
    """Limit a view's POSTs (reading a form is never limited). The global CSRF check and
    the blueprint's guard come first, as for any page behind a login."""

    def decorate(view):
        for lim in limits:
            view = limiter.limit(
                lim.value, key_func=lim.key, methods=["POST"], deduct_when=lim.counts
            )(view)
        return view

    return decorate


def throttled(*limits: Limit):
    """Limit a public form's POSTs (``PER_IP_ATTEMPTS`` when no limit is given), with the
    limits checked before the CSRF check: a flood without tokens meets 429s, as a flood
    with them does.

    Flask-Limiter checks a route's limits when the view is called, after every
    before_request hook, CSRF's included; so the view is exempt from that global
    check and makes it itself, inside the limits."""
    limits = limits or (PER_IP_ATTEMPTS,)

    def decorate(view):
        @wraps(view)
        def csrf_checked(*args, **kwargs):
            if current_app.config["WTF_CSRF_ENABLED"]:
                csrf.protect()
            return view(*args, **kwargs)

        return csrf.exempt(limited(*limits)(csrf_checked))

    return decorate


def within_quota(setting: str, kind: str, subject: str) -> bool:
    """Count one use of ``kind`` for ``subject`` (an e-mail address, say) against the
    limit in ``setting``; False once it is spent in the current window.

    The subject is keyed by an HMAC, so the storage never holds addresses. Always True
    when rate limits are off (the test settings, a development shell)."""
    config = current_app.config
    if not config.get("RATELIMIT_ENABLED", True):
        return True
    item = parse(config[setting])
    digest = hmac.new(config["SECRET_KEY"].encode(), subject.encode(), hashlib.sha256).hexdigest()[:32]
    keys = (config.get("RATELIMIT_KEY_PREFIX") or "portal", "quota", kind, digest)
    try:
        return limiter.limiter.hit(item, *keys)
    except Exception:  # the shared storage is down: count here rather than not at all
        log.warning("rate limit storage unreachable; counting the %s quota in this process", kind)
        return _fallback.hit(item, *keys)
