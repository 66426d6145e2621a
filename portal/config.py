"""Settings from the environment, with safe defaults for development.

Every setting is listed in the README and in ``.env.example``.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def normalise_database_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs given in the common short forms."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def load(instance_path: str) -> dict:
    """Build the configuration mapping for an app whose instance folder is given."""
    env = os.environ.get("PORTAL_ENV", "development")
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "portal.db")
    )
    redis_url = os.environ.get("REDIS_URL") or None
    secure_cookies = _bool("PORTAL_SECURE_COOKIES", env == "production")
    # __Host-: the browser takes the cookie only over HTTPS, for this exact host and
    # path "/", so neither a sibling subdomain nor plain HTTP can plant or overwrite it.
    cookie_prefix = "__Host-" if secure_cookies else ""
    return {
        "PORTAL_ENV": env,
        "SECRET_KEY": os.environ.get("SECRET_KEY") or None,
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(database_url),
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": redis_url,
        "PORTAL_BASE_URL": os.environ.get("PORTAL_BASE_URL", "http://127.0.0.1:5000").rstrip("/"),
        # Passkeys (WebAuthn): the relying party's id (a domain) and the origin browsers
        # answer from. Empty: taken from PORTAL_BASE_URL (portal.auth.passkeys.relying_party).
        "PASSKEY_RP_ID": os.environ.get("PORTAL_PASSKEY_RP_ID", ""),
        "PASSKEY_ORIGIN": os.environ.get("PORTAL_PASSKEY_ORIGIN", "").rstrip("/"),
        "PORTAL_ACADEMY_NAME": os.environ.get("PORTAL_ACADEMY_NAME", "Portal Academy"),
        # The academy's own time zone: visitors read dates in it (users in their own).
        "PORTAL_TIMEZONE": os.environ.get("PORTAL_TIMEZONE", "UTC"),
        "MAX_CONTENT_LENGTH": _int("PORTAL_MAX_CONTENT_LENGTH", 1024 * 1024),
        # Fields per form, url-encoded or multipart (portal.security.Request).
        "MAX_FORM_PARTS": _int("PORTAL_MAX_FORM_PARTS", 1000),
        "SESSION_COOKIE_NAME": cookie_prefix + "portal_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": secure_cookies,
        "SESSION_COOKIE_PATH": "/",
        "SESSION_COOKIE_DOMAIN": None,
        "REMEMBER_COOKIE_NAME": cookie_prefix + "portal_remember",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": secure_cookies,
        "REMEMBER_COOKIE_PATH": "/",
        "REMEMBER_COOKIE_DURATION": 60 * 60 * 24 * _int("PORTAL_REMEMBER_DAYS", 30),
        "SESSION_IDLE_MINUTES": _int("PORTAL_SESSION_IDLE_MINUTES", 30),
        "SESSION_ABSOLUTE_HOURS": _int("PORTAL_SESSION_ABSOLUTE_HOURS", 12),
        "SESSION_REMEMBER_DAYS": _int("PORTAL_REMEMBER_DAYS", 30),
        "LOCKOUT_THRESHOLD": _int("PORTAL_LOCKOUT_THRESHOLD", 10),
        "LOCKOUT_MINUTES": _int("PORTAL_LOCKOUT_MINUTES", 15),
        "LOCKOUT_MAX_MINUTES": _int("PORTAL_LOCKOUT_MAX_MINUTES", 24 * 60),
        "LOCKOUT_ACCOUNT_THRESHOLD": _int("PORTAL_LOCKOUT_ACCOUNT_THRESHOLD", 100),
        "LOCKOUT_WINDOW_HOURS": _int("PORTAL_LOCKOUT_WINDOW_HOURS", 24),
        "ARGON2_TIME_COST": _int("PORTAL_ARGON2_TIME_COST", 2),
        "ARGON2_MEMORY_COST": _int("PORTAL_ARGON2_MEMORY_COST", 19456),
        "ARGON2_PARALLELISM": _int("PORTAL_ARGON2_PARALLELISM", 1),
        "WTF_CSRF_TIME_LIMIT": None,
        "RATELIMIT_ENABLED": _bool("PORTAL_RATELIMIT_ENABLED", True),
        "RATELIMIT_STORAGE_URI": redis_url or "memory://",
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        # No X-RateLimit-* headers on every answer (each costs the limit's storage a read);
        # a 429 carries Retry-After (portal.errors).
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_LOGIN": os.environ.get("PORTAL_RATELIMIT_LOGIN", "20 per minute"),
        "RATELIMIT_VERIFY": os.environ.get("PORTAL_RATELIMIT_VERIFY", "120 per minute"),
        # How long one process may serve a verification answer it made (0: never cached).
        "VERIFY_CACHE_SECONDS": _int("PORTAL_VERIFY_CACHE_SECONDS", 60),
        "VERIFY_CACHE_SIZE": _int("PORTAL_VERIFY_CACHE_SIZE", 4096),
        # Registrations taken per IP (form errors do not count).
        "RATELIMIT_REGISTER": os.environ.get("PORTAL_RATELIMIT_REGISTER", "3 per hour"),
        # Reset and confirmation-link requests taken per IP, for each of the two forms.
        "RATELIMIT_MAIL_PER_IP": os.environ.get("PORTAL_RATELIMIT_MAIL_PER_IP", "3 per hour"),
        # Mails of one kind to one address; past it the answer is the same, no mail is sent.
        "RATELIMIT_MAIL_PER_ADDRESS": os.environ.get("PORTAL_RATELIMIT_MAIL_PER_ADDRESS", "3 per hour"),
        # Refused join codes per student and per IP.
        "RATELIMIT_JOIN_PER_USER": os.environ.get("PORTAL_RATELIMIT_JOIN_PER_USER", "10 per hour"),
        # Confirmed invitation batches (up to 500 addresses each) and resends, per instructor.
        "RATELIMIT_INVITE_PER_USER": os.environ.get("PORTAL_RATELIMIT_INVITE_PER_USER", "10 per day"),
        "RATELIMIT_INVITE_RESEND_PER_USER": os.environ.get("PORTAL_RATELIMIT_INVITE_RESEND_PER_USER",
                                                           "100 per day"),
        "RATELIMIT_JOIN_PER_IP": os.environ.get("PORTAL_RATELIMIT_JOIN_PER_IP", "30 per hour"),
        "MAIL_SERVER": os.environ.get("MAIL_SERVER") or None,
        "MAIL_PORT": _int("MAIL_PORT", 587),
        "MAIL_USERNAME": os.environ.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": os.environ.get("MAIL_PASSWORD") or None,
        "MAIL_USE_TLS": _bool("MAIL_USE_TLS", True),
        "MAIL_SENDER": os.environ.get("MAIL_SENDER", "Portal <no-reply@portal.localhost>"),
        "MAIL_OUTBOX": os.environ.get("MAIL_OUTBOX") or os.path.join(instance_path, "outbox"),
        # Tests only: where a mail worker stops to be killed (portal.mail.failpoint).
        "MAIL_FAILPOINT": os.environ.get("PORTAL_MAIL_FAILPOINT") or None,
        "SIGNING_KEY_DIR": os.environ.get("PORTAL_KEY_DIR") or os.path.join(instance_path, "keys"),
        "CERTIFICATE_CACHE_DIR": os.environ.get("PORTAL_CERT_CACHE")
        or os.path.join(instance_path, "certificates"),
        "CERTIFICATE_RENDER_TIMEOUT": _int("PORTAL_CERTIFICATE_RENDER_TIMEOUT", 30),
        "AUDIT_CHECKPOINT_DIR": os.environ.get("PORTAL_CHECKPOINT_DIR")
        or os.path.join(instance_path, "checkpoints"),
        # The transparency log's name (its checkpoints' origin line); by default the host of
        # PORTAL_BASE_URL followed by /transparency.
        "TRANSPARENCY_ORIGIN": os.environ.get("PORTAL_TRANSPARENCY_ORIGIN") or None,
        # A grown log is re-signed at most this often (and always before a newer proof).
        "TRANSPARENCY_CHECKPOINT_SECONDS": _int("PORTAL_TRANSPARENCY_CHECKPOINT_SECONDS", 10),
        "EXPORT_DIR": os.environ.get("PORTAL_EXPORT_DIR") or os.path.join(instance_path, "exports"),
        # How long IP addresses and user agents are kept in the audit trail (privacy purge).
        "RETENTION_IP_DAYS": _int("PORTAL_RETENTION_IP_DAYS", 180),
        "TRUSTED_PROXIES": _int("PORTAL_TRUSTED_PROXIES", 0),
        "JOBS_INLINE": False,
        # Two-factor sign-in (README, "Two-factor sign-in"): admins must use it.
        "PORTAL_ADMIN_2FA_REQUIRED": _bool("PORTAL_ADMIN_2FA_REQUIRED", True),
        # The key TOTP secrets and recovery codes are sealed with; generated into the
        # instance folder (``totp_key``) when not given.
        "TOTP_KEY": os.environ.get("PORTAL_TOTP_KEY") or None,
        "JOBS_QUEUE": os.environ.get("PORTAL_JOBS_QUEUE", "portal"),
    }


def create_private_sqlite_file(database_uri: str) -> None:
    """Create a missing SQLite database file as 0600 before SQLite does (it would follow
    the umask, usually world-readable); its -wal and -shm files copy the mode."""
    prefix = "sqlite:///"
    if not database_uri.startswith(prefix) or database_uri == prefix + ":memory:":
        return
    path = database_uri[len(prefix):].split("?", 1)[0]
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except (FileExistsError, FileNotFoundError):
        pass  # an existing database keeps its mode; a missing folder is SQLite's error to report


def secret_key_from_instance(instance_path: str, name: str = "secret_key") -> str:
    """Read one of the instance's keys, creating it once (safely across processes)."""
    path = Path(instance_path) / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if key:
            return key
        raise RuntimeError(f"{path} is empty; delete it to generate a new key") from None
    key = secrets.token_hex(32)
    with os.fdopen(fd, "w") as fh:
        fh.write(key + "\n")
    return key


def rate_limit_storage(env: str, workers: int, redis_url: str | None) -> tuple[str, str | None]:
    """Where rate limits are counted, said for the start-up log, and the reason to refuse
    to start, if any: in memory every worker counts alone, so with several workers each
    limit is multiplied by their number."""
    if redis_url:
        where = urlsplit(redis_url)
        host = f"{where.hostname}:{where.port}" if where.port else where.hostname or redis_url
        return f"Redis at {host} (shared by all workers)", None
    described = "memory (each worker counts alone)"
    if env == "production" and workers > 1:
        return described, (
            f"Portal refuses to start: PORTAL_ENV=production with {workers} workers and no "
            "REDIS_URL. In memory each worker would count rate limits alone (every limit "
            f"multiplied by {workers}). Set REDIS_URL, or run one worker (PORTAL_WORKERS=1)."
        )
    return described, None
