"""License codes: public, random, typo-resistant.

A code looks like ``PLY-7K3Q-9XZD-M2P4-R``: the specialization's code, twelve
random characters (60 bits) in three groups, and a check character. The
alphabet is Crockford's base 32 (digits and letters without I, L, O and U), so
look-alike characters cannot be confused; when reading, ``I``/``L`` are taken as
``1`` and ``O`` as ``0``. The check character is a position-weighted sum over
everything before it, computed in the finite field GF(32) with a different
non-zero weight for every position: since the field has no zero divisors, every
single wrong character changes the sum, and so does every swap of two different
neighbouring characters, the check character included. (A plain sum modulo 31
over a 32-letter alphabet would miss a 0 typed as Z.)
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {ch: i for i, ch in enumerate(ALPHABET)}
_LOOK_ALIKES = str.maketrans({"I": "1", "L": "1", "O": "0"})
RANDOM_CHARS = 12
GROUP = 4
BITS = RANDOM_CHARS * 5
# x^5 + x^2 + 1, a primitive polynomial: x generates all 31 non-zero elements.
_FIELD_POLY = 0b100101
_PREFIX = re.compile(r"^[A-Z0-9]{1,3}$")


def _char_value(ch: str) -> int:
    # The prefix may contain letters outside the alphabet (the L in PLY).
    return _VALUE[ch] if ch in _VALUE else ord(ch)


def _gf32_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _FIELD_POLY
    return product


def check_char(prefix: str, body: str) -> str:
    total, weight = 0, 1
    # Weights x, x^2, x^3 ...: distinct and non-zero for up to 31 positions.
    for ch in prefix + body:
        weight = _gf32_mul(weight, 0b10)
        total ^= _gf32_mul(weight, _char_value(ch) % 32)
    return ALPHABET[total]


def _display(prefix: str, body: str, check: str) -> str:
    groups = [body[i : i + GROUP] for i in range(0, len(body), GROUP)]
    return "-".join([prefix, *groups, check])


def generate(spec_code: str) -> str:
    """A new random code for a specialization, in display form."""
    prefix = spec_code.strip().upper()
    if not _PREFIX.match(prefix):
        raise ValueError(f"not a specialization code: {spec_code!r}")
    body = "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return _display(prefix, body, check_char(prefix, body))


def normalise(text: str | None) -> str | None:
    """The display form of a typed code, or None when it cannot be a valid code.

    Case, spaces and dashes are ignored and look-alikes mapped; a wrong check
    character gives None, so callers never query the database for a typo.
    """
    if not text or len(text) > 64:
        return None
    compact = re.sub(r"[\s\-]+", "", text).upper()
    if len(compact) < RANDOM_CHARS + 2:
        return None
    prefix, rest = compact[: -(RANDOM_CHARS + 1)], compact[-(RANDOM_CHARS + 1) :]
    rest = rest.translate(_LOOK_ALIKES)
    if not _PREFIX.match(prefix) or any(ch not in _VALUE for ch in rest):
        return None
    body, check = rest[:-1], rest[-1]
    if check_char(prefix, body) != check:
        return None
    return _display(prefix, body, check)


def is_valid(text: str | None) -> bool:
    return normalise(text) is not None
