"""The password policy: length and a common-password list, no composition rules."""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from flask_babel import gettext as _

MIN_LENGTH = 10
MAX_LENGTH = 256


def normalise(password: str) -> str:
    """NFKC, so the same password typed on different keyboards hashes the same."""
    return unicodedata.normalize("NFKC", password)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    # zxcvbn ships the 30,000 most common passwords from real leaks. Its lists take about
    # 14 MB, so each worker loads them only when someone first chooses a password.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS  # noqa: PLC0415

    return frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])


def problems(password: str, *, email: str = "", name: str = "") -> list[str]:
    """What is wrong with a new password; an empty list when it is acceptable."""
    password = normalise(password)
    length = len(password)
    if length < MIN_LENGTH:
        return [_("Use at least %(min)d characters.", min=MIN_LENGTH)]
    if length > MAX_LENGTH:
        return [_("Use at most %(max)d characters.", max=MAX_LENGTH)]
    lowered = password.lower()
    if lowered in common_passwords():
        return [_("This password is too common. Choose something harder to guess.")]
    email = (email or "").strip().lower()
    if email and (lowered == email or lowered == email.split("@")[0]):
        return [_("Your password must not be your e-mail address.")]
    if name and lowered == name.strip().lower():
        return [_("Your password must not be your name.")]
    return []
