"""Dates from outside (form fields, query parameters), range-checked in one place.

Python's dates end at 9999-12-31 and start at 0001-01-01, so a filter "up to the end
of 9999-12-31" (one day later) or "from 0001-01-01" moved to UTC overflows, and the
request ends in a 500. No date Portal asks for (a birth date, a period of the audit
trail) lies outside ``EARLIEST``..``LATEST``, so every date input is checked against
them here and a date beyond them is answered with a field error.
"""
from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from flask import current_app, has_app_context, has_request_context
from flask_login import current_user
from wtforms import DateField
from wtforms.validators import ValidationError

EARLIEST = date(1900, 1, 1)
LATEST = date(2099, 12, 31)

NOT_A_DATE = "Enter a real date as YYYY-MM-DD, for example 2004-05-17."
NOT_A_TIME = "Enter a date as YYYY-MM-DD, with a time as HH:MM if you like."
OUT_OF_RANGE = f"Enter a date between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}."


def problem(value: date | datetime | None, too_early: str = OUT_OF_RANGE,
            too_late: str = OUT_OF_RANGE) -> str | None:
    """What is wrong with ``value`` as a date Portal can work with, or None."""
    if value is None:
        return None
    day = value.date() if isinstance(value, datetime) else value
    if day < EARLIEST:
        return too_early
    if day > LATEST:
        return too_late
    return None


def parse(text: str) -> date:
    """A YYYY-MM-DD date within range; ValueError with a message people understand."""
    text = text.strip()
    try:
        if len(text) != 10:  # YYYY-MM-DD only, not 20261123
            raise ValueError(text)
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError(NOT_A_DATE) from None
    if message := problem(value):
        raise ValueError(message)
    return value


class InRange:
    """WTForms validator for date and date-time fields: within ``EARLIEST``..``LATEST``,
    with the field's own words for a date too early or too late when it has them.

    A value the field could not read is left to the field's own message (give the
    field ``invalid_value_message=NOT_A_DATE``)."""

    def __init__(self, too_early: str = OUT_OF_RANGE, too_late: str = OUT_OF_RANGE):
        self.too_early, self.too_late = too_early, too_late

    def __call__(self, form, field):
        if message := problem(field.data, self.too_early, self.too_late):
            raise ValidationError(message)


def date_field(label: str, validators=(), **kwargs) -> DateField:
    """A YYYY-MM-DD field that reads only dates within range; ``validators`` run first
    (InputRequired or Optional), then the range check (``too_early``/``too_late``)."""
    bounds = {k: kwargs.pop(k) for k in ("too_early", "too_late") if k in kwargs}
    return DateField(label, format="%Y-%m-%d", invalid_value_message=NOT_A_DATE,
                     validators=[*validators, InRange(**bounds)], **kwargs)


@cache
def zone_names() -> frozenset[str]:
    """The IANA zones this system knows (read once: the lookup walks the zone files)."""
    return frozenset(available_timezones())


def valid_zone(name: str | None) -> bool:
    """Whether ``name`` is an IANA zone this system knows (``Europe/Budapest``)."""
    if not name or name not in zone_names():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone_name() -> str:
    """The reader's time zone: a logged-in user's own; for a visitor, outside a request
    and for a stored zone this system does not know, the academy's ``PORTAL_TIMEZONE``;
    UTC when even that is not a zone."""
    own = None
    if has_request_context() and current_user and current_user.is_authenticated:
        own = getattr(current_user, "timezone", None)
    academy = current_app.config.get("PORTAL_TIMEZONE") if has_app_context() else None
    for name in (own, academy):
        if valid_zone(name):
            return name
    return "UTC"
