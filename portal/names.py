"""How a person's name is written for a reader: one display name, a per-language order.

Portal keeps the name as the person wrote it (``User.name``) and never splits it: names do
not divide reliably into parts. Where a given and a family name are both known (optional
``User.given_name`` and ``User.family_name``, filled by the person or an admin), a
language that puts the family name first shows them so: Hungarian "Kovács Eszter" for
Eszter Kovács. Everywhere else, and whenever either part is missing, the name as written.
"""
from __future__ import annotations

from flask_babel import get_locale

# Languages that address a person family name first.
FAMILY_FIRST = frozenset({"hu"})


def tidy(text: str | None) -> str:
    """Text as typed, without what prints nothing or moves the text around (control and
    format characters such as a right-to-left override), its spaces collapsed."""
    kept = "".join(ch for ch in (text or "") if ch.isprintable() or ch.isspace())
    return " ".join(kept.split())


def display_name(user, locale: str | None = None) -> str:
    """``user``'s name as the certificate and letters address them in ``locale`` (default:
    the language being written in, e.g. inside ``dates.reading_as(user)``)."""
    if locale is None:
        current = get_locale()
        locale = current.language if current is not None else "en"
    language = str(locale).replace("-", "_").split("_")[0].lower()
    given = (getattr(user, "given_name", None) or "").strip()
    family = (getattr(user, "family_name", None) or "").strip()
    if language in FAMILY_FIRST and given and family:
        return f"{family} {given}"
    return user.name
