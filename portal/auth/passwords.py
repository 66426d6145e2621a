"""Password hashing with Argon2id (argon2-cffi).

The parameters come from the configuration (OWASP's minimum by default: 19 MiB,
2 iterations, 1 lane). Passwords are NFKC-normalised before hashing and checking,
so the same password typed on another keyboard or system still matches.
"""

from __future__ import annotations

from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app

from portal.auth.policy import normalise


@lru_cache(maxsize=8)
def _hasher(time_cost: int, memory_cost: int, parallelism: int) -> PasswordHasher:
    return PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID)


def hasher() -> PasswordHasher:
    cfg = current_app.config
    return _hasher(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])


def hash_password(password: str) -> str:
    return hasher().hash(normalise(password))


def verify_password(stored_hash: str | None, password: str) -> bool:
    """True when the password matches. With no stored hash a dummy hash is checked,
    so an account without a password takes as long to refuse as any other."""
    if not stored_hash:
        dummy_verify(password)
        return False
    try:
        return hasher().verify(stored_hash, normalise(password))
    except (VerificationError, InvalidHashError):
        return False


@lru_cache(maxsize=8)
def _dummy_hash(time_cost: int, memory_cost: int, parallelism: int) -> str:
    return _hasher(time_cost, memory_cost, parallelism).hash("not a real password, only for timing")


def dummy_verify(password: str) -> None:
    """Spend the time a real check takes (for unknown e-mail addresses)."""
    cfg = current_app.config
    stored = _dummy_hash(cfg["ARGON2_TIME_COST"], cfg["ARGON2_MEMORY_COST"], cfg["ARGON2_PARALLELISM"])
    try:
        hasher().verify(stored, normalise(password))
    except (VerificationError, InvalidHashError):
        pass


def needs_rehash(stored_hash: str) -> bool:
    """True when the hash was made with other parameters than the configured ones."""
    try:
        return hasher().check_needs_rehash(stored_hash)
    except InvalidHashError:
        return True
