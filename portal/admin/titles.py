"""The per-language titles of the catalogue in the admin's forms.

A specialization's form has a ``name_<code>`` field and a level's form a
``title_<code>`` field for every language but English (English is the ``name`` or
``title`` field itself): ``name_es``, ``name_hu`` ... Adding a language to
``portal.i18n.LANGUAGES`` adds its fields. An empty field means "no title of its own":
readers of that language see the English one.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import StringField
from wtforms.validators import Length, ValidationError

from portal.i18n import DEFAULT, LANGUAGES

# The languages a title can be written in besides English, as (code, name in itself).
OTHER_LANGUAGES = [(code, name) for code, name in LANGUAGES.items() if code != DEFAULT]

LABELS = {
    "name": lambda language: _l("Name (%(language)s)", language=language),
    "title": lambda language: _l("Title (%(language)s)", language=language),
    "description": lambda language: _l("Description (%(language)s)", language=language),
}


def _not_blank_only(form, field) -> None:
    # Empty is fine (the English title is used); spaces alone are a slip, not a title.
    if field.raw_data and field.raw_data[0] and not field.raw_data[0].strip():
        raise ValidationError(_l("Write a title, or leave this empty to show the English one."))


def add_fields(form_class, base: str, max_length: int) -> None:
    """Give ``form_class`` an optional ``<base>_<code>`` field per other language."""
    for code, language in OTHER_LANGUAGES:
        setattr(form_class, f"{base}_{code}", StringField(
            LABELS[base](language), validators=[_not_blank_only, Length(max=max_length)],
            render_kw={"lang": code},
        ))


def field_names(base: str) -> list[str]:
    return [f"{base}_{code}" for code, _language in OTHER_LANGUAGES]


def form_values(titles: dict | None, base: str) -> dict[str, str]:
    """The fields' values for a form showing ``titles`` (pass them as keyword arguments)."""
    return {f"{base}_{code}": (titles or {}).get(code, "") for code, _language in OTHER_LANGUAGES}


def from_form(form, base: str) -> dict[str, str]:
    """The titles the admin wrote in ``form`` (cleaned, see :func:`clean`)."""
    return clean({code: getattr(form, f"{base}_{code}").data for code, _language in OTHER_LANGUAGES})


def clean(titles: dict | None) -> dict[str, str]:
    """Titles with their spaces tidied, the empty ones and unknown languages left out."""
    tidy = {code: " ".join((text or "").split()) for code, text in (titles or {}).items()}
    return {code: text for code, text in sorted(tidy.items()) if text and code in dict(OTHER_LANGUAGES)}
